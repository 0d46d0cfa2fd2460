package kvm

// Layout-exact copies of the kernel's argument structs
// (arch/x86/include/uapi/asm/kvm.h and include/uapi/linux/kvm.h).
// TestStructLayout compares sizes and offsets with the C definitions.

// Regs is struct kvm_regs (KVM_GET_REGS/KVM_SET_REGS). Note rsp before rbp.
type Regs struct {
	RAX, RBX, RCX, RDX uint64
	RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11   uint64
	R12, R13, R14, R15 uint64
	RIP, RFLAGS        uint64
}

// Segment is struct kvm_segment.
type Segment struct {
	Base     uint64
	Limit    uint32
	Selector uint16
	Type     uint8
	Present  uint8
	DPL      uint8
	DB       uint8
	S        uint8
	L        uint8
	G        uint8
	AVL      uint8
	Unusable uint8
	Padding  uint8
}

// DTable is struct kvm_dtable (GDTR/IDTR).
type DTable struct {
	Base    uint64
	Limit   uint16
	Padding [3]uint16
}

// Sregs is struct kvm_sregs (KVM_GET_SREGS/KVM_SET_SREGS).
type Sregs struct {
	CS, DS, ES, FS, GS, SS Segment
	TR, LDT                Segment
	GDT, IDT               DTable
	CR0, CR2, CR3, CR4     uint64
	CR8                    uint64
	EFER                   uint64
	APICBase               uint64
	InterruptBitmap        [4]uint64
}

// UserspaceMemoryRegion is struct kvm_userspace_memory_region.
type UserspaceMemoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	MemorySize    uint64
	UserspaceAddr uint64
}

// IRQLevel is struct kvm_irq_level (KVM_IRQ_LINE).
type IRQLevel struct {
	IRQ   uint32
	Level uint32
}

// PITConfig is struct kvm_pit_config (KVM_CREATE_PIT2).
type PITConfig struct {
	Flags uint32
	Pad   [15]uint32
}

// KVM_PIT_SPEAKER_DUMMY makes the in-kernel PIT emulate the speaker port 0x61.
const KVM_PIT_SPEAKER_DUMMY = 1

// Translation is struct kvm_translation (KVM_TRANSLATE).
type Translation struct {
	LinearAddress   uint64
	PhysicalAddress uint64
	Valid           uint8
	Writeable       uint8
	Usermode        uint8
	Pad             [5]uint8
}

// CPUIDEntry2 is struct kvm_cpuid_entry2.
type CPUIDEntry2 struct {
	Function uint32
	Index    uint32
	Flags    uint32
	EAX      uint32
	EBX      uint32
	ECX      uint32
	EDX      uint32
	Padding  [3]uint32
}

// CPUID2Header is the fixed part of struct kvm_cpuid2 (its size is the one
// encoded in KVM_GET_SUPPORTED_CPUID and KVM_SET_CPUID2).
type CPUID2Header struct {
	Nent    uint32
	Padding uint32
}

// CPUID2 is struct kvm_cpuid2 with room for MaxCPUIDEntries entries.
type CPUID2 struct {
	CPUID2Header
	Entries [MaxCPUIDEntries]CPUIDEntry2
}

// MSREntry is struct kvm_msr_entry.
type MSREntry struct {
	Index    uint32
	Reserved uint32
	Data     uint64
}

// MSRsHeader is the fixed part of struct kvm_msrs.
type MSRsHeader struct {
	NMSRs uint32
	Pad   uint32
}

// MSRs is struct kvm_msrs with room for MaxMSRs entries.
type MSRs struct {
	MSRsHeader
	Entries [MaxMSRs]MSREntry
}

// GuestDebug is struct kvm_guest_debug (KVM_SET_GUEST_DEBUG); DebugReg is
// struct kvm_guest_debug_arch: DR0-DR3, two unused, DR6, DR7.
type GuestDebug struct {
	Control  uint32
	Pad      uint32
	DebugReg [8]uint64
}

// DebugRegs is struct kvm_debugregs (KVM_GET_DEBUGREGS/KVM_SET_DEBUGREGS).
type DebugRegs struct {
	DB       [4]uint64
	DR6      uint64
	DR7      uint64
	Flags    uint64
	Reserved [9]uint64
}

// MPState is struct kvm_mp_state.
type MPState struct {
	State uint32
}

// VCPUEvents is struct kvm_vcpu_events (KVM_GET_VCPU_EVENTS).
type VCPUEvents struct {
	Exception struct {
		Injected     uint8
		Nr           uint8
		HasErrorCode uint8
		Pending      uint8
		ErrorCode    uint32
	}
	Interrupt struct {
		Injected uint8
		Nr       uint8
		Soft     uint8
		Shadow   uint8
	}
	NMI struct {
		Injected uint8
		Pending  uint8
		Masked   uint8
		Pad      uint8
	}
	SIPIVector uint32
	Flags      uint32
	SMI        struct {
		SMM          uint8
		Pending      uint8
		SMMInsideNMI uint8
		LatchedInit  uint8
	}
	TripleFault struct {
		Pending uint8
	}
	Reserved            [26]uint8
	ExceptionHasPayload uint8
	ExceptionPayload    uint64
}
