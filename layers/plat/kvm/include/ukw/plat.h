/* plat/kvm: the platform services every other layer uses. */
#ifndef UKW_PLAT_H
#define UKW_PLAT_H

#include <stdint.h>
#include <stddef.h>

/* Console (COM1 16550). */
void ukw_console_write(const char *s, size_t n);
void ukw_console_putc(char c);

/* ukw_exit writes status to the isa-debug-exit port 0xf4 (QEMU exits with
 * (status << 1) | 1), then tries ACPI power-off, then halts. */
__attribute__((noreturn)) void ukw_exit(int status);

/* A memory region [start, end) the guest owns. */
struct ukw_region {
	uint64_t start, end;
};

/* ukw_heap_region is the free RAM after the kernel image, from the boot
 * memory map (the available region that contains the image). */
struct ukw_region ukw_heap_region(void);

/* ukw_cmdline is the kernel command line as the loader passed it. */
const char *ukw_cmdline(void);

/* ukw_host_features is what the VMM answered to HELLO (0 without ukw). */
uint64_t ukw_host_features(void);
#define UKW_HOST_UART_READY (1ull << 0)
#define UKW_HOST_BREAK_DEBUG (1ull << 1)
#define UKW_HOST_CONSOLE (1ull << 2)

/* Weak hooks other layers may define. */
extern const uint64_t ukw_guest_features __attribute__((weak));
void ukw_alloc_init(uint64_t start, uint64_t end) __attribute__((weak));

int main(int argc, char **argv);

#endif
