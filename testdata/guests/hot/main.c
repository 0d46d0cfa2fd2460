/* hot: spends nearly all its time in hot_spin, a little in warm_setup
 * and cold_finish. Each hot_spin(ROUND) call is about 40 ms of guest time
 * on kvm-pvm (~1.5M instructions/s); argv[1] rounds (default 40, about
 * 1.6 s) are run. Prints the checksum and exits 0. */
#include <stdio.h>
#include <stdlib.h>

#define ROUND 5000

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long hot_spin(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n; i++) {
		x = x * 6364136223846793005ul + 1442695040888963407ul;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

__attribute__((noinline)) static unsigned long warm_setup(int rounds)
{
	unsigned long s = 0;
	for (int i = 0; i < rounds * 10; i++)
		s += (unsigned long)i * i;
	return s;
}

__attribute__((noinline)) static void cold_finish(unsigned long v)
{
	sink = v;
	printf("hot: checksum %lx\n", v);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 40;
	unsigned long v = warm_setup(rounds);
	for (int r = 0; r < rounds; r++)
		v ^= hot_spin(ROUND + r);
	cold_finish(v);
	return 0;
}
