/* lib/nolibc: abort, assert, exit and number parsing. abort() and a failed
 * assert print a message and execute ud2, so ukw reports a crash with a
 * backtrace (layers/README.md "Exit status conventions"). */
#include <stdlib.h>
#include <stdio.h>
#include <ctype.h>
#include <ukw/plat.h>

void abort(void)
{
	printf("abort() called\n");
	for (;;)
		__asm__ volatile("ud2");
}

void __ukw_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	printf("assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
	for (;;)
		__asm__ volatile("ud2");
}

void exit(int status) { ukw_exit(status); }

int abs(int v) { return v < 0 ? -v : v; }

unsigned long strtoul(const char *s, char **end, int base)
{
	unsigned long v = 0;
	while (isspace(*s))
		s++;
	if (*s == '+')
		s++;
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] | 32) == 'x' && isxdigit(s[2])) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = s[0] == '0' ? 8 : 10;
	}
	for (;; s++) {
		int d;
		if (isdigit(*s))
			d = *s - '0';
		else if (isalpha(*s))
			d = (*s | 32) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		v = v * base + d;
	}
	if (end)
		*end = (char *)s;
	return v;
}

long strtol(const char *s, char **end, int base)
{
	while (isspace(*s))
		s++;
	if (*s == '-')
		return -(long)strtoul(s + 1, end, base);
	return (long)strtoul(s, end, base);
}

int atoi(const char *s) { return (int)strtol(s, 0, 10); }
