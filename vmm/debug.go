package vmm

import (
	"fmt"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// Breakpoint strategies (guest.Caps.SWBreakStrategy / WatchStrategy).
const (
	stratKVMSWBP  = "kvm-sw-bp"
	stratCoopInt3 = "cooperative-int3"
	stratHWSlots  = "hw-slots"
	stratKVMHW    = "kvm-hw"
	stratCoopDB   = "cooperative-db"
	stratROSlot   = "readonly-memslot"
	int3          = 0xcc
	vectorDebug   = 1
	vectorBreak   = 3
	dr6SlotMask   = 0xf
	flagRF        = 1 << 16
)

// ensureProbe runs the capability probe once (a throwaway VM, ~2 ms).
func (v *vcpuState) ensureProbe() {
	if v.probed || v.sys == nil {
		return
	}
	p, err := probe(v.sys)
	v.probed = true
	if err != nil {
		p.notes = append(p.notes, "capability probe failed: "+err.Error()+"; assuming hardware breakpoints only")
		p.hwBP, p.singleStep = true, true
	}
	v.probe = p
	v.updateCaps()
}

// updateCaps derives the strategies from the probe and the guest's HELLO.
func (v *vcpuState) updateCaps() {
	if !v.probed {
		return // computed when the probe runs
	}
	p := v.probe
	c := guest.Caps{Backend: "kvm", Hypervisor: p.hypervisor, SingleStep: p.singleStep, Notes: p.notes}
	if p.hwBP {
		c.HWBreakpoints = 4
	}
	gf := v.dev.guestFeatures
	switch {
	case p.swBP:
		c.SWBreakStrategy = stratKVMSWBP
	case gf&GuestFeatureBreak != 0:
		c.SWBreakStrategy = stratCoopInt3
	case p.hwBP:
		c.SWBreakStrategy = stratHWSlots
	}
	c.SWBreakpoints = c.SWBreakStrategy != ""
	switch {
	case p.hwWatch:
		c.WatchStrategy = stratKVMHW
	case p.roSlot:
		c.WatchStrategy = stratROSlot
	case p.guestWatch && gf&GuestFeatureDebug != 0:
		c.WatchStrategy = stratCoopDB
	}
	c.Watchpoints = c.WatchStrategy != ""
	v.m.caps.Store(&c)
}

func (v *vcpuState) caps() guest.Caps { return *v.m.caps.Load() }

// setBreakpoint inserts bp by the strategy the probe chose.
func (v *vcpuState) setBreakpoint(bp guest.Breakpoint) error {
	if v.m.State() == guest.Finished {
		return guest.ErrFinished
	}
	v.ensureProbe()
	c := v.caps()
	switch bp.Kind {
	case guest.BreakHardware:
		if c.HWBreakpoints == 0 {
			return fmt.Errorf("hardware breakpoints: %w", guest.ErrUnsupported)
		}
		return v.allocSlot(bp)
	case guest.BreakSoftware:
		switch c.SWBreakStrategy {
		case stratKVMSWBP, stratCoopInt3:
			return v.plant(bp.Addr)
		case stratHWSlots:
			return v.allocSlot(bp)
		}
		return fmt.Errorf("software breakpoints: %w", guest.ErrUnsupported)
	case guest.WatchWrite, guest.WatchRead, guest.WatchAccess:
		if c.WatchStrategy == "" {
			return fmt.Errorf("%v: data watchpoints do not reach ukw on %s (see Caps().Notes): %w", bp.Kind, c.Hypervisor, guest.ErrUnsupported)
		}
		if c.WatchStrategy == stratROSlot {
			return v.setWatch(bp)
		}
		switch bp.Len {
		case 1, 2, 4, 8:
		default:
			return fmt.Errorf("watchpoint length %d: x86 debug registers watch 1, 2, 4 or 8 bytes", bp.Len)
		}
		if bp.Addr%uint64(bp.Len) != 0 {
			return fmt.Errorf("watchpoint at %#x is not aligned to its length %d", bp.Addr, bp.Len)
		}
		return v.allocSlot(bp)
	}
	return fmt.Errorf("breakpoint kind %d: %w", bp.Kind, guest.ErrUnsupported)
}

func (v *vcpuState) allocSlot(bp guest.Breakpoint) error {
	free := -1
	for i, s := range v.slots {
		if s.used && s.bp.Kind == bp.Kind && s.bp.Addr == bp.Addr && (!bp.Kind.IsWatch() || s.bp.Len == bp.Len) {
			return nil
		}
		if !s.used && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return guest.ErrNoSlots
	}
	v.slots[free] = slot{used: true, bp: bp}
	return nil
}

// plant writes an int3 at the virtual address addr, keeping the original byte.
func (v *vcpuState) plant(addr uint64) error {
	if _, ok := v.sw[addr]; ok {
		return nil
	}
	tr, err := v.mmu()
	if err != nil {
		return err
	}
	pa, err := tr.translate(v.mem, addr)
	if err != nil {
		return &guest.MemError{Addr: addr, Space: guest.Virtual, Why: err.Error()}
	}
	if pa >= uint64(len(v.mem)) {
		return &guest.MemError{Addr: addr, Space: guest.Virtual, Why: "outside guest RAM"}
	}
	v.sw[addr] = &swBreak{phys: pa, orig: v.mem[pa]}
	v.mem[pa] = int3
	return nil
}

func (v *vcpuState) clearBreakpoint(bp guest.Breakpoint) error {
	for i, s := range v.slots {
		if s.used && s.bp.Kind == bp.Kind && s.bp.Addr == bp.Addr {
			v.slots[i] = slot{}
			return nil
		}
	}
	if bp.Kind.IsWatch() && v.ws.remove(bp) {
		return nil
	}
	if bp.Kind == guest.BreakSoftware {
		if b, ok := v.sw[bp.Addr]; ok {
			if v.mem != nil {
				v.mem[b.phys] = b.orig
			}
			delete(v.sw, bp.Addr)
			return nil
		}
	}
	return fmt.Errorf("no %v at %#x", bp.Kind, bp.Addr)
}

// coopWatch reports whether watch slots are programmed into the guest's
// own debug registers (cooperative #DB), rather than KVM_SET_GUEST_DEBUG.
func (v *vcpuState) coopWatch() bool {
	if v.caps().WatchStrategy != stratCoopDB {
		return false
	}
	for _, s := range v.slots {
		if s.used && s.bp.Kind.IsWatch() {
			return true
		}
	}
	return false
}

// debugRegs returns DR0-3 and DR7 for the used slots, minus skip (-1: none).
func (v *vcpuState) debugRegs(skip int) ([4]uint64, uint64) {
	var dr [4]uint64
	var dr7 uint64
	for i, s := range v.slots {
		if !s.used || i == skip {
			continue
		}
		dr[i] = s.bp.Addr
		rw := uint64(dr7RWExec)
		switch s.bp.Kind {
		case guest.WatchWrite:
			rw = dr7RWWrite
		case guest.WatchRead, guest.WatchAccess:
			rw = dr7RWAccess // x86 has no read-only data breakpoint
		}
		dr7 |= dr7Enable(i, rw, s.bp.Len)
	}
	return dr, dr7
}

// applyDebug programs KVM_SET_GUEST_DEBUG (and, for cooperative watch
// points, the guest's own DR0-3/DR7) for the next run.
func (v *vcpuState) applyDebug(step bool) error {
	return v.applyDebugSkip(step, -1)
}

func (v *vcpuState) applyDebugSkip(step bool, skip int) error {
	if err := v.syncMemslots(); err != nil {
		return fmt.Errorf("watchpoint memslots: %w", err)
	}
	dr, dr7 := v.debugRegs(skip)
	var g kvm.GuestDebug
	coop := v.coopWatch()
	if dr7 != 0 && !coop {
		g.Control |= kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_USE_HW_BP
		copy(g.DebugReg[:4], dr[:])
		g.DebugReg[7] = dr7
	}
	if len(v.sw) > 0 && v.caps().SWBreakStrategy == stratKVMSWBP {
		g.Control |= kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_USE_SW_BP
	}
	if step {
		g.Control |= kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_SINGLESTEP
		if v.blockIRQ() {
			g.Control |= kvmGuestDbgBlockIRQ
		}
	}
	if coop || v.caps().WatchStrategy == stratCoopDB {
		d, err := v.cpu.GetDebugRegs()
		if err != nil {
			return err
		}
		if coop {
			d.DB, d.DR7 = dr, dr7
		} else {
			d.DR7 = 0
		}
		if err := v.cpu.SetDebugRegs(&d); err != nil {
			return err
		}
	}
	if v.dbgSet && g == v.dbg {
		return nil // KVM keeps it across runs (api.rst, KVM_SET_GUEST_DEBUG)
	}
	if err := v.cpu.SetGuestDebug(&g); err != nil {
		v.dbgSet = false
		return err
	}
	v.dbg, v.dbgSet = g, true
	return nil
}

// blockIRQ reports whether KVM can keep interrupts out of a single step
// (KVM_CAP_SET_GUEST_DEBUG2 lists KVM_GUESTDBG_BLOCKIRQ); asked once.
func (v *vcpuState) blockIRQ() bool {
	if v.dbgCaps < 0 {
		v.dbgCaps = int64(uint32(v.sys.CheckExtension(kvmCapSetGuestDebug2)))
	}
	return uint32(v.dbgCaps)&kvmGuestDbgBlockIRQ != 0
}

// stepOverBreakpoint single-steps past a breakpoint at rip with that
// breakpoint lifted, so that continuing does not hit it again at once
// (MACHINE.md: re-entering hits an execution breakpoint again).
func (v *vcpuState) stepOverBreakpoint() (done, stepped bool) {
	r := kvm.Regs{RIP: v.known.RIP}
	if !v.knownOK {
		var err error
		if r, err = v.cpu.GetRegs(); err != nil {
			return false, false
		}
	}
	skip := -1
	for i, s := range v.slots {
		if s.used && !s.bp.Kind.IsWatch() && s.bp.Addr == r.RIP {
			skip = i
		}
	}
	b, planted := v.sw[r.RIP]
	if skip < 0 && !planted {
		return false, false
	}
	if planted {
		v.mem[b.phys] = b.orig
	}
	if err := v.applyDebugSkip(true, skip); err != nil {
		v.finishFault(guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: err.Error()}, true)
		return true, false
	}
	_, done = v.runUntilDebug(true)
	if planted && v.mem != nil {
		if _, still := v.sw[r.RIP]; still {
			v.mem[b.phys] = int3
		}
	}
	return done, true
}

