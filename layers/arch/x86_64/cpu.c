/* arch/x86_64: the 64-bit C entry. The GDT (with the TSS descriptor), the
 * IDT and the TSS are complete at link time (boot.S, isr.S, link.ld), so
 * this only loads them and unmaps the boot stack's guard page, then hands
 * over to the platform. */
#include <ukw/arch.h>

extern uint64_t ukw_boot_pt[];
extern char __boot_stack_guard[];
extern const char ukw_idt_ptr[];

void ukw_arch_entry(uint64_t magic, uint64_t info)
{
	__asm__ volatile("ltr %w0" : : "r"(0x18));
	__asm__ volatile("lidt %0" : : "m"(*(const char(*)[10])ukw_idt_ptr));

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
