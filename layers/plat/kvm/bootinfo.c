/* plat/kvm: the boot information a loader hands over. Multiboot 1
 * (Multiboot Specification 0.6.96, 3.3 "Boot information format") or PVH
 * (Xen arch-x86/hvm/start_info.h, struct hvm_start_info version 1). */
#include <ukw/arch.h>
#include <ukw/plat.h>
#include "internal.h"

#ifndef CONFIG_KVM_CMDLINE_MAX
#define CONFIG_KVM_CMDLINE_MAX 512
#endif

#define MiB (1024ull * 1024)
#define MAPPED_LIMIT (1024 * MiB) /* the 32-bit path maps the first GiB */

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};
struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));
struct mb_mod {
	uint32_t start, end, cmdline, pad;
};

struct pvh_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct pvh_memmap {
	uint64_t addr, size;
	uint32_t type, reserved;
};
struct pvh_mod {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

static char cmdline[CONFIG_KVM_CMDLINE_MAX];
static const char *boot_cmdline = ""; /* the loader's string, kept clear of the heap */
static int cmdline_copied;
static struct ukw_region heap;

const char *ukw_boot_cmdline(void) { return boot_cmdline; }
struct ukw_region ukw_heap_region(void) { return heap; }

/* ukw_cmdline copies the loader's string (cut to cmdline_max - 1 bytes)
 * on first use: main's argv is split from the loader's string directly,
 * so a boot that never asks pays nothing. */
const char *ukw_cmdline(void)
{
	if (!cmdline_copied) {
		size_t i = 0;
		for (; boot_cmdline[i] && i < sizeof cmdline - 1; i++)
			cmdline[i] = boot_cmdline[i];
		cmdline[i] = 0;
		cmdline_copied = 1;
	}
	return cmdline;
}

static void copy_cmdline(uint64_t addr)
{
	if (addr)
		boot_cmdline = (const char *)addr;
}

static uint64_t strend(uint64_t addr)
{
	const char *s = (const char *)addr;
	while (*s)
		s++;
	return (uint64_t)s + 1;
}

/* keep_clear moves the heap start past [a, b) when that range lies after
 * the kernel: QEMU puts the boot info right behind the image. */
static void keep_clear(uint64_t a, uint64_t b)
{
	if (a && b > heap.start && a < heap.end)
		heap.start = b;
}

/* keep_clear_str does it for the string at a, measured only when it
 * starts inside the heap (a loader puts none across the kernel's end). */
static void keep_clear_str(uint64_t a)
{
	if (a && a >= heap.start && a < heap.end)
		heap.start = strend(a);
}

static void ram(uint64_t addr, uint64_t len)
{
	uint64_t k = (uint64_t)_end;
	if (addr <= k && k < addr + len) {
		heap.start = k;
		heap.end = addr + len;
	}
}

void ukw_bootinfo_parse(uint64_t magic, uint64_t info)
{
	if (magic == UKW_MULTIBOOT_MAGIC && info) {
		const struct mb_info *mb = (const struct mb_info *)info;
		if (mb->flags & (1u << 6)) {
			for (uint64_t p = mb->mmap_addr; p < (uint64_t)mb->mmap_addr + mb->mmap_length;) {
				const struct mb_mmap *m = (const struct mb_mmap *)p;
				if (m->type == 1)
					ram(m->addr, m->len);
				p += m->size + 4;
			}
		} else if (mb->flags & 1) {
			ram(MiB, (uint64_t)mb->mem_upper * 1024);
		}
		if (mb->flags & (1u << 2))
			copy_cmdline(mb->cmdline);
		keep_clear(info, info + sizeof *mb);
		if (mb->flags & (1u << 2) && mb->cmdline)
			keep_clear_str(mb->cmdline);
		if (mb->flags & (1u << 6))
			keep_clear(mb->mmap_addr, (uint64_t)mb->mmap_addr + mb->mmap_length);
		if (mb->flags & (1u << 3)) {
			const struct mb_mod *mods = (const struct mb_mod *)(uint64_t)mb->mods_addr;
			keep_clear(mb->mods_addr, mb->mods_addr + mb->mods_count * sizeof *mods);
			for (uint32_t i = 0; i < mb->mods_count; i++) {
				keep_clear(mods[i].start, mods[i].end);
				if (mods[i].cmdline)
					keep_clear_str(mods[i].cmdline);
			}
		}
	} else if (magic == UKW_PVH_MAGIC && info) {
		const struct pvh_info *pv = (const struct pvh_info *)info;
		if (pv->version >= 1 && pv->memmap_paddr) {
			const struct pvh_memmap *m = (const struct pvh_memmap *)pv->memmap_paddr;
			for (uint32_t i = 0; i < pv->memmap_entries; i++)
				if (m[i].type == 1)
					ram(m[i].addr, m[i].size);
			keep_clear(pv->memmap_paddr, pv->memmap_paddr + pv->memmap_entries * sizeof *m);
		}
		copy_cmdline(pv->cmdline_paddr);
		keep_clear(info, info + sizeof *pv);
		if (pv->cmdline_paddr)
			keep_clear_str(pv->cmdline_paddr);
		if (pv->modlist_paddr) {
			const struct pvh_mod *mods = (const struct pvh_mod *)pv->modlist_paddr;
			keep_clear(pv->modlist_paddr, pv->modlist_paddr + pv->nr_modules * sizeof *mods);
			for (uint32_t i = 0; i < pv->nr_modules; i++)
				keep_clear(mods[i].paddr, mods[i].paddr + mods[i].size);
		}
	}
	if (heap.end > MAPPED_LIMIT)
		heap.end = MAPPED_LIMIT;
	heap.start = (heap.start + 4095) & ~4095ull;
	if (heap.start > heap.end)
		heap.start = heap.end;
}
