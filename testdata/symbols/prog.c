/* Main test program for package symbols (see symbols/*_test.go). */
#include "prog.h"

int global_counter;
static int counter;
static const char banner[] = "ukw symbols";

/* A weak definition; util.c does not override it. */
__attribute__((weak)) int hook(int v)
{
	return v + 1;
}

/* A static function; util.c has another one of the same name: an ambiguous name. */
static __attribute__((noinline)) int helper_local(int v)
{
	counter += v;
	return counter;
}

static inline __attribute__((always_inline)) int sum_sq(int a, int b)
{
	int s = square(a) + square(b);
	return s;
}

__attribute__((noinline)) int leaf(struct shape *s, int k)
{
	int local = s->pts[0].x + k;
	char buf[8] = "abc";
	enum color c = s->color;
	global_counter += local;
	stop();
	return local * 2 + buf[1] + (int)c;
}

__attribute__((noinline)) int walk(struct shape *s, int depth)
{
	int total = 0;
	for (int i = 0; i < 3; i++)
		total += sum_sq(s->pts[i].x, s->pts[i].y);
	if (s->next && depth < 4)
		total += walk(s->next, depth + 1);
	else
		total += leaf(s, depth);
	return total + hook(depth);
}

int fib(int n)
{
	if (n < 2) {
		stop();
		return n;
	}
	return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
	struct shape second = {
		.name = "second",
		.pts = {{1, 2}, {3, 4}, {5, 6}},
		.color = BLUE,
		.scale = 0.5,
		.next = 0,
		.flags = 3,
		.id = -7,
		.big = 1234567890123L,
	};
	struct shape first = {
		.name = "first",
		.pts = {{7, 8}, {9, 10}, {11, 12}},
		.color = GREEN,
		.scale = 2.25,
		.next = &second,
		.flags = 0x80,
		.id = 42,
		.big = -1,
	};
	int n = argc + 2;
	int r = walk(&first, 0);
	r += fib(n);
	r += helper(r) + helper_local(r) + util_entry(n);
	(void)argv;
	return (r + banner[0]) & 0x7f;
}
