package guest

import "fmt"

// Segment is an x86 segment register with its hidden part, as KVM keeps it
// (struct kvm_segment, Documentation/virt/kvm/api.rst, KVM_GET_SREGS).
type Segment struct {
	Selector uint16
	Base     uint64
	Limit    uint32
	// Attr holds the access rights in the VMX layout (Intel SDM Vol. 3C,
	// 24.4.1 "Guest Register State"): bits 0-3 type, 4 S, 5-6 DPL, 7 P,
	// 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable.
	Attr uint32
}

// Regs is the register state of one x86-64 vCPU.
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFLAGS                            uint64

	CS, DS, ES, FS, GS, SS, TR, LDTR Segment

	GDTBase, IDTBase   uint64
	GDTLimit, IDTLimit uint16

	CR0, CR2, CR3, CR4, CR8, EFER uint64

	// DR0-DR3 are DR[0..3]; DR6 and DR7 are the status and control registers.
	DR       [4]uint64
	DR6, DR7 uint64
}

// Reg names one register of Regs, for generic access (GDB p/P packets, the
// TUI's register pane, expression evaluation).
type Reg int

// The registers Reg can name, in the order the TUI shows them.
const (
	RAX Reg = iota
	RBX
	RCX
	RDX
	RSI
	RDI
	RBP
	RSP
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
	RIP
	RFLAGS
	CS
	SS
	DS
	ES
	FS
	GS
	FSBase
	GSBase
	CR0
	CR2
	CR3
	CR4
	CR8
	EFER
	DR0
	DR1
	DR2
	DR3
	DR6
	DR7
	NumRegs // the number of registers Reg can name
)

var regNames = [NumRegs]string{
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "rflags", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base",
	"cr0", "cr2", "cr3", "cr4", "cr8", "efer",
	"dr0", "dr1", "dr2", "dr3", "dr6", "dr7",
}

// String returns the register's lower-case name as gdb spells it ("rax", "fs_base").
func (r Reg) String() string {
	if r < 0 || r >= NumRegs {
		return fmt.Sprintf("reg%d", int(r))
	}
	return regNames[r]
}

// RegByName returns the register called name (gdb spelling, optional leading '$' or '%').
func RegByName(name string) (Reg, bool) {
	if len(name) > 0 && (name[0] == '$' || name[0] == '%') {
		name = name[1:]
	}
	switch name { // gdb's names for them
	case "eflags":
		return RFLAGS, true
	case "pc":
		return RIP, true
	case "sp":
		return RSP, true
	case "fp":
		return RBP, true
	}
	for i, n := range regNames {
		if n == name {
			return Reg(i), true
		}
	}
	return 0, false
}

func (r *Regs) ptr(reg Reg) *uint64 {
	switch reg {
	case RAX:
		return &r.RAX
	case RBX:
		return &r.RBX
	case RCX:
		return &r.RCX
	case RDX:
		return &r.RDX
	case RSI:
		return &r.RSI
	case RDI:
		return &r.RDI
	case RBP:
		return &r.RBP
	case RSP:
		return &r.RSP
	case R8:
		return &r.R8
	case R9:
		return &r.R9
	case R10:
		return &r.R10
	case R11:
		return &r.R11
	case R12:
		return &r.R12
	case R13:
		return &r.R13
	case R14:
		return &r.R14
	case R15:
		return &r.R15
	case RIP:
		return &r.RIP
	case RFLAGS:
		return &r.RFLAGS
	case FSBase:
		return &r.FS.Base
	case GSBase:
		return &r.GS.Base
	case CR0:
		return &r.CR0
	case CR2:
		return &r.CR2
	case CR3:
		return &r.CR3
	case CR4:
		return &r.CR4
	case CR8:
		return &r.CR8
	case EFER:
		return &r.EFER
	case DR0, DR1, DR2, DR3:
		return &r.DR[reg-DR0]
	case DR6:
		return &r.DR6
	case DR7:
		return &r.DR7
	}
	return nil
}

func (r *Regs) seg(reg Reg) *Segment {
	switch reg {
	case CS:
		return &r.CS
	case SS:
		return &r.SS
	case DS:
		return &r.DS
	case ES:
		return &r.ES
	case FS:
		return &r.FS
	case GS:
		return &r.GS
	}
	return nil
}

// Get returns the value of reg; a segment register yields its selector.
func (r *Regs) Get(reg Reg) uint64 {
	if p := r.ptr(reg); p != nil {
		return *p
	}
	if s := r.seg(reg); s != nil {
		return uint64(s.Selector)
	}
	return 0
}

// Set stores v into reg; a segment register takes v as its selector.
// It reports false for a register it does not know.
func (r *Regs) Set(reg Reg, v uint64) bool {
	if p := r.ptr(reg); p != nil {
		*p = v
		return true
	}
	if s := r.seg(reg); s != nil {
		s.Selector = uint16(v)
		return true
	}
	return false
}

// RFLAGS bits (Intel SDM Vol. 1, 3.4.3 "EFLAGS Register").
const (
	FlagCF = 1 << 0
	FlagPF = 1 << 2
	FlagAF = 1 << 4
	FlagZF = 1 << 6
	FlagSF = 1 << 7
	FlagTF = 1 << 8
	FlagIF = 1 << 9
	FlagDF = 1 << 10
	FlagOF = 1 << 11
	FlagRF = 1 << 16
	FlagVM = 1 << 17
	FlagAC = 1 << 18
)

// FlagsString decodes rflags the way gdb prints eflags: "[ ZF PF IF ]".
func FlagsString(rflags uint64) string {
	names := []struct {
		bit  uint64
		name string
	}{
		{FlagCF, "CF"}, {FlagPF, "PF"}, {FlagAF, "AF"}, {FlagZF, "ZF"}, {FlagSF, "SF"},
		{FlagTF, "TF"}, {FlagIF, "IF"}, {FlagDF, "DF"}, {FlagOF, "OF"}, {FlagRF, "RF"},
		{FlagVM, "VM"}, {FlagAC, "AC"},
	}
	s := "["
	for _, n := range names {
		if rflags&n.bit != 0 {
			s += " " + n.name
		}
	}
	return s + " ]"
}
