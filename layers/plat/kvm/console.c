/* plat/kvm: COM1 console, a 16550A UART at 0x3f8. Under ukw the
 * transmitter is always ready (HELLO host_features bit 0), so LSR
 * polling, one port read per byte, is skipped; and a whole buffer goes
 * out with one CONSOLE hypercall (bit 2): one exit instead of one per
 * byte (layers/README.md). */
#include <ukw/arch.h>
#include <ukw/plat.h>
#include <ukw/hypercall.h>

#define COM1 0x3f8
#define LSR_THRE 0x20

static uint64_t features;

void ukw_console_init(uint64_t host_features)
{
	features = host_features;
	if (features & UKW_HOST_UART_READY)
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
	if (!(features & UKW_HOST_UART_READY)) {
		/* bounded: a missing UART reads 0xff (THRE set) */
		for (int i = 0; i < 100000 && !(inb(COM1 + 5) & LSR_THRE); i++)
			cpu_pause();
	}
	outb(COM1, (uint8_t)c);
}

void ukw_console_write(const char *s, size_t n)
{
	if (n > 1 && (features & UKW_HOST_CONSOLE)) {
		/* on the stack: an exception handler may print in the middle */
		struct ukw_hc_console blk __attribute__((aligned(8)));
		while (n) {
			size_t k = n < UKW_CONSOLE_MAX ? n : UKW_CONSOLE_MAX;
			blk.addr = (uint64_t)s; /* identity-mapped: virtual = physical */
			blk.len = k;
			if (ukw_hypercall(&blk.h, UKW_HC_CONSOLE, sizeof blk) != 0)
				break; /* refused: the rest byte by byte */
			s += k;
			n -= k;
		}
	}
	for (size_t i = 0; i < n; i++)
		ukw_console_putc(s[i]);
}
