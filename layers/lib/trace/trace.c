/* lib/trace: the trace ring (layers/README.md "Trace ring").
 *
 * One producer context at a time per CPU, but an interrupt may nest inside
 * a write: a slot is claimed with a compare-and-swap on head, filled, and
 * committed by storing its seq last (x86 keeps stores in order, so a reader
 * that sees seq sees the record). The ring never overwrites a record the
 * reader has not consumed (tail): when full the record is dropped and
 * counted. No privileged instruction runs on this path (MACHINE.md: each
 * one makes kvm-pvm emulate what follows). */
#include <ukw/arch.h>
#include <ukw/hypercall.h>
#include <ukw/trace.h>

#define NRECS UKW_TRACE_NRECS

_Static_assert(CONFIG_TRACE_RING_KIB >= 4 && CONFIG_TRACE_RING_KIB <= 65536,
	       "lib/trace ring_kib must be 4..65536");
_Static_assert((CONFIG_TRACE_RING_KIB & (CONFIG_TRACE_RING_KIB - 1)) == 0,
	       "lib/trace ring_kib must be a power of two");

/* In .bss: the loader zeroes it, so magic is 0 until ukw_trace_init. */
struct ukw_trace_ring ukw_trace_ring __attribute__((aligned(64)));
uint32_t ukw_trace_state;

struct ukw_hc_trace_ring {
	struct ukw_hc_header h;
	uint64_t addr, size, flags;
};

UKW_NOTRACE void ukw_trace_init(void)
{
	uint32_t want = 0;
	if (!__atomic_compare_exchange_n(&ukw_trace_state, &want, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	struct ukw_trace_hdr *h = &ukw_trace_ring.h;
	h->version = UKW_TRACE_VERSION;
	h->hdr_size = sizeof *h;
	h->rec_size = sizeof(struct ukw_trace_rec);
	h->nrecs = NRECS;
	__asm__ volatile("" ::: "memory");
	*(volatile uint32_t *)&h->magic = UKW_TRACE_MAGIC;
	static struct ukw_hc_trace_ring hc __attribute__((aligned(8)));
	hc.addr = (uint64_t)&ukw_trace_ring;
	hc.size = sizeof ukw_trace_ring;
	hc.flags = 0;
	ukw_hypercall(&hc.h, UKW_HC_TRACE_RING, sizeof hc);
	__atomic_store_n(&ukw_trace_state, 2, __ATOMIC_RELEASE);
}

UKW_NOTRACE int ukw_trace_write(uint32_t type, uint32_t nargs, uint64_t id,
				uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct ukw_trace_hdr *h = &ukw_trace_ring.h;
	if (__builtin_expect(ukw_trace_state != 2, 0)) {
		ukw_trace_init();
		if (__atomic_load_n(&ukw_trace_state, __ATOMIC_ACQUIRE) != 2) {
			/* an interrupt nested in the set-up: nowhere to write yet */
			return 0;
		}
	}
	uint64_t i = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
	do {
		if (i - *(volatile uint64_t *)&h->tail >= NRECS) {
			__atomic_fetch_add(&h->dropped, 1, __ATOMIC_RELAXED);
			return 0;
		}
	} while (!__atomic_compare_exchange_n(&h->head, &i, i + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	struct ukw_trace_rec *r = &ukw_trace_ring.r[i & (NRECS - 1)];
	r->tsc = rdtsc();
	r->type = (uint16_t)type;
	r->nargs = (uint16_t)nargs;
	r->id = id;
	r->arg[0] = a0;
	if (nargs > 1) {
		r->arg[1] = a1;
		r->arg[2] = a2;
		r->arg[3] = a3;
	}
	__asm__ volatile("" ::: "memory");
	*(volatile uint64_t *)&r->seq = i + 1;
	return 1;
}

UKW_NOTRACE void ukw_trace_point(const struct ukw_tracepoint *tp, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	ukw_trace_write(UKW_REC_POINT, tp->nargs, (uint64_t)tp, a0, a1, a2, a3);
}
