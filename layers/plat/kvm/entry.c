/* plat/kvm: from the boot entry to main(argc, argv) and back out through
 * the exit port (layers/README.md "Exit status conventions"). */
#include <ukw/arch.h>
#include <ukw/plat.h>
#include <ukw/hypercall.h>
#include "internal.h"

#ifndef CONFIG_KVM_ARGV_MAX
#define CONFIG_KVM_ARGV_MAX 32
#endif
#ifndef CONFIG_KVM_CMDLINE_MAX
#define CONFIG_KVM_CMDLINE_MAX 512
#endif
#ifndef UKW_APP_NAME
#define UKW_APP_NAME "app"
#endif

static uint64_t host_features;
static char args[CONFIG_KVM_CMDLINE_MAX];
static char *argv[CONFIG_KVM_ARGV_MAX + 1];

uint64_t ukw_host_features(void) { return host_features; }

static void puts_raw(const char *s)
{
	while (*s)
		ukw_console_putc(*s++);
}

static void put_hex(uint64_t v)
{
	puts_raw("0x");
	for (int i = 60; i >= 0; i -= 4)
		ukw_console_putc("0123456789abcdef"[v >> i & 15]);
}

/* split cuts the loader's command line into words at spaces and tabs;
 * "double quotes" group words. It reads at most cmdline_max - 1 bytes of
 * it (what ukw_cmdline keeps), so the words, each with its NUL, fit in
 * args: every word but the last ends at a separator it consumed. */
static int split(const char *s)
{
	int argc = 0;
	size_t o = 0, budget = sizeof args - 1;
	char c;
	while (argc < CONFIG_KVM_ARGV_MAX) {
		while (budget && ((c = *s) == ' ' || c == '\t'))
			s++, budget--;
		if (!budget || !*s)
			break;
		argv[argc++] = &args[o];
		int quoted = 0;
		for (; budget && (c = *s); s++, budget--) {
			if (c > '"') { /* neither a separator nor a quote */
				args[o++] = c;
			} else if (c == '"') {
				quoted = !quoted;
			} else if (!quoted && (c == ' ' || c == '\t')) {
				break;
			} else {
				args[o++] = c;
			}
		}
		args[o++] = 0;
	}
	argv[argc] = 0;
	return argc;
}

void ukw_plat_entry(uint64_t magic, uint64_t info)
{
	static struct ukw_hc_hello hello __attribute__((aligned(8)));
	hello.guest_features = &ukw_guest_features ? ukw_guest_features : 0;
	if (ukw_hypercall(&hello.h, UKW_HC_HELLO, sizeof hello) == 0)
		host_features = hello.host_features;
	ukw_console_init(host_features);

	if (magic != UKW_MULTIBOOT_MAGIC && magic != UKW_PVH_MAGIC) {
		puts_raw("ukw: unknown boot magic ");
		put_hex(magic);
		puts_raw(", no command line or memory map\n");
	}
	ukw_bootinfo_parse(magic, info);
	struct ukw_region h = ukw_heap_region();
	if (ukw_alloc_init)
		ukw_alloc_init(h.start, h.end);

	int argc = split(ukw_boot_cmdline());
	if (argc == 0) {
		argv[0] = UKW_APP_NAME;
		argv[1] = 0;
		argc = 1;
	}
	ukw_exit(main(argc, argv));
}

void ukw_exit(int status)
{
	outl(0xf4, (uint32_t)status);   /* isa-debug-exit */
	outw(0x604, 0x2000);            /* ACPI PM1a_CNT SLP_EN */
	cpu_halt_forever();
}

/* The default exception handler when lib/panic is not in the build. */
__attribute__((weak)) void ukw_trap(struct ukw_frame *f)
{
	puts_raw("\nukw: unhandled exception, vector ");
	put_hex(f->vector);
	puts_raw(" at rip ");
	put_hex(f->rip);
	puts_raw("\n");
	ukw_exit(0x7f);
}
