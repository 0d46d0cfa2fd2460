/*
 * The libvirt test kernel: a tiny multiboot guest that the libvirt backend's
 * tests boot through a real libvirtd. It prints a greeting and its command
 * line on COM1, runs a short call chain the debugger tests break in, and
 * exits through the isa-debug-exit port 0xf4 with the status given as
 * "exit=N" on the command line (layers/README.md, "I/O ports"); with "hang"
 * on the command line it loops over the same call chain instead of exiting,
 * with "triple" it triple-faults, with "echo" it reads a line from COM1,
 * prints it back and exits with its length.
 */
#define COM1 0x3f8
#define EXIT_PORT 0xf4
#define MB_INFO_CMDLINE (1u << 2)

struct mb_info {
	unsigned int flags, mem_lower, mem_upper, boot_device, cmdline;
};

static inline void outb(unsigned short port, unsigned char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(unsigned short port, unsigned int v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void putc_serial(char c)
{
	while ((inb(COM1 + 5) & 0x20) == 0) /* LSR THRE */
		;
	outb(COM1, c);
}

void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static int has(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

static int parse_exit(const char *s)
{
	for (; *s; s++) {
		if (s[0] == 'e' && s[1] == 'x' && s[2] == 'i' && s[3] == 't' && s[4] == '=') {
			int v = 0;
			for (s += 5; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (*s - '0');
			return v;
		}
	}
	return 0;
}

/* leaf, middle and kmain form the call chain the backtrace test expects. */
volatile unsigned int counter;

__attribute__((noinline)) unsigned int leaf(unsigned int x)
{
	counter += x;
	return counter * 3;
}

__attribute__((noinline)) unsigned int middle(unsigned int n)
{
	unsigned int s = 0;
	for (unsigned int i = 1; i <= n; i++)
		s += leaf(i);
	return s;
}

void kmain(unsigned int magic, struct mb_info *mbi)
{
	const char *cmdline = "";
	puts_serial("hello from the ukw libvirt test kernel\n");
	if (magic == 0x2BADB002 && (mbi->flags & MB_INFO_CMDLINE))
		cmdline = (const char *)mbi->cmdline;
	puts_serial("cmdline: ");
	puts_serial(cmdline);
	puts_serial("\n");
	middle(3);
	if (has(cmdline, "echo")) {
		/* Read a line from COM1 (LSR bit 0: data ready), echo it, exit
		 * with its length. */
		char line[64];
		int n = 0;
		puts_serial("type a line\n");
		for (;;) {
			while ((inb(COM1 + 5) & 0x01) == 0)
				;
			char c = (char)inb(COM1);
			if (c == '\n' || c == '\r' || n == (int)sizeof(line) - 1)
				break;
			line[n++] = c;
		}
		line[n] = 0;
		puts_serial("echo: ");
		puts_serial(line);
		puts_serial("\n");
		outl(EXIT_PORT, (unsigned int)n);
	}
	if (has(cmdline, "triple")) {
		/* An empty IDT: the #BP cannot be delivered, nor the #DF: the CPU
		 * shuts down (Intel SDM Vol. 3A, 6.15, "Interrupt 8"). */
		static const struct { unsigned short limit; unsigned int base; } __attribute__((packed)) idt0 = {0, 0};
		puts_serial("triple fault\n");
		__asm__ volatile("lidt %0; int3" : : "m"(idt0));
	}
	if (has(cmdline, "hang")) {
		puts_serial("hanging\n");
		for (;;)
			middle(2);
	}
	puts_serial("bye\n");
	outl(EXIT_PORT, (unsigned int)parse_exit(cmdline));
}
