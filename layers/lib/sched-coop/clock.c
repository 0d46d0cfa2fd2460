/* lib/sched-coop: a busy clock from the TSC. Its rate comes from the
 * tsc_mhz option or is measured once against PIT channel 2 (Intel 8254
 * data sheet: mode 0 one-shot, gate through port 0x61 bit 0, output bit 5). */
#include <ukw/arch.h>
#include <ukw/sched.h>

#ifndef CONFIG_SCHED_COOP_TSC_MHZ
#define CONFIG_SCHED_COOP_TSC_MHZ 0
#endif

#define PIT_HZ 1193182
#define CAL_MS 10

static uint64_t tsc0, khz;

static uint64_t calibrate(void)
{
	if (CONFIG_SCHED_COOP_TSC_MHZ)
		return CONFIG_SCHED_COOP_TSC_MHZ * 1000ull;
	uint16_t count = PIT_HZ * CAL_MS / 1000;
	outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                        /* channel 2, lobyte/hibyte, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	uint64_t t0 = rdtsc();
	/* bounded: without a PIT the output bit never rises (or reads 1 at once) */
	for (int i = 0; i < 1000000 && !(inb(0x61) & 0x20); i++)
		;
	uint64_t k = (rdtsc() - t0) / CAL_MS;
	return k > 1000 ? k : 1000000; /* no usable PIT: assume 1 GHz */
}

uint64_t ukw_clock_ns(void)
{
	if (!khz) {
		khz = calibrate();
		tsc0 = rdtsc();
	}
	uint64_t d = rdtsc() - tsc0;
	return d / khz * 1000000 + d % khz * 1000000 / khz;
}
