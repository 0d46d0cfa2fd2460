/*
 * Multiboot 1 entry for the libvirt test kernel (Multiboot spec 0.6.96,
 * 3.1 "OS image format" and 3.2 "Machine state"). The loader enters here in
 * 32-bit protected mode with eax = 0x2BADB002 and ebx = the multiboot info.
 */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003	/* page-align modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 16
stack_bottom:
	.skip 16384
stack_top:

	.section .text
	.globl _start
	.type _start, @function
_start:
	mov $stack_top, %esp
	xor %ebp, %ebp		/* end of the frame-pointer chain */
	push %ebx		/* multiboot info */
	push %eax		/* magic */
	call kmain
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
