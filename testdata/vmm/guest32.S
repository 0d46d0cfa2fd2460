/*
 * guest32: a 32-bit test guest for package vmm, built three ways:
 *   -DMULTIBOOT      ELF32 with a Multiboot 1 header (flags 0x3)
 *   -DAOUT           flat binary with the a.out kludge (flags 0x10003)
 *   -DPVH            ELF32 with XEN_ELFNOTE_PHYS32_ENTRY
 * It checks the boot magic, prints "guest32 <how>: <cmdline>\n" on COM1 and
 * exits with the digit the command line starts with (0x40 if the boot
 * magic or info was wrong).
 */
#define COM1 0x3f8
	.code32
	.section .multiboot, "a"
#if defined(MULTIBOOT) || defined(AOUT)
	.balign 4
mbh:	.long 0x1BADB002
#ifdef AOUT
	.long 0x00010003
	.long -(0x1BADB002 + 0x00010003)
	.long mbh		/* header_addr */
	.long _text		/* load_addr */
	.long _edata		/* load_end_addr */
	.long _end		/* bss_end_addr */
	.long _start		/* entry_addr */
#else
	.long 0x00000003
	.long -(0x1BADB002 + 0x00000003)
#endif
#endif
#ifdef PVH
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start
	.balign 4
#endif

	.text
	.globl _start
_start:
	mov $stack_top, %esp
#ifdef PVH
	cmpl $0x336ec578, (%ebx)	/* hvm_start_info magic */
	jne bad
	mov 24(%ebx), %edi		/* cmdline_paddr */
	mov $how_pvh, %esi
#else
	cmp $0x2BADB002, %eax
	jne bad
	testl $4, (%ebx)		/* MBI flags: cmdline present */
	jz bad
	mov 16(%ebx), %edi
	mov $how_mb, %esi
#endif
	push %edi
	mov $hello, %esi
	call puts
#ifdef PVH
	mov $how_pvh, %esi
#else
	mov $how_mb, %esi
#endif
	call puts
	pop %esi
	push %esi
	call puts
	mov $'\n', %al
	call putc
	pop %esi
	movzbl (%esi), %eax
	sub $'0', %al
	out %al, $0xf4
1:	hlt
	jmp 1b
bad:	mov $0x40, %al
	out %al, $0xf4
	jmp bad

putc:	mov $COM1, %dx
	out %al, %dx
	ret
puts:	lodsb
	test %al, %al
	jz 1f
	call putc
	jmp puts
1:	ret

	.section .rodata
hello:	.asciz "guest32 "
how_mb:	.asciz "multiboot: "
how_pvh: .asciz "pvh: "
	.data
	.long 0
	.bss
	.balign 16
	.skip 4096
stack_top:
