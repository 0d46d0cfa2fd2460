/* ukw_switch(uint64_t *save_rsp, uint64_t new_rsp): System V callee-saved
 * registers are pushed on the old stack, the stacks swapped, and popped. */
	.text
	.globl ukw_switch
	.type ukw_switch, @function
ukw_switch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* A new thread's first ukw_switch returns here with fn in r12, arg in r13. */
	.globl ukw_thread_start
	.type ukw_thread_start, @function
ukw_thread_start:
	mov %r13, %rdi
	call *%r12
	call ukw_thread_exit
	ud2

	.section .note.GNU-stack, "", @progbits
