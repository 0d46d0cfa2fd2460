/* faults: one CPU exception or VMM oddity per mode (argv[1]); see
 * testdata/guests/README.md for what each prints and its exit status. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ukw/arch.h>
#include <ukw/hypercall.h>

volatile uint64_t watched;
volatile int zero;

__attribute__((noinline)) static int recurse(int depth)
{
	volatile char pad[256];
	pad[0] = (char)depth;
	return recurse(depth + 1) + pad[0];
}

static void bad_hypercalls(void)
{
	static uint64_t space[16] __attribute__((aligned(8)));
	struct ukw_hc_header *h = (struct ukw_hc_header *)space;

	h->magic = 0x12345678; /* bad magic */
	h->nr = UKW_HC_HELLO;
	h->version = 1;
	h->size = 32;
	h->status = UKW_HC_NO_VMM;
	outl(UKW_HC_PORT, (uint32_t)(uint64_t)h);
	printf("badhc: bad magic -> status %#x\n", h->status);

	outl(UKW_HC_PORT, (uint32_t)(uint64_t)h + 4); /* misaligned */
	printf("badhc: misaligned block sent\n");

	outl(UKW_HC_PORT, 0xfff00000u); /* outside guest RAM */
	printf("badhc: block outside RAM sent\n");

	h->magic = UKW_HC_MAGIC;
	h->size = 0x100000; /* larger than 64 KiB */
	h->status = UKW_HC_NO_VMM;
	outl(UKW_HC_PORT, (uint32_t)(uint64_t)h);
	printf("badhc: oversized block -> status %#x\n", h->status);

	h->size = 16;
	h->nr = 999; /* unknown number */
	h->status = UKW_HC_NO_VMM;
	outl(UKW_HC_PORT, (uint32_t)(uint64_t)h);
	printf("badhc: unknown nr -> status %#x\n", h->status);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	printf("faults: mode %s\n", mode);
	if (!strcmp(mode, "pf")) {
		printf("faults: read %lx\n", *(volatile uint64_t *)0x40000000);
	} else if (!strcmp(mode, "null")) {
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "gp")) {
		printf("faults: read %lx\n", *(volatile uint64_t *)0x8000000000000000ull);
	} else if (!strcmp(mode, "ud")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(mode, "de")) {
		printf("faults: %d\n", 100 / zero);
	} else if (!strcmp(mode, "bp")) {
		__asm__ volatile("int3");
		printf("faults: resumed after int3\n");
	} else if (!strcmp(mode, "db")) {
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop" : : : "memory", "cc");
		printf("faults: resumed after single step\n");
	} else if (!strcmp(mode, "watch")) {
		/* DR7: L0 enable, R/W0 = 01 (writes), LEN0 = 10 (8 bytes); Intel SDM Vol. 3B 18.2 */
		uint64_t dr7 = 1 | (1ull << 16) | (2ull << 18);
		__asm__ volatile("mov %0, %%dr0; mov %1, %%dr7" : : "r"(&watched), "r"(dr7));
		watched = 42;
		printf("faults: wrote watched = %lu\n", watched);
	} else if (!strcmp(mode, "stack")) {
		printf("faults: %d\n", recurse(0));
	} else if (!strcmp(mode, "abort")) {
		abort();
	} else if (!strcmp(mode, "assert")) {
		assert(1 + 1 == 3);
	} else if (!strcmp(mode, "triple")) {
		struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty = { 0, 0 };
		__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	} else if (!strcmp(mode, "hang")) {
		printf("faults: hanging\n");
		for (;;)
			__asm__ volatile("" ::: "memory");
	} else if (!strcmp(mode, "port")) {
		outb(0x1234, 0x5a);
		printf("faults: port 0x1234 reads %#x\n", inb(0x1234));
		return 0;
	} else if (!strcmp(mode, "mmio")) {
		volatile uint32_t *mmio = (volatile uint32_t *)0x3ff00000;
		*mmio = 0xdeadbeef;
		printf("faults: mmio 0x3ff00000 reads %#x\n", *mmio);
		return 0;
	} else if (!strcmp(mode, "badhc")) {
		bad_hypercalls();
		return 0;
	} else if (!strcmp(mode, "exit") && argc > 2) {
		return atoi(argv[2]);
	} else {
		printf("faults: usage: faults pf|null|gp|ud|de|bp|db|watch|stack|abort|assert|triple|hang|port|mmio|badhc|exit N\n");
		return 2;
	}
	printf("faults: survived mode %s\n", mode);
	return 3;
}
