package vmm

import (
	"ukw/guest"
	"ukw/vmm/kvm"
)

// regsFromKVM copies the general registers of struct kvm_regs.
func regsFromKVM(k *kvm.Regs) guest.Regs {
	return guest.Regs{
		RAX: k.RAX, RBX: k.RBX, RCX: k.RCX, RDX: k.RDX, RSI: k.RSI, RDI: k.RDI, RBP: k.RBP, RSP: k.RSP,
		R8: k.R8, R9: k.R9, R10: k.R10, R11: k.R11, R12: k.R12, R13: k.R13, R14: k.R14, R15: k.R15,
		RIP: k.RIP, RFLAGS: k.RFLAGS,
	}
}

// kvmFromRegs is the inverse of regsFromKVM.
func kvmFromRegs(r *guest.Regs) kvm.Regs {
	return kvm.Regs{
		RAX: r.RAX, RBX: r.RBX, RCX: r.RCX, RDX: r.RDX, RSI: r.RSI, RDI: r.RDI, RSP: r.RSP, RBP: r.RBP,
		R8: r.R8, R9: r.R9, R10: r.R10, R11: r.R11, R12: r.R12, R13: r.R13, R14: r.R14, R15: r.R15,
		RIP: r.RIP, RFLAGS: r.RFLAGS,
	}
}

// segFromKVM packs struct kvm_segment's attribute bytes into the VMX
// access-rights layout guest.Segment uses (Intel SDM Vol. 3C, 24.4.1).
func segFromKVM(s kvm.Segment) guest.Segment {
	a := uint32(s.Type&0xf) | uint32(s.S&1)<<4 | uint32(s.DPL&3)<<5 | uint32(s.Present&1)<<7 |
		uint32(s.AVL&1)<<12 | uint32(s.L&1)<<13 | uint32(s.DB&1)<<14 | uint32(s.G&1)<<15 | uint32(s.Unusable&1)<<16
	return guest.Segment{Selector: s.Selector, Base: s.Base, Limit: s.Limit, Attr: a}
}

func kvmFromSeg(s guest.Segment) kvm.Segment {
	a := s.Attr
	b := func(bit uint) uint8 { return uint8(a >> bit & 1) }
	return kvm.Segment{Base: s.Base, Limit: s.Limit, Selector: s.Selector, Type: uint8(a & 0xf),
		S: b(4), DPL: uint8(a >> 5 & 3), Present: b(7), AVL: b(12), L: b(13), DB: b(14), G: b(15), Unusable: b(16)}
}

// fullRegs assembles guest.Regs from KVM's three register sets.
func fullRegs(k *kvm.Regs, s *kvm.Sregs, d *kvm.DebugRegs) guest.Regs {
	r := regsFromKVM(k)
	r.CS, r.DS, r.ES, r.FS, r.GS, r.SS = segFromKVM(s.CS), segFromKVM(s.DS), segFromKVM(s.ES), segFromKVM(s.FS), segFromKVM(s.GS), segFromKVM(s.SS)
	r.TR, r.LDTR = segFromKVM(s.TR), segFromKVM(s.LDT)
	r.GDTBase, r.GDTLimit, r.IDTBase, r.IDTLimit = s.GDT.Base, s.GDT.Limit, s.IDT.Base, s.IDT.Limit
	r.CR0, r.CR2, r.CR3, r.CR4, r.CR8, r.EFER = s.CR0, s.CR2, s.CR3, s.CR4, s.CR8, s.EFER
	if d != nil {
		r.DR, r.DR6, r.DR7 = d.DB, d.DR6, d.DR7
	}
	return r
}

// applySregs writes the segment, table and control registers of r into s.
func applySregs(s *kvm.Sregs, r *guest.Regs) {
	s.CS, s.DS, s.ES, s.FS, s.GS, s.SS = kvmFromSeg(r.CS), kvmFromSeg(r.DS), kvmFromSeg(r.ES), kvmFromSeg(r.FS), kvmFromSeg(r.GS), kvmFromSeg(r.SS)
	s.TR, s.LDT = kvmFromSeg(r.TR), kvmFromSeg(r.LDTR)
	s.GDT.Base, s.GDT.Limit, s.IDT.Base, s.IDT.Limit = r.GDTBase, r.GDTLimit, r.IDTBase, r.IDTLimit
	s.CR0, s.CR2, s.CR3, s.CR4, s.CR8, s.EFER = r.CR0, r.CR2, r.CR3, r.CR4, r.CR8, r.EFER
}
