/* Multiboot 1 header and entry: a stack, then kmain. */
	.section .text
	.align 4
	.long 0x1BADB002
	.long 0x00000003
	.long -(0x1BADB002 + 0x00000003)
	.globl start
start:
	mov $stack_top, %esp
	call kmain
1:	cli
	hlt
	jmp 1b

	.section .bss
	.space 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
