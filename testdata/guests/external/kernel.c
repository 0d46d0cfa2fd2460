/* external: prints on COM1 and exits with status 0x21 through port 0xf4. */
static inline void outb(unsigned short port, unsigned char v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(unsigned short port, unsigned v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline unsigned char inb(unsigned short port) { unsigned char v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void put(const char *s)
{
	for (; *s; s++) {
		while (!(inb(0x3fd) & 0x20))
			;
		outb(0x3f8, *s);
	}
}

void kmain(void)
{
	put("external: hello from a make-built kernel\n");
	outl(0xf4, 0x21);
}
