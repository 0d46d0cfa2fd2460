/*
 * Boot code of the gdb test guest: a Multiboot 1 header (Multiboot spec
 * 0.6.96, section 3.1.1), 32-bit protected-mode entry (section 3.2), then
 * long mode with static identity page tables (Intel SDM Vol. 3A, 9.8.5
 * "Initializing IA-32e Mode") and a call to main. main's return value goes
 * to the isa-debug-exit port 0xf4 (layers/README.md).
 */
	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002		/* magic */
	.long 0x00000003		/* flags: page-align modules, memory info */
	.long -(0x1BADB002 + 0x00000003)	/* checksum */

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	movl	$stack_top, %esp
	/* CR4.PAE */
	movl	%cr4, %eax
	orl	$0x20, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	/* EFER.LME */
	movl	$0xC0000080, %ecx
	rdmsr
	orl	$0x100, %eax
	wrmsr
	/* CR0.PG | CR0.PE */
	movl	%cr0, %eax
	orl	$0x80000001, %eax
	movl	%eax, %cr0
	lgdt	gdt_ptr
	ljmp	$0x08, $long_entry

	.code64
long_entry:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movabsq	$stack_top, %rsp
	xorl	%ebp, %ebp
	call	main
	movl	%eax, %edx
	movl	%edx, %eax
	outl	%eax, $0xf4
1:	hlt
	jmp	1b

	.section .data
	.align 4096
pml4:
	.quad	pdpt + 0x3
	.fill	511, 8, 0
pdpt:
	.quad	pd + 0x3
	.fill	511, 8, 0
pd:	/* 2 MiB pages covering the first 1 GiB */
	.set	i, 0
	.rept	512
	.quad	(i << 21) | 0x83
	.set	i, i + 1
	.endr

	.align 16
gdt:
	.quad	0
	.quad	0x00209a0000000000	/* 0x08: 64-bit code */
	.quad	0x0000920000000000	/* 0x10: data */
gdt_ptr:
	.word	gdt_ptr - gdt - 1
	.long	gdt

	.section .bss
	.align 16
stack:
	.skip	16384
stack_top:
