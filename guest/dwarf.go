package guest

// NumDWARFRegs is how many registers DWARF numbers for x86-64 in Regs: the
// sixteen general registers and the return-address column (rip).
const NumDWARFRegs = 17

// dwarfOrder maps DWARF register numbers to Regs (System V AMD64 psABI,
// Figure 3.36 "DWARF Register Number Mapping").
var dwarfOrder = [NumDWARFRegs]Reg{
	RAX, RDX, RCX, RBX, RSI, RDI, RBP, RSP,
	R8, R9, R10, R11, R12, R13, R14, R15, RIP,
}

// DWARF returns the general registers and rip indexed by DWARF number,
// the form package symbols unwinds from.
func (r *Regs) DWARF() [NumDWARFRegs]uint64 {
	var out [NumDWARFRegs]uint64
	for i, reg := range dwarfOrder {
		out[i] = r.Get(reg)
	}
	return out
}

// DWARFReg returns the Reg with DWARF number n.
func DWARFReg(n int) (Reg, bool) {
	if n < 0 || n >= NumDWARFRegs {
		return 0, false
	}
	return dwarfOrder[n], true
}
