/* lib/sched-coop: cooperative threads. A thread runs until it yields,
 * sleeps, joins or returns; the next runnable thread is picked round-robin
 * in creation order, so output is deterministic. */
#ifndef UKW_SCHED_H
#define UKW_SCHED_H
#include <stddef.h>
#include <stdint.h>

/* ukw_thread_create starts fn(arg) on a new stack (stack_size 0 = the
 * default) and returns its id (> 0), or -1 when out of memory or slots. */
int ukw_thread_create(void (*fn)(void *), void *arg, size_t stack_size);
void ukw_thread_yield(void);
/* ukw_thread_join yields until thread id has returned; -1 if no such thread. */
int ukw_thread_join(int id);
/* ukw_thread_sleep_ms yields until ms milliseconds have passed. */
void ukw_thread_sleep_ms(unsigned ms);
int ukw_thread_self(void);

/* ukw_clock_ns is the time since the first clock use, from the TSC. */
uint64_t ukw_clock_ns(void);
#endif
