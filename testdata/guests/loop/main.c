/* loop: count until `stop` is set (by a debugger) or the limit is hit. */
#include <stdio.h>
#include <stdlib.h>

volatile unsigned long counter;
volatile int stop;

int main(int argc, char **argv)
{
	unsigned long limit = argc > 1 ? strtoul(argv[1], 0, 0) : 0;
	printf("loop: counting (limit %lu)\n", limit);
	while (!stop) {
		counter++;
		if (limit && counter >= limit)
			break;
	}
	printf("loop: stopped at %lu\n", counter);
	return 0;
}
