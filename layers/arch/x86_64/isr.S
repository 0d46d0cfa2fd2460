/* Exception stubs for vectors 0-31. Each pushes an error code (0 when the CPU
 * pushes none; Intel SDM Vol. 3A 6.13) and the vector, then the common path
 * pushes rax..r15 so that the stack holds a struct ukw_frame
 * (layers/README.md) and calls ukw_trap(frame) with rsp = frame.
 * Every stub symbol starts with "ukw_exc_": debuggers (package symbols)
 * recognise a return address inside one as an exception frame. */

	.macro STUB vec, has_err
	.align 16
ukw_exc_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp ukw_exc_common
	.endm

	.section .text
	.align 512                      /* so link.ld's split of its address cannot carry */
	.globl ukw_exc_table
ukw_exc_table:                  /* 32 stubs, 16 bytes apart */
	STUB 0, 0
	STUB 1, 0
	STUB 2, 0
	STUB 3, 0
	STUB 4, 0
	STUB 5, 0
	STUB 6, 0
	STUB 7, 0
	STUB 8, 1
	STUB 9, 0
	STUB 10, 1
	STUB 11, 1
	STUB 12, 1
	STUB 13, 1
	STUB 14, 1
	STUB 15, 0
	STUB 16, 0
	STUB 17, 1
	STUB 18, 0
	STUB 19, 0
	STUB 20, 0
	STUB 21, 1
	STUB 22, 0
	STUB 23, 0
	STUB 24, 0
	STUB 25, 0
	STUB 26, 0
	STUB 27, 0
	STUB 28, 0
	STUB 29, 1
	STUB 30, 1
	STUB 31, 0

	.type ukw_exc_common, @function
ukw_exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	cld
	call ukw_trap
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp                   /* vector, error code */
	iretq
	.size ukw_exc_common, . - ukw_exc_common

/* The IDT, complete at link time: link.ld splits the stub table's address
 * into the gate fields (Intel SDM Vol. 3A 6.14.1, Figure 6-8). #DF, NMI and
 * #MC run on IST1 so that a stack overflow still reaches a handler. */
	.macro GATE vec, ist
	.word ukw_idt_off_lo + \vec * 16
	.word 0x08                      /* kernel code selector */
	.byte \ist, 0x8e                /* IST, present 64-bit interrupt gate */
	.word ukw_idt_off_mid
	.long ukw_idt_off_hi
	.long 0
	.endm

	.section .data.sys, "aw"      /* with the GDT: a page of their own (link.ld) */
	.align 16
	.globl ukw_idt, ukw_idt_ptr
ukw_idt:
	.irp v, 0, 1
	GATE \v, 0
	.endr
	GATE 2, 1
	.irp v, 3, 4, 5, 6, 7
	GATE \v, 0
	.endr
	GATE 8, 1
	.irp v, 9, 10, 11, 12, 13, 14, 15, 16, 17
	GATE \v, 0
	.endr
	GATE 18, 1
	.irp v, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	GATE \v, 0
	.endr
ukw_idt_end:
	.align 8
ukw_idt_ptr:
	.word ukw_idt_end - ukw_idt - 1
	.quad ukw_idt

/* The TSS (Intel SDM Vol. 3A 8.7): only IST1 and the I/O map base. */
	.align 16
	.globl ukw_tss, ukw_tss_end
ukw_tss:
	.long 0
	.quad 0, 0, 0                   /* rsp0-2 */
	.quad 0
	.quad ukw_ist1_top              /* ist1 */
	.quad 0, 0, 0, 0, 0, 0          /* ist2-7 */
	.quad 0
	.word 0
	.word ukw_tss_end - ukw_tss     /* I/O map base: no map */
ukw_tss_end:

	.section .bss
	.align 16
	.space 4096
ukw_ist1_top:

	.section .note.GNU-stack, "", @progbits
