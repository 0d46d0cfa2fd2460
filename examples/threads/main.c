/* threads: round-robin cooperative threads. Output is deterministic:
 * "A0 B0 C0 A1 B1 C1 A2 B2 C2", then a sleeper (alone, so its timing
 * cannot reorder anything), then the summary. */
#include <stdio.h>
#include <ukw/sched.h>

struct job {
	char name;
	int rounds;
	int done;
};

static void worker(void *arg)
{
	struct job *j = arg;
	for (int i = 0; i < j->rounds; i++) {
		printf("%c%d ", j->name, i);
		j->done++;
		ukw_thread_yield();
	}
}

static void sleeper(void *arg)
{
	unsigned ms = *(unsigned *)arg;
	uint64_t t0 = ukw_clock_ns();
	ukw_thread_sleep_ms(ms);
	uint64_t slept = (ukw_clock_ns() - t0) / 1000000;
	printf("\nsleeper: slept %s %u ms\n", slept >= ms ? "at least" : "LESS THAN", ms);
}

int main(void)
{
	struct job jobs[3] = { { 'A', 3, 0 }, { 'B', 3, 0 }, { 'C', 3, 0 } };
	int ids[4];
	unsigned ms = 5;
	for (int i = 0; i < 3; i++)
		ids[i] = ukw_thread_create(worker, &jobs[i], 0);
	int total = 0;
	for (int i = 0; i < 4; i++) {
		if (i == 3) /* after the workers: its timing cannot reorder them */
			ids[3] = ukw_thread_create(sleeper, &ms, 0);
		if (ids[i] < 0 || ukw_thread_join(ids[i]) != 0) {
			printf("threads: thread %d failed\n", i);
			return 1;
		}
	}
	for (int i = 0; i < 3; i++)
		total += jobs[i].done;
	printf("threads: joined 4 threads, %d rounds\n", total);
	return total == 9 ? 0 : 1;
}
