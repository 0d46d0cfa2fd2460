/* arch/x86_64: the 64-bit C entry. Installs the TSS (IST1 for #DF and NMI,
 * so a stack overflow still reaches a handler) and the IDT, then hands over
 * to the platform. Intel SDM Vol. 3A 6.14.1 (64-bit IDT gates), 7.7 (TSS). */
#include <ukw/arch.h>

extern uint64_t ukw_gdt[];
extern uint64_t ukw_boot_pt[];
extern char __boot_stack_guard[];
extern char ukw_isr_table[];

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static struct tss64 tss;
static struct idt_gate idt[32] __attribute__((aligned(16)));
static char ist_stack[4096] __attribute__((aligned(16)));

void ukw_arch_entry(uint64_t magic, uint64_t info)
{
	uint64_t base = (uint64_t)&tss;
	tss.ist[0] = (uint64_t)(ist_stack + sizeof ist_stack);
	tss.iomap_base = sizeof tss;
	ukw_gdt[3] = (sizeof tss - 1) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		     ((base >> 24 & 0xff) << 56);
	ukw_gdt[4] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(0x18));

	uint64_t h = (uint64_t)ukw_isr_table;
	for (int v = 0; v < 32; v++, h += 16) {
		idt[v].off_lo = h & 0xffff;
		idt[v].sel = 0x08;
		idt[v].ist = (v == UKW_VEC_DF || v == UKW_VEC_NMI || v == UKW_VEC_MC) ? 1 : 0;
		idt[v].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
		idt[v].off_mid = h >> 16 & 0xffff;
		idt[v].off_hi = h >> 32;
	}
	struct desc_ptr p = { sizeof idt - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));

	/* the guard page below the boot stack: a stack overflow faults there
	 * (and the #DF that follows runs on IST1) */
	uint64_t guard = (uint64_t)__boot_stack_guard;
	if (guard < 0x200000) {
		ukw_boot_pt[guard >> 12] = 0;
		__asm__ volatile("invlpg (%0)" : : "r"(guard) : "memory");
	}

	ukw_plat_entry(magic, info);
}

static int present(uint64_t e) { return e & 1; }

int ukw_arch_mapped(uint64_t addr, uint64_t len)
{
	uint64_t end = addr + (len ? len : 1);
	if (end < addr || (int64_t)addr < 0)
		return 0; /* wraps, or the upper half (we use none of it) */
	for (uint64_t page = addr & ~0xfffull; page < end; page += 4096) {
		uint64_t *t = (uint64_t *)(read_cr3() & ~0xfffull);
		uint64_t e = t[page >> 39 & 511];
		if (!present(e))
			return 0;
		t = (uint64_t *)(e & 0xffffffffff000ull);
		e = t[page >> 30 & 511];
		if (!present(e))
			return 0;
		if (e & 0x80)
			continue; /* 1 GiB page */
		t = (uint64_t *)(e & 0xffffffffff000ull);
		e = t[page >> 21 & 511];
		if (!present(e))
			return 0;
		if (e & 0x80)
			continue; /* 2 MiB page */
		t = (uint64_t *)(e & 0xffffffffff000ull);
		if (!present(t[page >> 12 & 511]))
			return 0;
	}
	return 1;
}
