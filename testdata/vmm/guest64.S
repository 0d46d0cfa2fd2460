/*
 * guest64: a 64-bit test guest for package vmm, entered in long mode by
 * the VMM (ukw note UKW_NOTE_ENTRY64, or as a plain ELF64 with -DPLAIN).
 * rdi = 0x2BADB002, rsi = multiboot info (layers/README.md, "Boot").
 *
 * It prints "guest64: <cmdline>\n" on COM1, installs an IDT whose stubs
 * save a struct ukw_frame and report #BP through BREAK, #DB through DEBUG
 * and everything else through CRASH, says HELLO, then does what the first
 * character of the command line asks (see the table at "actions"). A
 * second character '-' skips the IDT and HELLO.
 */
#define COM1 0x3f8
#define HC_PORT 0x0ec0
#define HC_MAGIC 0x48574b55

	.code64
#ifndef PLAIN
	.section .note.ukw, "a", @note
	.balign 4
	.long 4			/* namesz: "ukw\0" */
	.long 8			/* descsz */
	.long 0x75770001	/* UKW_NOTE_ENTRY64 */
	.asciz "ukw"
	.balign 4
	.quad _start
	.balign 4
#endif

	.text
	.globl _start
_start:
	lea stack_top(%rip), %rsp
	mov %rsi, %r12			/* multiboot info */
	lea hello(%rip), %rsi
	call puts
	mov 16(%r12), %esi		/* mbi->cmdline */
	mov %rsi, %r13
	call puts
	mov $'\n', %al
	call putc
	movzbl 1(%r13), %eax
	cmp $'-', %al
	je 1f
	call setup_idt
	call say_hello
1:	movzbl (%r13), %eax
	cmp $'0', %al
	jb 2f
	cmp $'9', %al
	ja 2f
	sub $'0', %al
	jmp exit
2:	cmp $'p', %al
	je do_pf
	cmp $'g', %al
	je do_gp
	cmp $'u', %al
	je do_ud
	cmp $'d', %al
	je do_de
	cmp $'t', %al
	je do_triple
	cmp $'l', %al
	je do_loop
	cmp $'h', %al
	je do_halt
	cmp $'i', %al
	je do_port
	cmp $'m', %al
	je do_mmio
	cmp $'b', %al
	je do_badhc
	cmp $'k', %al
	je do_int3
	cmp $'w', %al
	je do_watch
	cmp $'e', %al
	je do_echo
	cmp $'r', %al
	je do_reset
	cmp $'o', %al
	je do_poweroff
	cmp $'q', %al
	je do_qemuexit
	cmp $'c', %al
	je do_count
	cmp $'s', %al
	je do_steps
	mov $0x42, %al
	jmp exit

exit:	out %al, $0xf4
	hlt
	jmp exit

do_pf:	movabs $0x8000000000, %rax	/* PML4 entry 1 is not present */
	mov (%rax), %rax
	jmp exit
do_gp:	movabs $0x8000000000000000, %rax	/* non-canonical */
	mov (%rax), %rax
	jmp exit
do_ud:	ud2
do_de:	xor %ecx, %ecx
	mov $1, %eax
	xor %edx, %edx
	div %ecx
	jmp exit
do_triple:
	lidt null_idt(%rip)
	ud2
do_loop:
	jmp do_loop
do_halt:
	cli
	hlt
	jmp do_halt
do_port:
	mov $0x1234, %dx
	mov $0x55, %al
	out %al, %dx
	mov $7, %al
	jmp exit
do_mmio:
	mov $0xd0000000, %eax
	movl $1, (%rax)
	mov $8, %al
	jmp exit
do_badhc:
	lea bad_block(%rip), %rax
	mov $HC_PORT, %dx
	out %eax, %dx
	mov $9, %al
	jmp exit
do_int3:
	int3
	.globl after_int3
after_int3:
	mov $10, %al
	jmp exit
	/* Writes counter 1..5 then exits with 11; the tests watch counter. */
do_watch:
	mov $5, %ecx
1:	incl counter(%rip)
	.globl watch_loop_end
watch_loop_end:
	loop 1b
	mov $11, %al
	jmp exit
	/* Echo COM1 input back until a newline, then exit 12. */
do_echo:
	mov $COM1+5, %dx
1:	in %dx, %al
	test $1, %al
	jz 1b
	mov $COM1, %dx
	in %dx, %al
	call putc
	mov $COM1+5, %dx
	cmp $'\n', %al
	jne 1b
	mov $12, %al
	jmp exit
	/* Calls leaf three times (for breakpoints), exits 13. */
do_count:
	call leaf
	call leaf
	call leaf
	mov $13, %al
	jmp exit
	.globl leaf
