package kvm

import (
	"encoding/binary"
	"fmt"
)

// Offsets into struct kvm_run (include/uapi/linux/kvm.h, x86: no s390 psw).
const (
	RunImmediateExit = 1  // __u8 immediate_exit
	RunExitReason    = 8  // __u32 exit_reason
	RunIfFlag        = 13 // __u8 if_flag
	RunCR8           = 16 // __u64 cr8
	RunUnion         = 32 // the exit union, 256 bytes
	RunUnionSize     = 256
	// RunValidRegs is __u64 kvm_valid_regs: the KVM_SYNC_X86_* sets KVM
	// stores into kvm_run.s at every return of KVM_RUN (KVM_CAP_SYNC_REGS).
	RunValidRegs = RunUnion + RunUnionSize
	// RunSyncRegs is kvm_run.s.regs, struct kvm_sync_regs: struct
	// kvm_regs, then struct kvm_sregs (after kvm_dirty_regs).
	RunSyncRegs = RunValidRegs + 16
	// RunMinSize is the smallest run page DecodeExit accepts: everything up
	// to the end of the exit union.
	RunMinSize = RunUnion + RunUnionSize
)

// IOExit is the io member of the kvm_run exit union (KVM_EXIT_IO).
type IOExit struct {
	Out   bool // KVM_EXIT_IO_OUT
	Size  int  // bytes per access: 1, 2 or 4
	Port  uint16
	Count int // repetitions (rep ins/outs)
	// DataOffset is where the data lives, relative to the start of kvm_run.
	DataOffset uint64
}

// MMIOExit is the mmio member (KVM_EXIT_MMIO).
type MMIOExit struct {
	Addr    uint64
	Data    [8]byte
	Len     int
	IsWrite bool
}

// DebugExit is struct kvm_debug_exit_arch (KVM_EXIT_DEBUG).
type DebugExit struct {
	Exception uint32
	PC        uint64
	DR6       uint64
	DR7       uint64
}

// InternalExit is the internal member (KVM_EXIT_INTERNAL_ERROR).
type InternalExit struct {
	Suberror uint32
	Data     []uint64
}

// Exit is a decoded kvm_run exit: Reason plus the union member it selects.
type Exit struct {
	Reason uint32
	IF     bool // kvm_run.if_flag
	IO     IOExit
	MMIO   MMIOExit
	Debug  DebugExit
	// Internal is set for KVM_EXIT_INTERNAL_ERROR.
	Internal InternalExit
	// Hardware is hw.hardware_exit_reason (KVM_EXIT_UNKNOWN) or
	// fail_entry.hardware_entry_failure_reason (KVM_EXIT_FAIL_ENTRY).
	Hardware uint64
	// EventType is system_event.type (KVM_EXIT_SYSTEM_EVENT).
	EventType uint32
}

// DecodeExit decodes the exit described by a kvm_run page. It never reads
// outside run; a page shorter than RunMinSize is an error.
func DecodeExit(run []byte) (Exit, error) {
	if len(run) < RunMinSize {
		return Exit{}, fmt.Errorf("kvm_run page is %d bytes, need at least %d", len(run), RunMinSize)
	}
	le := binary.LittleEndian
	u := run[RunUnion : RunUnion+RunUnionSize]
	e := Exit{Reason: le.Uint32(run[RunExitReason:]), IF: run[RunIfFlag] != 0}
	switch e.Reason {
	case KVM_EXIT_IO:
		e.IO = IOExit{
			Out:        u[0] == KVM_EXIT_IO_OUT,
			Size:       int(u[1]),
			Port:       le.Uint16(u[2:]),
			Count:      int(le.Uint32(u[4:])),
			DataOffset: le.Uint64(u[8:]),
		}
	case KVM_EXIT_MMIO:
		e.MMIO.Addr = le.Uint64(u[0:])
		copy(e.MMIO.Data[:], u[8:16])
		e.MMIO.Len = int(le.Uint32(u[16:]))
		e.MMIO.IsWrite = u[20] != 0
	case KVM_EXIT_DEBUG:
		e.Debug = DebugExit{
			Exception: le.Uint32(u[0:]),
			PC:        le.Uint64(u[8:]),
			DR6:       le.Uint64(u[16:]),
			DR7:       le.Uint64(u[24:]),
		}
	case KVM_EXIT_INTERNAL_ERROR:
		e.Internal.Suberror = le.Uint32(u[0:])
		n := int(le.Uint32(u[4:]))
		if n > 16 {
			n = 16
		}
		for i := 0; i < n; i++ {
			e.Internal.Data = append(e.Internal.Data, le.Uint64(u[8+8*i:]))
		}
	case KVM_EXIT_UNKNOWN, KVM_EXIT_FAIL_ENTRY:
		e.Hardware = le.Uint64(u[0:])
	case KVM_EXIT_SYSTEM_EVENT:
		e.EventType = le.Uint32(u[0:])
	}
	return e, nil
}

// IOData returns the bytes of an IO exit's data inside the run page, bounds-checked.
func IOData(run []byte, io IOExit) ([]byte, error) {
	n := uint64(io.Size) * uint64(io.Count)
	if io.Size != 1 && io.Size != 2 && io.Size != 4 {
		return nil, fmt.Errorf("io exit with access size %d", io.Size)
	}
	if io.DataOffset > uint64(len(run)) || n > uint64(len(run))-io.DataOffset {
		return nil, fmt.Errorf("io exit data [%#x,+%d) outside the %d-byte run page", io.DataOffset, n, len(run))
	}
	return run[io.DataOffset : io.DataOffset+n], nil
}

// ExitName names a KVM exit reason, e.g. "KVM_EXIT_IO".
func ExitName(reason uint32) string {
	names := map[uint32]string{
		KVM_EXIT_UNKNOWN: "KVM_EXIT_UNKNOWN", KVM_EXIT_EXCEPTION: "KVM_EXIT_EXCEPTION",
		KVM_EXIT_IO: "KVM_EXIT_IO", KVM_EXIT_HYPERCALL: "KVM_EXIT_HYPERCALL",
		KVM_EXIT_DEBUG: "KVM_EXIT_DEBUG", KVM_EXIT_HLT: "KVM_EXIT_HLT",
		KVM_EXIT_MMIO: "KVM_EXIT_MMIO", KVM_EXIT_IRQ_WINDOW_OPEN: "KVM_EXIT_IRQ_WINDOW_OPEN",
		KVM_EXIT_SHUTDOWN: "KVM_EXIT_SHUTDOWN", KVM_EXIT_FAIL_ENTRY: "KVM_EXIT_FAIL_ENTRY",
		KVM_EXIT_INTR: "KVM_EXIT_INTR", KVM_EXIT_NMI: "KVM_EXIT_NMI",
		KVM_EXIT_INTERNAL_ERROR: "KVM_EXIT_INTERNAL_ERROR", KVM_EXIT_SYSTEM_EVENT: "KVM_EXIT_SYSTEM_EVENT",
	}
	if n, ok := names[reason]; ok {
		return n
	}
	return fmt.Sprintf("KVM_EXIT_%d", reason)
}
