/* plat/kvm: COM1 console, a 16550A UART at 0x3f8. Under ukw (HELLO
 * host_features bit 0) the transmitter is always ready, so LSR polling,
 * one port read per byte, is skipped. */
#include <ukw/arch.h>
#include <ukw/plat.h>

#define COM1 0x3f8
#define LSR_THRE 0x20

static int fast;

void ukw_console_init(uint64_t host_features)
{
	fast = host_features & UKW_HOST_UART_READY;
	if (fast)
		return;
	outb(COM1 + 1, 0x00); /* IER: no interrupts */
	outb(COM1 + 3, 0x80); /* LCR: DLAB */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFO on, cleared */
}

void ukw_console_putc(char c)
{
	if (!fast) {
		/* bounded: a missing UART reads 0xff (THRE set) */
		for (int i = 0; i < 100000 && !(inb(COM1 + 5) & LSR_THRE); i++)
			cpu_pause();
	}
	outb(COM1, (uint8_t)c);
}

void ukw_console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ukw_console_putc(s[i]);
}