// undeliverable reports that the guest's IDT has no entry for vector:
// the CPU would raise #GP for it and, the IDT being shorter still, #DF and
// then shut down (Intel SDM Vol. 3A 6.10 "Interrupt Descriptor Table": a
// vector beyond the limit is a #GP; 6.15, interrupt 8: an exception while
// delivering #DF is a triple fault). With a #BP gate present the guest's
// own int3 is a debugger trap instead.
func (v *vcpuState) undeliverable(vector uint64) (string, bool) {
	r, err := v.regs()
	if err != nil {
		return "", false
	}
	gate := uint64(8) // protected mode
	if r.EFER&eferLMA != 0 {
		gate = 16 // long mode (6.14.1)
	}
	if uint64(r.IDTLimit) >= vector*gate+gate-1 {
		return "", false
	}
	return fmt.Sprintf("int3 with no IDT entry for vector %d (IDT limit %#x): the CPU raises #GP, "+
		"then #DF, then shuts down (a triple fault)", vector, r.IDTLimit), true
}

// classifyDebug turns a KVM_EXIT_DEBUG into a stop. It reports false for
// a debug exit that is not ours (the run continues).
func (v *vcpuState) classifyDebug(d kvm.DebugExit, step bool) bool {
	switch d.Exception {
	case vectorBreak:
		r, err := v.cpu.GetRegs()
		if err != nil {
			v.stop(guest.Stop{Reason: guest.StopTrap, PC: d.PC})
			return true
		}
		if _, ok := v.sw[r.RIP]; ok {
			v.stop(guest.Stop{Reason: guest.StopBreakpoint, PC: r.RIP})
			return true
		}
		if detail, ok := v.undeliverable(vectorBreak); ok {
			v.finishFault(guest.Fault{Kind: guest.FaultTripleFault, Vector: -1, Detail: detail}, true)
			return true
		}
		r.RIP++ // the guest's own int3: report it past the instruction, as the CPU would
		v.setKVMRegs(&r)
		v.stop(guest.Stop{Reason: guest.StopTrap})
		return true
	case vectorDebug:
		if s, ok := v.slotStop(d.DR6); ok {
			v.stop(s)
			return true
		}
		if step || d.DR6&dr6BS != 0 {
			v.stop(guest.Stop{Reason: guest.StopStep})
			return true
		}
	}
	return false
}

