/* tracetree: a call tree known in advance (docs/trace.md). With argv[1] = 1
 * (the default) lib/ftrace records exactly:
 *
 *   main 1
 *     work 3          one "work" tracepoint each, i = 0, 1, 2
 *       step 3
 *         leaf 6
 *       square 3
 *       leaf 2        i = 0 and i = 2 only
 *     fib 1           fib(4): 9 calls in all
 *       fib 2
 *         fib 4
 *           fib 2
 *
 * then a "done" tracepoint with the total (38), printed too. */
#include <stdio.h>
#include <stdlib.h>
#include <ukw/trace.h>

static int leaf(int x)
{
	return x * 2 + 1;
}

static int square(int x)
{
	return x * x;
}

static int step(int i)
{
	int s = 0;
	for (int j = 0; j < 2; j++)
		s += leaf(i + j);
	return s;
}

static int fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static int work(int i)
{
	UKW_TRACE("work", "i=%d", i);
	int r = step(i) + square(i);
	if (i % 2 == 0)
		r += leaf(i);
	return r;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 1;
	int total = 0;
	for (int k = 0; k < reps; k++) {
		total = 0;
		for (int i = 0; i < 3; i++)
			total += work(i);
		total += fib(4);
	}
	UKW_TRACE("done", "total=%d reps=%d", total, reps);
	printf("tracetree: total %d\n", total);
	return 0;
}
