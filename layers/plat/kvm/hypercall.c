/* plat/kvm: hypercalls (layers/README.md "Hypercalls"). */
#include <ukw/hypercall.h>

uint32_t ukw_hypercall(struct ukw_hc_header *blk, uint16_t nr, uint32_t size)
{
	blk->magic = UKW_HC_MAGIC;
	blk->nr = nr;
	blk->version = UKW_HC_VERSION;
	blk->size = size;
	blk->status = UKW_HC_NO_VMM;
	__asm__ volatile("outl %0, %1" : : "a"((uint32_t)(uint64_t)blk), "Nd"(UKW_HC_PORT) : "memory");
	return *(volatile uint32_t *)&blk->status;
}
