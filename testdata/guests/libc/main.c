/* libc: lib/nolibc and lib/alloc-buddy checked from inside the guest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failed;

static void expect(const char *got, const char *want, int line)
{
	checks++;
	if (strcmp(got, want)) {
		failed++;
		printf("libc: line %d: got \"%s\", want \"%s\"\n", line, got, want);
	}
}

static void expect_int(long got, long want, int line)
{
	checks++;
	if (got != want) {
		failed++;
		printf("libc: line %d: got %ld, want %ld\n", line, got, want);
	}
}

#define F(want, ...)                                      \
	do {                                              \
		char b[96];                               \
		int n = snprintf(b, sizeof b, __VA_ARGS__); \
		expect(b, want, __LINE__);                \
		expect_int(n, (long)strlen(want), __LINE__); \
	} while (0)

static void formats(void)
{
	F("42 -7 0", "%d %i %u", 42, -7, 0u);
	F("4294967295", "%u", 4294967295u);
	F("-2147483648", "%d", (int)0x80000000);
	F("ff FF 0xff 0XFF 17", "%x %X %#x %#X %o", 255, 255, 255, 255, 15);
	F("0x1000", "%p", (void *)0x1000);
	F("hi|c|%", "%s|%c|%%", "hi", 'c');
	F("(null)", "%s", (char *)0);
	F("-9223372036854775808", "%ld", (long)INT64_MIN);
	F("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	F("deadbeefcafe", "%lx", 0xdeadbeefcafeul);
	F("123456789abcdef0", "%llx", 0x123456789abcdef0ull);
	F("12345", "%zu", (size_t)12345);
	F("[   42][42   ][00042][+42][ 42]", "[%5d][%-5d][%05d][%+d][% d]", 42, 42, 42, 42, 42);
	F("[  -42][-0042][-42  ]", "[%5d][%05d][%-5d]", -42, -42, -42);
	F("[00ab][  ab][0x00ab]", "[%04x][%4x][%#06x]", 0xab, 0xab, 0xab);
	F("[  abc][abc  ][ab][   ab]", "[%5s][%-5s][%.2s][%5.2s]", "abc", "abc", "abcdef", "abc");
	F("[007][  007]", "[%.3d][%5.3d]", 7, 7);
	F("[    x][x    ]", "[%*s][%-*s]", 5, "x", 5, "x");
	F("[-1][255][65535]", "[%hhd][%hhu][%hu]", 255, 255, 65535);
	F("", "%s", "");
	F("%q", "%q");

	char small[6];
	int n = snprintf(small, sizeof small, "%s", "truncated");
	expect(small, "trunc", __LINE__);
	expect_int(n, 9, __LINE__);
	expect_int(snprintf(0, 0, "%d", 12345), 5, __LINE__);
}

static void strings(void)
{
	char b[32];
	expect_int(strlen("hello"), 5, __LINE__);
	expect_int(strcmp("abc", "abd") < 0, 1, __LINE__);
	expect_int(strncmp("abcx", "abcy", 3), 0, __LINE__);
	strcpy(b, "foo");
	strcat(b, "bar");
	expect(b, "foobar", __LINE__);
	expect(strchr(b, 'b'), "bar", __LINE__);
	expect(strrchr("a/b/c", '/'), "/c", __LINE__);
	expect(strstr("needle in haystack", "hay"), "haystack", __LINE__);
	memset(b, 'x', 4);
	b[4] = 0;
	expect(b, "xxxx", __LINE__);
	memcpy(b, "12345678", 9);
	memmove(b + 2, b, 5);
	expect(b, "12123458", __LINE__);
	memmove(b, b + 2, 5);
	expect(b, "12345458", __LINE__);
	expect_int(memcmp("ab", "ac", 2) < 0, 1, __LINE__);
	expect_int(strtol("-0x1f", 0, 0), -31, __LINE__);
	expect_int(strtol("0755", 0, 0), 493, __LINE__);
	expect_int(atoi("  42abc"), 42, __LINE__);
	char *end;
	expect_int(strtoul("123z", &end, 10), 123, __LINE__);
	expect(end, "z", __LINE__);
}

static void memory(void)
{
	void *p[64];
	for (int i = 0; i < 64; i++) {
		p[i] = malloc(16 + i * 40);
		expect_int(p[i] != 0 && ((uintptr_t)p[i] & 15) == 0, 1, __LINE__);
		memset(p[i], i, 16 + i * 40);
	}
	int intact = 1;
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 16 + i * 40; j++)
			intact &= ((unsigned char *)p[i])[j] == i;
	expect_int(intact, 1, __LINE__);
	for (int i = 0; i < 64; i += 2)
		free(p[i]);
	for (int i = 1; i < 64; i += 2)
		free(p[i]);
	/* everything coalesced again: a big block fits where the small ones were */
	void *big = malloc(1 << 20);
	expect_int(big != 0, 1, __LINE__);
	char *s = malloc(4);
	strcpy(s, "abc");
	s = realloc(s, 100);
	expect(s, "abc", __LINE__);
	free(s);
	free(big);
	int *z = calloc(100, sizeof *z);
	int sum = 0;
	for (int i = 0; i < 100; i++)
		sum += z[i];
	expect_int(sum, 0, __LINE__);
	free(z);
	expect_int(malloc((size_t)1 << 40) == 0, 1, __LINE__);
}

int main(void)
{
	formats();
	strings();
	memory();
	printf("libc: %d checks, %d failed\n", checks, failed);
	return failed;
}
