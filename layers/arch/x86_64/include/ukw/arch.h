/* arch/x86_64: CPU structures and helpers shared by every layer.
 * struct ukw_frame is the guest ABI record of layers/README.md. */
#ifndef UKW_ARCH_H
#define UKW_ARCH_H

#include <stdint.h>
#include <stddef.h>

/* What every exception stub saves (layers/README.md, 176 bytes). The last
 * five words are the CPU's 64-bit interrupt frame (Intel SDM Vol. 3A 6.14.2). */
struct ukw_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct ukw_frame) == 176, "ukw_frame is 176 bytes");

/* Exception vectors (Intel SDM Vol. 3A, Table 6-1). */
enum {
	UKW_VEC_DE = 0, UKW_VEC_DB = 1, UKW_VEC_NMI = 2, UKW_VEC_BP = 3,
	UKW_VEC_OF = 4, UKW_VEC_BR = 5, UKW_VEC_UD = 6, UKW_VEC_NM = 7,
	UKW_VEC_DF = 8, UKW_VEC_TS = 10, UKW_VEC_NP = 11, UKW_VEC_SS = 12,
	UKW_VEC_GP = 13, UKW_VEC_PF = 14, UKW_VEC_MF = 16, UKW_VEC_AC = 17,
	UKW_VEC_MC = 18, UKW_VEC_XM = 19,
};

/* Boot magics handed to ukw_plat_entry. */
#define UKW_MULTIBOOT_MAGIC 0x2BADB002u /* eax after a Multiboot 1 loader */
#define UKW_PVH_MAGIC 0x336ec578u       /* hvm_start_info.magic */

/* Called by the exception stubs with the saved frame. The platform layer
 * provides a weak default; lib/panic overrides it. Returning resumes the
 * interrupted code with the (possibly modified) frame. */
void ukw_trap(struct ukw_frame *f);

/* The platform's C entry: magic is UKW_MULTIBOOT_MAGIC (info = multiboot
 * info) or UKW_PVH_MAGIC (info = struct hvm_start_info). */
__attribute__((noreturn)) void ukw_plat_entry(uint64_t magic, uint64_t info);

/* ukw_arch_mapped reports whether [addr, addr+len) is mapped present by the
 * current page tables (walks CR3; 4 KiB, 2 MiB and 1 GiB pages). */
int ukw_arch_mapped(uint64_t addr, uint64_t len);

/* Linker-script symbols. */
extern char __kernel_start[], __text_end[], __bss_start[], __bss_end[], _end[];
extern char __boot_stack_bottom[], __boot_stack_top[];

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
static inline void cpu_pause(void) { __asm__ volatile("pause"); }
static inline __attribute__((noreturn)) void cpu_halt_forever(void) { for (;;) __asm__ volatile("cli; hlt"); }

#define UKW_READ_CR(n) ({ uint64_t _v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(_v)); _v; })
static inline uint64_t read_cr0(void) { return UKW_READ_CR(0); }
static inline uint64_t read_cr2(void) { return UKW_READ_CR(2); }
static inline uint64_t read_cr3(void) { return UKW_READ_CR(3); }
static inline uint64_t read_cr4(void) { return UKW_READ_CR(4); }
static inline uint64_t read_dr6(void) { uint64_t v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }

#endif