leaf:	incl counter(%rip)
	ret
	/* A known number of instructions for the single-step counter. */
do_steps:
	mov $100, %ecx
1:	dec %ecx
	jnz 1b
	mov $14, %al
	jmp exit
do_reset:
	mov $0xfe, %al
	out %al, $0x64
	jmp do_reset
do_poweroff:
	mov $0x604, %dx
	mov $0x2000, %ax
	out %ax, %dx
	jmp do_poweroff
do_qemuexit:
	mov $0x501, %dx
	mov $5, %eax
	out %eax, %dx
	jmp do_qemuexit

putc:	push %rdx
	mov $COM1, %dx
	out %al, %dx
	pop %rdx
	ret
puts:	lodsb
	test %al, %al
	jz 1f
	call putc
	jmp puts
1:	ret

say_hello:
	lea hello_block(%rip), %rax
	mov $HC_PORT, %dx
	out %eax, %dx
	ret

/* Build 32 interrupt gates (Intel SDM Vol. 3A, 6.14.1) from stub_table. */
setup_idt:
	lea idt(%rip), %rdi
	lea stub_table(%rip), %rsi
	mov $32, %ecx
1:	mov (%rsi), %rax
	mov %ax, (%rdi)
	movw $0x08, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	add $16, %rdi
	add $8, %rsi
	loop 1b
	lidt idt_desc(%rip)
	ret

#define HAS_ERR(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || (v) == 13 || (v) == 14 || (v) == 17 || (v) == 21)
	.altmacro
	.macro stub v
stub_\v:
	.if HAS_ERR(\v)
	.else
	push $0
	.endif
	push $\v
	jmp common
	.endm
	.set i, 0
	.rept 32
	stub %i
	.set i, i+1
	.endr

/* The frame: error, vector, rax..r15 as struct ukw_frame. */
common:
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
	lea hc_block(%rip), %rdi
	movl $HC_MAGIC, (%rdi)
	movw $1, 6(%rdi)
	movl $0xffffffff, 12(%rdi)
	mov 120(%rsp), %rax		/* vector */
	cmp $3, %rax
	je 1f
	cmp $1, %rax
	je 2f
	movw $2, 4(%rdi)		/* CRASH */
	movl $16+224+256, 8(%rdi)
	mov %cr0, %rax
	mov %rax, 16+176(%rdi)
	mov %cr2, %rax
	mov %rax, 16+184(%rdi)
	mov %cr3, %rax
	mov %rax, 16+192(%rdi)
	mov %cr4, %rax
	mov %rax, 16+200(%rdi)
	mov 160(%rsp), %rsi		/* frame.rsp */
	mov %rsi, 16+208(%rdi)
	movl $256, 16+216(%rdi)
	movl $0, 16+220(%rdi)
	push %rdi
	add $16+224, %rdi
	mov $256, %ecx
	rep movsb
	pop %rdi
	jmp 3f
1:	movw $3, 4(%rdi)		/* BREAK */
	movl $16+176, 8(%rdi)
	jmp 3f
2:	movw $4, 4(%rdi)		/* DEBUG */
	movl $16+184, 8(%rdi)
	mov %dr6, %rax
	mov %rax, 16+176(%rdi)
3:	push %rdi
	lea 16(%rdi), %rdi
	lea 8(%rsp), %rsi
	mov $176, %ecx
	rep movsb
	pop %rax
	mov $HC_PORT, %dx
	out %eax, %dx
	/* Only reached without a ukw VMM: a crash exits 0x7f. */
	mov $0x7f, %al
	out %al, $0xf4
	hlt

	.section .rodata
hello:	.asciz "guest64: "
	.balign 8
	.macro stubaddr v
	.quad stub_\v
	.endm
stub_table:
	.set i, 0
	.rept 32
	stubaddr %i
	.set i, i+1
	.endr
	.balign 8
null_idt:
	.word 0
	.quad 0
idt_desc:
	.word 32*16-1
	.quad idt

	.data
	.balign 8
hello_block:
	.long HC_MAGIC
	.word 1, 1		/* HELLO, version 1 */
	.long 32
	.long 0xffffffff
	.quad 7			/* guest_features: BREAK, DEBUG, CRASH */
	.quad 0
	.balign 8
bad_block:
	.long 0x12345678	/* wrong magic */
	.word 1, 1
	.long 32
	.long 0xffffffff
	.quad 0, 0
	.globl counter
	.balign 8
counter: .quad 0

	.bss
	.balign 16
idt:	.skip 32*16
	.balign 8
hc_block: .skip 16+224+512
	.balign 16
	.skip 16384
stack_top:
