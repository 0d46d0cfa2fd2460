/* lib/trace: tracepoints and the trace ring (layers/README.md "Trace ring").
 *
 *   UKW_TRACE("alloc", "size=%u ptr=%p", n, p);
 *
 * records a tracepoint: a 64-byte record with the TSC, the address of a
 * static descriptor (name, format, file, line; kept in the ELF section
 * "ukw_tracepoints" for the host to read) and up to four arguments, each
 * converted to uint64_t. The format is printf-like and rendered by the host
 * (ukw trace), never by the guest. A full ring drops the record and counts
 * it; nothing ever waits. */
#ifndef UKW_TRACE_H
#define UKW_TRACE_H

#include <stdint.h>

#define UKW_TRACE_MAGIC 0x54574b55u /* "UKWT" in memory */
#define UKW_TRACE_VERSION 1
#define UKW_TRACE_MAX_ARGS 4

/* Record types. */
enum {
	UKW_REC_POINT = 1, /* id = struct ukw_tracepoint *, args as given */
	UKW_REC_ENTER = 2, /* id = function address, arg[0] = call site */
	UKW_REC_EXIT = 3,  /* id = function address, arg[0] = call site */
};

/* The ring header: 64 bytes, the records follow it. */
struct ukw_trace_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_size;  /* 64 */
	uint32_t rec_size;  /* 64 */
	uint32_t nrecs;     /* a power of two */
	uint64_t head;      /* records reserved so far (the guest's) */
	uint64_t tail;      /* records consumed (the reader's; the guest only reads it) */
	uint64_t dropped;   /* records lost because the ring was full */
	uint64_t flags;     /* 0 */
	uint64_t tsc_hz;    /* TSC frequency if the guest knows it, else 0 */
	uint64_t reserved;
};

/* One record: 64 bytes. seq (= index + 1) is written last: a slot whose
 * seq is not its index + 1 is not committed yet. */
struct ukw_trace_rec {
	uint64_t seq;
	uint64_t tsc;
	uint16_t type;
	uint16_t nargs;
	uint32_t reserved;
	uint64_t id;
	uint64_t arg[UKW_TRACE_MAX_ARGS];
};

/* A tracepoint's static description, one per UKW_TRACE site, in the ELF
 * section "ukw_tracepoints". 32 bytes. */
struct ukw_tracepoint {
	const char *name;
	const char *fmt;
	const char *file;
	uint32_t line;
	uint32_t nargs;
};

_Static_assert(sizeof(struct ukw_trace_hdr) == 64, "ukw_trace_hdr is 64 bytes");
_Static_assert(sizeof(struct ukw_trace_rec) == 64, "ukw_trace_rec is 64 bytes");
_Static_assert(sizeof(struct ukw_tracepoint) == 32, "ukw_tracepoint is 32 bytes");

/* Functions the tracer is made of must never be instrumented themselves. */
#define UKW_NOTRACE __attribute__((no_instrument_function))

/* The ring's size comes from the layer option ring_kib, which the build
 * defines for every compilation unit (docs/manifests.md). */
#ifndef CONFIG_TRACE_RING_KIB
#define CONFIG_TRACE_RING_KIB 256
#endif
#define UKW_TRACE_NRECS ((uint64_t)CONFIG_TRACE_RING_KIB * 1024 / sizeof(struct ukw_trace_rec))

/* The ring: header then records (ELF symbol ukw_trace_ring, in .bss). */
struct ukw_trace_ring {
	struct ukw_trace_hdr h;
	struct ukw_trace_rec r[UKW_TRACE_NRECS];
};
extern struct ukw_trace_ring ukw_trace_ring;

/* 0: not set up, 1: being set up, 2: ready (trace.c). */
extern uint32_t ukw_trace_state;

/* ukw_trace_init sets up the ring and announces it (TRACE_RING). It runs
 * by itself before the first record; call it to announce the ring early. */
UKW_NOTRACE void ukw_trace_init(void);

/* ukw_trace_write appends one record; it returns 0 when the ring was full
 * (the record is counted in dropped) or cannot be set up yet. */
UKW_NOTRACE int ukw_trace_write(uint32_t type, uint32_t nargs, uint64_t id,
				uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

UKW_NOTRACE void ukw_trace_point(const struct ukw_tracepoint *tp, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

/* ukw_trace_emit1 is ukw_trace_write for a one-argument record, inlined
 * into lib/ftrace's hooks: guest instructions are expensive under
 * software KVM (MACHINE.md), and these run twice per traced call. Claim a
 * slot with a compare-and-swap on head (an interrupt may nest), fill it,
 * commit it by storing seq last; drop and count when the ring is full. */
static inline UKW_NOTRACE __attribute__((always_inline)) int
ukw_trace_emit1(uint32_t type, uint64_t id, uint64_t a0)
{
	if (__builtin_expect(*(volatile uint32_t *)&ukw_trace_state != 2, 0))
		return ukw_trace_write(type, 1, id, a0, 0, 0, 0);
	struct ukw_trace_hdr *h = &ukw_trace_ring.h;
	uint64_t i = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
	do {
		if (__builtin_expect(i - *(volatile uint64_t *)&h->tail >= UKW_TRACE_NRECS, 0)) {
			__atomic_fetch_add(&h->dropped, 1, __ATOMIC_RELAXED);
			return 0;
		}
	} while (!__atomic_compare_exchange_n(&h->head, &i, i + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	struct ukw_trace_rec *r = &ukw_trace_ring.r[i & (UKW_TRACE_NRECS - 1)];
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	r->tsc = (uint64_t)hi << 32 | lo;
	r->type = (uint16_t)type; /* gcc merges these two into one store */
	r->nargs = 1;
	r->id = id;
	r->arg[0] = a0;
	__asm__ volatile("" ::: "memory");
	*(volatile uint64_t *)&r->seq = i + 1;
	return 1;
}

/* Argument counting and conversion for UKW_TRACE (0 to 4 arguments). */
#define UKW__NARG(...) UKW__NARG_(0, ##__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define UKW__NARG_(_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, N, ...) N
#define UKW__CAT(a, b) UKW__CAT_(a, b)
#define UKW__CAT_(a, b) a##b
#define UKW__U(x) ((uint64_t)(x))
#define UKW__A0() 0, 0, 0, 0
#define UKW__A1(a) UKW__U(a), 0, 0, 0
#define UKW__A2(a, b) UKW__U(a), UKW__U(b), 0, 0
#define UKW__A3(a, b, c) UKW__U(a), UKW__U(b), UKW__U(c), 0
#define UKW__A4(a, b, c, d) UKW__U(a), UKW__U(b), UKW__U(c), UKW__U(d)

/* UKW_TRACE(name, fmt, args...): record a tracepoint. name and fmt are
 * string literals; at most UKW_TRACE_MAX_ARGS integer or pointer args. */
#define UKW_TRACE(name, fmt, ...) do {                                                \
	_Static_assert(UKW__NARG(__VA_ARGS__) <= UKW_TRACE_MAX_ARGS,                   \
		       "UKW_TRACE takes at most 4 arguments");                          \
	static const struct ukw_tracepoint ukw__tp                                     \
		__attribute__((section("ukw_tracepoints"), used, aligned(8))) =         \
		{ name, fmt, __FILE__, __LINE__, UKW__NARG(__VA_ARGS__) };             \
	ukw_trace_point(&ukw__tp, UKW__CAT(UKW__A, UKW__NARG(__VA_ARGS__))(__VA_ARGS__)); \
} while (0)

#endif
