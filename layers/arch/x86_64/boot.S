/* arch/x86_64 boot: the Multiboot 1 header, the PVH and ukw ELF notes, the
 * 32-bit entries (Multiboot, PVH) that switch to long mode, and the 64-bit
 * fast-path entry. All of them end in ukw_arch_entry(magic, info).
 *
 * References: Multiboot Specification 0.6.96 section 3.1 (header) and 3.2
 * (machine state); Xen public/elfnote.h (XEN_ELFNOTE_PHYS32_ENTRY = 18) and
 * arch-x86/hvm/start_info.h; Intel SDM Vol. 3A 9.8.5 (initializing IA-32e
 * mode); layers/README.md (the ukw note and the fast-path machine state). */

#ifndef CONFIG_X86_64_STACK_KIB
#define CONFIG_X86_64_STACK_KIB 16
#endif

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory info */

/* ---- Multiboot 1 header: first thing in the image (linker script) ---- */
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

/* ---- ELF notes: 4-byte aligned name and desc (ELF gABI note layout) ---- */
	.section .note.Xen, "a", @note
	.align 4
	.long 4                 /* namesz: "Xen\0" */
	.long 4                 /* descsz */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start_pvh

	.section .note.ukw, "a", @note
	.align 4
	.long 4                 /* namesz: "ukw\0" */
	.long 8                 /* descsz */
	.long 0x75770001        /* UKW_NOTE_ENTRY64 */
	.asciz "ukw"
	.quad _start64

/* ---- 32-bit entries ---- */
	.section .text.boot, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:                         /* Multiboot: eax = 0x2BADB002, ebx = info */
	cli
	mov %eax, %edi
	mov %ebx, %esi
	jmp 1f

	.globl _start_pvh
	.type _start_pvh, @function
_start_pvh:                     /* PVH: ebx = struct hvm_start_info */
	cli
	mov $0x336ec578, %edi
	mov %ebx, %esi
1:
	/* The identity map is prebuilt (below); link its top two levels. */
	movl $(ukw_boot_pdpt + 3), ukw_boot_pml4
	movl $(ukw_boot_pd + 3), ukw_boot_pdpt
	mov %cr4, %eax
	or $0x20, %eax                  /* CR4.PAE */
	mov %eax, %cr4
	mov $ukw_boot_pml4, %eax
	mov %eax, %cr3
	mov $0xC0000080, %ecx           /* IA32_EFER */
	rdmsr
	or $0x100, %eax                 /* EFER.LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax            /* CR0.PG | CR0.PE */
	mov %eax, %cr0
	lgdt ukw_gdt_ptr                /* reads limit + low 32 bits of the base */
	ljmp $0x08, $from32

	.code64
from32:
	mov %edi, %edi                  /* zero-extend magic and info */
	mov %esi, %esi
	jmp common64

/* ---- 64-bit fast path: rdi = 0x2BADB002, rsi = multiboot info ---- */
	.globl _start64
	.type _start64, @function
_start64:
	cli
	lea ukw_boot_pdpt + 3(%rip), %rax
	mov %rax, ukw_boot_pml4(%rip)
	lea ukw_boot_pd + 3(%rip), %rax
	mov %rax, ukw_boot_pdpt(%rip)
	lea ukw_boot_pml4(%rip), %rax   /* our map: page 0 and the stack guard unmapped */
	mov %rax, %cr3
	lgdt ukw_gdt_ptr(%rip)
	lea common64(%rip), %rax
	pushq $0x08
	push %rax
	lretq

common64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea __boot_stack_top(%rip), %rsp
	xor %ebp, %ebp
#if CONFIG_X86_64_CLEAR_BSS
	mov %rdi, %r8
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	shr $3, %rcx
	xor %eax, %eax
	rep stosq
	mov %r8, %rdi
	lea __boot_stack_top(%rip), %rsp
#endif
	call ukw_arch_entry
	cli
3:	hlt
	jmp 3b

/* ---- GDT: null, 64-bit code (0x08), data (0x10), TSS (0x18; link.ld
 * computes its descriptor, Intel SDM Vol. 3A 8.2.3). In .data.sys with the
 * IDT and TSS (isr.S): link.ld gives them a page of their own, so that no
 * program variable shares a page with tables the CPU reads itself (the
 * VMM's read watchpoints take a variable's page out of guest RAM). ---- */
	.section .data.sys, "aw"
	.align 16
	.globl ukw_gdt
ukw_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad ukw_tss_desc_lo, ukw_tss_desc_hi
ukw_gdt_end:
	.align 8
	.globl ukw_gdt_ptr
ukw_gdt_ptr:                    /* 10-byte pseudo-descriptor; 32-bit lgdt reads 6 */
	.word ukw_gdt_end - ukw_gdt - 1
	.quad ukw_gdt

/* ---- Page tables: the first GiB identity-mapped, writable. The first
 * 2 MiB use 4 KiB pages so that page 0 stays unmapped (NULL dereferences
 * fault) and cpu.c can unmap the guard page below the boot stack; the rest
 * are 2 MiB pages. Intel SDM Vol. 3A 4.5 (4-level paging). The PD and PT
 * entries are assemble-time constants in .data (8 KiB); the PML4 and PDPT
 * are in .bss and get their one entry at boot. ---- */
	.section .bss.pagetables, "aw", @nobits
	.align 4096
	.globl ukw_boot_pml4, ukw_boot_pt
ukw_boot_pml4:                          /* [0] linked at boot */
	.space 4096
ukw_boot_pdpt:                          /* [0] linked at boot */
	.space 4096

	.section .data.pagetables, "aw"
	.align 4096
ukw_boot_pd:
	.quad ukw_boot_pt + 3
	.set addr, 0x200000
	.rept 511
	.quad addr + 0x83               /* present, writable, 2 MiB page */
	.set addr, addr + 0x200000
	.endr
ukw_boot_pt:
	.quad 0                         /* page 0: not present */
	.set addr, 0x1000
	.rept 511
	.quad addr + 3                  /* present, writable */
	.set addr, addr + 0x1000
	.endr

	.section .bss
	.align 4096
	.globl __boot_stack_guard
__boot_stack_guard:                     /* unmapped by cpu.c */
	.space 4096
	.globl __boot_stack_bottom, __boot_stack_top
__boot_stack_bottom:
	.space CONFIG_X86_64_STACK_KIB * 1024
__boot_stack_top:

	.section .note.GNU-stack, "", @progbits
