/* flood: print numbered console lines as fast as the console takes them,
 * forever, or argv[1] lines. A line is built once per 100 and written with
 * one console call, so the guest spends its time in port writes (one per
 * byte), not in printf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ukw/plat.h>

int main(int argc, char **argv)
{
	unsigned long limit = argc > 1 ? strtoul(argv[1], 0, 0) : 0;
	char line[96];
	int n = 0;
	for (unsigned long i = 0; !limit || i < limit; i++) {
		if (i % 100 == 0)
			n = snprintf(line, sizeof line, "flood %8lu: the guest is printing as fast as it can\n", i);
		ukw_console_write(line, n);
	}
	return 0;
}
