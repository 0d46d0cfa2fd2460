package symbols

import "fmt"

// DWARF register numbers for x86-64 (System V AMD64 psABI, Figure 3.36
// "DWARF Register Number Mapping"). RegRIP is the return-address column.
const (
	RegRAX = 0
	RegRDX = 1
	RegRCX = 2
	RegRBX = 3
	RegRSI = 4
	RegRDI = 5
	RegRBP = 6
	RegRSP = 7
	RegR8  = 8
	RegR9  = 9
	RegR10 = 10
	RegR11 = 11
	RegR12 = 12
	RegR13 = 13
	RegR14 = 14
	RegR15 = 15
	RegRIP = 16
	// NumRegs is the number of registers Regs holds.
	NumRegs = 17
)

// regNames are the psABI names of registers 0-16, in DWARF order.
var regNames = [NumRegs]string{"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"}

// RegName names DWARF register n ("rax", ..., "rip"; "r<n>" past 16).
func RegName(n int) string {
	if n >= 0 && n < NumRegs {
		return regNames[n]
	}
	return fmt.Sprintf("dwarf-reg%d", n)
}

// Regs is a register set in DWARF numbering. A register is known when its
// bit in Valid is set; unwinding leaves caller-saved registers unknown in
// caller frames (gdb's "<not saved>").
type Regs struct {
	R     [NumRegs]uint64
	Valid uint32
}

// AllRegs is a register set with every register known, from values in
// DWARF numbering (guest.Regs.DWARF gives them).
func AllRegs(r [NumRegs]uint64) Regs { return Regs{R: r, Valid: 1<<NumRegs - 1} }

// Set stores v in register n and marks it known.
func (r *Regs) Set(n int, v uint64) {
	if n >= 0 && n < NumRegs {
		r.R[n] = v
		r.Valid |= 1 << n
	}
}

// Get returns register n and whether it is known.
func (r *Regs) Get(n int) (uint64, bool) {
	if n < 0 || n >= NumRegs || r.Valid&(1<<n) == 0 {
		return 0, false
	}
	return r.R[n], true
}

// Forget marks register n unknown.
func (r *Regs) Forget(n int) {
	if n >= 0 && n < NumRegs {
		r.Valid &^= 1 << n
	}
}

// PC is the value of rip (0 if unknown).
func (r *Regs) PC() uint64 { return r.R[RegRIP] }

// SP is the value of rsp (0 if unknown).
func (r *Regs) SP() uint64 { return r.R[RegRSP] }

// calleeSaved reports whether the psABI preserves register n across calls
// (rbx, rbp, rsp, r12-r15; System V AMD64 psABI, Figure 3.4).
func calleeSaved(n int) bool {
	switch n {
	case RegRBX, RegRBP, RegRSP, RegR12, RegR13, RegR14, RegR15:
		return true
	}
	return false
}
