/* plat/kvm internals shared by its own sources. */
#ifndef UKW_PLAT_KVM_INTERNAL_H
#define UKW_PLAT_KVM_INTERNAL_H
#include <stdint.h>
void ukw_console_init(uint64_t host_features);
void ukw_bootinfo_parse(uint64_t magic, uint64_t info);
/* the loader's command line as it lies in memory ("" without one) */
const char *ukw_boot_cmdline(void);
#endif
