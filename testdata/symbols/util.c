/* Second compilation unit for package symbols' tests. */
#include "prog.h"

static int counter = 5;

static __attribute__((noinline)) int helper_local(int v)
{
	counter *= 2;
	return counter + v;
}

int helper(int v)
{
	return helper_local(v) + square(v);
}

__attribute__((noinline)) void stop(void)
{
	__asm__ volatile("" ::: "memory");
}

int util_entry(int v)
{
	int acc = 0;
	for (int i = 0; i < v; i++)
		acc += helper(i);
	stop();
	return acc;
}
