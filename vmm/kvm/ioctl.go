package kvm

// ioctl number encoding for x86 (include/uapi/asm-generic/ioctl.h):
// bits 0-7 nr, 8-15 type, 16-29 size, 30-31 direction.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
)

// IOC builds an ioctl request number like the kernel's _IOC(dir, type, nr, size).
func IOC(dir, typ, nr, size uintptr) uintptr {
	return dir<<iocDirShift | typ<<iocTypeShift | nr<<iocNRShift | size<<iocSizeShift
}

// IO is the kernel's _IO(type, nr): no argument.
func IO(typ, nr uintptr) uintptr { return IOC(iocNone, typ, nr, 0) }

// IOR is the kernel's _IOR(type, nr, size): the kernel writes the argument.
func IOR(typ, nr, size uintptr) uintptr { return IOC(iocRead, typ, nr, size) }

// IOW is the kernel's _IOW(type, nr, size): the kernel reads the argument.
func IOW(typ, nr, size uintptr) uintptr { return IOC(iocWrite, typ, nr, size) }

// IOWR is the kernel's _IOWR(type, nr, size): both directions.
func IOWR(typ, nr, size uintptr) uintptr { return IOC(iocRead|iocWrite, typ, nr, size) }

// KVMIO is the ioctl type byte of every KVM ioctl (include/uapi/linux/kvm.h).
const KVMIO = 0xAE

// ioctl request numbers (include/uapi/linux/kvm.h). The sizes are those of
// the argument structs in types.go; TestIoctlNumbers recomputes each one.
const (
	KVM_GET_API_VERSION        = 0xAE00     // _IO(KVMIO, 0x00)
	KVM_CREATE_VM              = 0xAE01     // _IO(KVMIO, 0x01)
	KVM_CHECK_EXTENSION        = 0xAE03     // _IO(KVMIO, 0x03)
	KVM_GET_VCPU_MMAP_SIZE     = 0xAE04     // _IO(KVMIO, 0x04)
	KVM_GET_SUPPORTED_CPUID    = 0xC008AE05 // _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
	KVM_CREATE_VCPU            = 0xAE41     // _IO(KVMIO, 0x41)
	KVM_SET_USER_MEMORY_REGION = 0x4020AE46 // _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
	KVM_SET_TSS_ADDR           = 0xAE47     // _IO(KVMIO, 0x47)
	KVM_SET_IDENTITY_MAP_ADDR  = 0x4008AE48 // _IOW(KVMIO, 0x48, __u64)
	KVM_CREATE_IRQCHIP         = 0xAE60     // _IO(KVMIO, 0x60)
	KVM_IRQ_LINE               = 0x4008AE61 // _IOW(KVMIO, 0x61, struct kvm_irq_level)
	KVM_CREATE_PIT2            = 0x4040AE77 // _IOW(KVMIO, 0x77, struct kvm_pit_config)
	KVM_RUN                    = 0xAE80     // _IO(KVMIO, 0x80)
	KVM_GET_REGS               = 0x8090AE81 // _IOR(KVMIO, 0x81, struct kvm_regs)
	KVM_SET_REGS               = 0x4090AE82 // _IOW(KVMIO, 0x82, struct kvm_regs)
	KVM_GET_SREGS              = 0x8138AE83 // _IOR(KVMIO, 0x83, struct kvm_sregs)
	KVM_SET_SREGS              = 0x4138AE84 // _IOW(KVMIO, 0x84, struct kvm_sregs)
	KVM_TRANSLATE              = 0xC018AE85 // _IOWR(KVMIO, 0x85, struct kvm_translation)
	KVM_GET_MSRS               = 0xC008AE88 // _IOWR(KVMIO, 0x88, struct kvm_msrs)
	KVM_SET_MSRS               = 0x4008AE89 // _IOW(KVMIO, 0x89, struct kvm_msrs)
	KVM_SET_CPUID2             = 0x4008AE90 // _IOW(KVMIO, 0x90, struct kvm_cpuid2)
	KVM_GET_MP_STATE           = 0x8004AE98 // _IOR(KVMIO, 0x98, struct kvm_mp_state)
	KVM_SET_GUEST_DEBUG        = 0x4048AE9B // _IOW(KVMIO, 0x9b, struct kvm_guest_debug)
	KVM_GET_VCPU_EVENTS        = 0x8040AE9F // _IOR(KVMIO, 0x9f, struct kvm_vcpu_events)
	KVM_GET_DEBUGREGS          = 0x8080AEA1 // _IOR(KVMIO, 0xa1, struct kvm_debugregs)
	KVM_SET_DEBUGREGS          = 0x4080AEA2 // _IOW(KVMIO, 0xa2, struct kvm_debugregs)
)