// slotStop maps DR6's B0-B3 bits to the breakpoint in that slot.
func (v *vcpuState) slotStop(dr6 uint64) (guest.Stop, bool) {
	for i, s := range v.slots {
		if dr6&(1<<i) == 0 || !s.used {
			continue
		}
		switch s.bp.Kind {
		case guest.BreakHardware:
			return guest.Stop{Reason: guest.StopHWBreakpoint}, true
		case guest.BreakSoftware:
			return guest.Stop{Reason: guest.StopBreakpoint}, true
		default:
			return guest.Stop{Reason: guest.StopWatchpoint, Addr: s.bp.Addr, Watch: s.bp.Kind}, true
		}
	}
	return guest.Stop{}, false
}

// frameStop handles BREAK and DEBUG: the guest's handler saved the
// interrupted state in a struct ukw_frame; put it back and stop there
// (layers/README.md, "Cooperative breakpoints and watchpoints").
func (v *vcpuState) frameStop(o *outcome) {
	r := o.frame.Regs
	r.RFLAGS &^= flagRF
	var s guest.Stop
	if o.hcNr == HcBreak {
		s.Reason = guest.StopTrap
		if _, ok := v.sw[r.RIP-1]; ok {
			r.RIP--
			s.Reason = guest.StopBreakpoint
		}
	} else if st, ok := v.slotStop(o.dr6); ok {
		s = st
	} else {
		s.Reason = guest.StopStep
	}
	if err := v.setKVMRegs(&r); err != nil {
		v.finishFault(guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: "restoring the frame of a BREAK/DEBUG hypercall: " + err.Error()}, true)
		return
	}
	v.stop(s)
}
