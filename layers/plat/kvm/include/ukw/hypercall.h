/* plat/kvm: the ukw hypercall port (layers/README.md "Hypercalls"). */
#ifndef UKW_HYPERCALL_H
#define UKW_HYPERCALL_H

#include <stdint.h>
#include <ukw/arch.h>

#define UKW_HC_PORT 0x0ec0
#define UKW_HC_MAGIC 0x48574b55u /* "UKWH" */
#define UKW_HC_VERSION 1
#define UKW_HC_NO_VMM 0xffffffffu /* status left untouched: no ukw VMM */

enum {
	UKW_HC_HELLO = 1,
	UKW_HC_CRASH = 2,
	UKW_HC_BREAK = 3,
	UKW_HC_DEBUG = 4,
	UKW_HC_TRACE_RING = 5,
	UKW_HC_CONSOLE = 6,
};

/* guest_features bits */
#define UKW_GUEST_BREAK (1ull << 0)
#define UKW_GUEST_DEBUG (1ull << 1)
#define UKW_GUEST_CRASH (1ull << 2)

struct ukw_hc_header {
	uint32_t magic;
	uint16_t nr;
	uint16_t version;
	uint32_t size;
	uint32_t status;
};

struct ukw_hc_hello {
	struct ukw_hc_header h;
	uint64_t guest_features;
	uint64_t host_features;
};

/* CONSOLE: the VMM writes len bytes at phys addr to the console (one exit
 * for a whole buffer; host_features bit 2 says it is understood). */
#define UKW_CONSOLE_MAX 65536 /* bytes per CONSOLE hypercall */
struct ukw_hc_console {
	struct ukw_hc_header h;
	uint64_t addr;
	uint64_t len;
};

#define UKW_CRASH_STACK_MAX 512
struct ukw_crash {
	struct ukw_frame frame;
	uint64_t cr0, cr2, cr3, cr4;
	uint64_t stack_addr;
	uint32_t stack_len;
	uint32_t reserved;
	uint8_t stack[UKW_CRASH_STACK_MAX];
};
_Static_assert(__builtin_offsetof(struct ukw_crash, stack) == 224, "ukw_crash layout");

/* ukw_hypercall fills in the header (magic, nr, version, size, status =
 * UKW_HC_NO_VMM), sends the block's address to port 0x0ec0 and returns the
 * status the VMM wrote (UKW_HC_NO_VMM when none answered). blk must be
 * 8-byte aligned. */
uint32_t ukw_hypercall(struct ukw_hc_header *blk, uint16_t nr, uint32_t size);

#endif
