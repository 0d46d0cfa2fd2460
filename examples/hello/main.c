/* hello: the smallest useful ukw app. It greets with its arguments,
 * allocates a buffer, and exits with status 0, or N given --exit=N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int status = 0;
	printf("Hello from ukw! argc=%d", argc);
	for (int i = 1; i < argc; i++) {
		printf(" argv[%d]=%s", i, argv[i]);
		if (!strncmp(argv[i], "--exit=", 7))
			status = atoi(argv[i] + 7);
	}
	printf("\n");

	const char *fmt = "%s has %d argument%s";
	const char *plural = argc == 2 ? "" : "s";
	size_t n = snprintf(0, 0, fmt, argv[0], argc - 1, plural) + 1;
	char *buf = malloc(n);
	if (!buf) {
		printf("hello: malloc failed\n");
		return 1;
	}
	snprintf(buf, n, fmt, argv[0], argc - 1, plural);
	printf("allocated %zu bytes at %p: %s\n", n, (void *)buf, buf);
	free(buf);
	printf("exit status %d\n", status);
	return status;
}
