/* lib/panic: what happens on a CPU exception (layers/README.md
 * "Hypercalls", "struct ukw_crash", "Cooperative breakpoints").
 *
 * #BP and #DB hand their frame to the VMM (BREAK, DEBUG), which restores
 * the interrupted state and stops. Any other exception, or a #BP/#DB that
 * comes back because no ukw VMM is there, prints a register dump and a
 * frame-pointer backtrace, sends a CRASH record and, when that returns too
 * (QEMU), exits with status 0x7f. */
#include <stdio.h>
#include <string.h>
#include <ukw/arch.h>
#include <ukw/plat.h>
#include <ukw/hypercall.h>

#ifndef CONFIG_PANIC_BACKTRACE_DEPTH
#define CONFIG_PANIC_BACKTRACE_DEPTH 16
#endif

const uint64_t ukw_guest_features = UKW_GUEST_BREAK | UKW_GUEST_DEBUG | UKW_GUEST_CRASH;

static const char *const names[32] = {
	"divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)",
	"overflow (#OF)", "bound range (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
	"double fault (#DF)", "coprocessor segment overrun", "invalid TSS (#TS)", "segment not present (#NP)",
	"stack-segment fault (#SS)", "general protection (#GP)", "page fault (#PF)", "reserved 15",
	"x87 FPU error (#MF)", "alignment check (#AC)", "machine check (#MC)", "SIMD exception (#XM)",
	"virtualization (#VE)", "control protection (#CP)",
};

static struct {
	struct ukw_hc_header h;
	union {
		struct ukw_crash crash;
		struct {
			struct ukw_frame frame;
			uint64_t dr6;
		} debug;
	};
} blk __attribute__((aligned(8)));

static int depth;

static void dump(const struct ukw_frame *f, uint64_t cr2)
{
	const char *name = f->vector < 32 && names[f->vector] ? names[f->vector] : "exception";
	printf("\n*** CRASH: %s, vector %lu, error code %#lx\n", name, f->vector, f->error_code);
	printf("rip %016lx  rsp %016lx  rflags %016lx\n", f->rip, f->rsp, f->rflags);
	printf("rax %016lx  rbx %016lx  rcx %016lx\n", f->rax, f->rbx, f->rcx);
	printf("rdx %016lx  rsi %016lx  rdi %016lx\n", f->rdx, f->rsi, f->rdi);
	printf("rbp %016lx  r8  %016lx  r9  %016lx\n", f->rbp, f->r8, f->r9);
	printf("r10 %016lx  r11 %016lx  r12 %016lx\n", f->r10, f->r11, f->r12);
	printf("r13 %016lx  r14 %016lx  r15 %016lx\n", f->r13, f->r14, f->r15);
	printf("cr2 %016lx  cr3 %016lx  cs %lx ss %lx\n", cr2, read_cr3(), f->cs, f->ss);
	printf("backtrace: %#lx", f->rip);
	uint64_t bp = f->rbp;
	for (int i = 0; i < CONFIG_PANIC_BACKTRACE_DEPTH && bp && !(bp & 7) && ukw_arch_mapped(bp, 16); i++) {
		uint64_t ret = ((uint64_t *)bp)[1];
		if (!ret)
			break;
		printf(" %#lx", ret);
		uint64_t up = ((uint64_t *)bp)[0];
		if (up <= bp)
			break;
		bp = up;
	}
	printf("\n");
}

static void crash(struct ukw_frame *f)
{
	uint64_t cr2 = read_cr2();
	if (depth++) {
		/* a fault inside this handler: no printf, just leave */
		ukw_console_write("\n*** CRASH inside the crash handler\n", 36);
		ukw_exit(0x7f);
	}
	dump(f, cr2);
	struct ukw_crash *c = &blk.crash;
	memcpy(&c->frame, f, sizeof *f);
	c->cr0 = read_cr0();
	c->cr2 = cr2;
	c->cr3 = read_cr3();
	c->cr4 = read_cr4();
	c->stack_addr = f->rsp;
	c->stack_len = 0;
	c->reserved = 0;
	uint32_t n = UKW_CRASH_STACK_MAX;
	while (n && !ukw_arch_mapped(f->rsp, n))
		n /= 2;
	if (n) {
		memcpy(c->stack, (void *)f->rsp, n);
		c->stack_len = n;
	}
	ukw_hypercall(&blk.h, UKW_HC_CRASH, 16 + 224 + c->stack_len);
	printf("ukw: exit status 0x7f (no ukw VMM took the crash record)\n");
	ukw_exit(0x7f);
}

void ukw_trap(struct ukw_frame *f)
{
	if (f->vector == UKW_VEC_BP || f->vector == UKW_VEC_DB) {
		memcpy(&blk.debug.frame, f, sizeof *f);
		uint32_t size = 16 + sizeof *f;
		uint16_t nr = UKW_HC_BREAK;
		if (f->vector == UKW_VEC_DB) {
			blk.debug.dr6 = read_dr6();
			size += 8;
			nr = UKW_HC_DEBUG;
		}
		if (ukw_host_features() & UKW_HOST_BREAK_DEBUG)
			ukw_hypercall(&blk.h, nr, size);
		/* still here: nobody took it, so it is a crash (a compiled-in int3) */
	}
	crash(f);
}
