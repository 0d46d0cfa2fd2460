/* lib/sched-coop: the thread table and the round-robin scheduler. */
#include <stdlib.h>
#include <ukw/sched.h>

#ifndef CONFIG_SCHED_COOP_MAX_THREADS
#define CONFIG_SCHED_COOP_MAX_THREADS 16
#endif
#ifndef CONFIG_SCHED_COOP_STACK_KIB
#define CONFIG_SCHED_COOP_STACK_KIB 8
#endif

enum state { FREE, RUNNABLE, DONE };

struct thread {
	uint64_t rsp;
	enum state state;
	void *stack;
};

static struct thread threads[CONFIG_SCHED_COOP_MAX_THREADS] = { [0] = { 0, RUNNABLE, 0 } };
static int current;

void ukw_switch(uint64_t *save_rsp, uint64_t new_rsp);
void ukw_thread_start(void);
__attribute__((noreturn)) void ukw_thread_exit(void);

int ukw_thread_self(void) { return current; }

int ukw_thread_create(void (*fn)(void *), void *arg, size_t stack_size)
{
	int id = 1;
	while (id < CONFIG_SCHED_COOP_MAX_THREADS && threads[id].state != FREE)
		id++;
	if (id == CONFIG_SCHED_COOP_MAX_THREADS)
		return -1;
	if (!stack_size)
		stack_size = CONFIG_SCHED_COOP_STACK_KIB * 1024;
	char *stack = malloc(stack_size);
	if (!stack)
		return -1;
	uint64_t *sp = (uint64_t *)(((uint64_t)stack + stack_size) & ~15ull);
	*--sp = 0;                          /* keeps rsp % 16 == 8 at fn entry */
	*--sp = (uint64_t)ukw_thread_start; /* ukw_switch returns here */
	*--sp = 0;                          /* rbp */
	*--sp = 0;                          /* rbx */
	*--sp = (uint64_t)fn;               /* r12 */
	*--sp = (uint64_t)arg;              /* r13 */
	*--sp = 0;                          /* r14 */
	*--sp = 0;                          /* r15 */
	threads[id] = (struct thread){ (uint64_t)sp, RUNNABLE, stack };
	return id;
}

static void schedule(void)
{
	int prev = current, next = current;
	for (int i = 1; i <= CONFIG_SCHED_COOP_MAX_THREADS; i++) {
		int c = (current + i) % CONFIG_SCHED_COOP_MAX_THREADS;
		if (threads[c].state == RUNNABLE) {
			next = c;
			break;
		}
	}
	if (next == prev)
		return;
	current = next;
	ukw_switch(&threads[prev].rsp, threads[next].rsp);
}

void ukw_thread_yield(void) { schedule(); }

void ukw_thread_exit(void)
{
	threads[current].state = DONE;
	schedule();
	abort(); /* the last thread cannot exit: main returns instead */
}

int ukw_thread_join(int id)
{
	if (id <= 0 || id >= CONFIG_SCHED_COOP_MAX_THREADS || id == current || threads[id].state == FREE)
		return -1;
	while (threads[id].state != DONE)
		schedule();
	free(threads[id].stack);
	threads[id] = (struct thread){ 0, FREE, 0 };
	return 0;
}

void ukw_thread_sleep_ms(unsigned ms)
{
	uint64_t until = ukw_clock_ns() + (uint64_t)ms * 1000000;
	while (ukw_clock_ns() < until)
		schedule();
}