// Capabilities for KVM_CHECK_EXTENSION (include/uapi/linux/kvm.h).
const (
	KVM_CAP_IRQCHIP               = 0
	KVM_CAP_SYNC_REGS             = 74
	KVM_SYNC_X86_REGS             = 1 << 0
	KVM_SYNC_X86_SREGS            = 1 << 1
	KVM_CAP_HLT                   = 1
	KVM_CAP_USER_MEMORY           = 3
	KVM_CAP_SET_TSS_ADDR          = 4
	KVM_CAP_NR_VCPUS              = 9
	KVM_CAP_NR_MEMSLOTS           = 10
	KVM_CAP_COALESCED_MMIO        = 15
	KVM_CAP_SET_GUEST_DEBUG       = 23
	KVM_CAP_PIT2                  = 33
	KVM_CAP_SET_IDENTITY_MAP_ADDR = 37
	KVM_CAP_DEBUGREGS             = 50
	KVM_CAP_X86_ROBUST_SINGLESTEP = 51
	KVM_CAP_XSAVE                 = 55
	KVM_CAP_MAX_VCPUS             = 66
	KVM_CAP_READONLY_MEM          = 81
	KVM_CAP_IMMEDIATE_EXIT        = 136
)

// kvm_userspace_memory_region.flags (include/uapi/linux/kvm.h; api.rst
// 4.35 KVM_SET_USER_MEMORY_REGION).
const (
	KVM_MEM_LOG_DIRTY_PAGES = 1 << 0
	// KVM_MEM_READONLY makes guest writes to the slot exit to user space
	// as KVM_EXIT_MMIO (needs KVM_CAP_READONLY_MEM); reads and
	// instruction fetches go to memory.
	KVM_MEM_READONLY = 1 << 1
)

// KVM_API_VERSION is the only API version this package speaks (api.rst 4.1).
const KVM_API_VERSION = 12

// Exit reasons in kvm_run.exit_reason (include/uapi/linux/kvm.h).
const (
	KVM_EXIT_UNKNOWN         = 0
	KVM_EXIT_EXCEPTION       = 1
	KVM_EXIT_IO              = 2
	KVM_EXIT_HYPERCALL       = 3
	KVM_EXIT_DEBUG           = 4
	KVM_EXIT_HLT             = 5
	KVM_EXIT_MMIO            = 6
	KVM_EXIT_IRQ_WINDOW_OPEN = 7
	KVM_EXIT_SHUTDOWN        = 8
	KVM_EXIT_FAIL_ENTRY      = 9
	KVM_EXIT_INTR            = 10
	KVM_EXIT_NMI             = 16
	KVM_EXIT_INTERNAL_ERROR  = 17
	KVM_EXIT_SYSTEM_EVENT    = 24
)

// KVM_EXIT_IO directions.
const (
	KVM_EXIT_IO_IN  = 0
	KVM_EXIT_IO_OUT = 1
)

// KVM_INTERNAL_ERROR_* suberrors (include/uapi/linux/kvm.h).
const (
	KVM_INTERNAL_ERROR_EMULATION   = 1
	KVM_INTERNAL_ERROR_SIMUL_EX    = 2
	KVM_INTERNAL_ERROR_DELIVERY_EV = 3
)

// kvm_guest_debug.control flags (include/uapi/linux/kvm.h and asm/kvm.h).
const (
	KVM_GUESTDBG_ENABLE     = 0x00000001
	KVM_GUESTDBG_SINGLESTEP = 0x00000002
	KVM_GUESTDBG_USE_SW_BP  = 0x00010000
	KVM_GUESTDBG_USE_HW_BP  = 0x00020000
	KVM_GUESTDBG_INJECT_DB  = 0x00040000
	KVM_GUESTDBG_INJECT_BP  = 0x00080000
)

// kvm_mp_state values (api.rst, KVM_GET_MP_STATE).
const (
	KVM_MP_STATE_RUNNABLE      = 0
	KVM_MP_STATE_UNINITIALIZED = 1
	KVM_MP_STATE_INIT_RECEIVED = 2
	KVM_MP_STATE_HALTED        = 3
)

// KVM_SYSTEM_EVENT_* types for KVM_EXIT_SYSTEM_EVENT.
const (
	KVM_SYSTEM_EVENT_SHUTDOWN = 1
	KVM_SYSTEM_EVENT_RESET    = 2
	KVM_SYSTEM_EVENT_CRASH    = 3
)

// MaxCPUIDEntries bounds the CPUID table (KVM_MAX_CPUID_ENTRIES is 256).
const MaxCPUIDEntries = 256

// MaxMSRs bounds one KVM_GET_MSRS/KVM_SET_MSRS call of this package.
const MaxMSRs = 32
