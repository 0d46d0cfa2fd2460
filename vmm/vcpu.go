package vmm

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// Addresses KVM needs for its own structures on Intel (api.rst,
// KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR): just below the BIOS
// area at 4 GiB, as QEMU and Firecracker place them.
const (
	tssAddr         = 0xfffbd000
	identityMapAddr = 0xfffbc000
	// consoleFlushAge bounds how long console bytes wait for a newline.
	consoleFlushAge = 5 * time.Millisecond
	consoleFlushLen = 4096
	// watchdogPeriod is how often a vCPU that made no exit is checked for
	// a hlt with interrupts off (which the in-kernel irqchip never reports).
	watchdogPeriod = 10 * time.Millisecond
	// kvmCapSetGuestDebug2 is KVM_CAP_SET_GUEST_DEBUG2: the supported control flags.
	kvmCapSetGuestDebug2 = 195
	kvmGuestDbgBlockIRQ  = 0x00100000 // KVM_GUESTDBG_BLOCKIRQ
	crashStackLen        = 512
)

// vcpuState is everything the vCPU thread owns.
type vcpuState struct {
	m   *Machine
	sys *kvm.System
	vm  *kvm.VM
	cpu *kvm.VCPU
	mem []byte
	dev *devices
	// irqchip: the VM has KVM's in-kernel PIC, IOAPIC, LAPIC and PIT.
	// Without them a hlt exits to user space (KVM_EXIT_HLT) and the
	// VMM's own PIT model answers ports 0x40-0x43 and 0x61.
	irqchip bool

	probed bool
	probe  probeResult
	slots  [4]slot
	sw     map[uint64]*swBreak // by virtual address
	ws     *watchSet           // watchpoints by read-only memslots and holes (watch.go)
	// memslots is the slot layout applied to the VM, by slot id.
	memslots map[uint32]memslot

	conBuf   []byte
	conSince time.Time
	conFirst bool
	started  bool
	runStart time.Time
	budget   time.Duration // remaining Config.Timeout
	closed   bool

	// known holds the registers as last read from KVM while knownOK:
	// from a stop until the next KVM_RUN or register change (view.go).
	known   guest.Regs
	knownOK bool

	// dbg is the KVM_SET_GUEST_DEBUG last applied (when dbgSet): a step
	// or run that needs the same sets nothing. dbgCaps caches
	// KVM_CAP_SET_GUEST_DEBUG2 (-1: not asked yet).
	dbg     kvm.GuestDebug
	dbgSet  bool
	dbgCaps int64

	// syncRegs: KVM stores regs and sregs into kvm_run at each return of
	// KVM_RUN (KVM_CAP_SYNC_REGS); synced: that copy is current (no
	// SetRegs/SetSregs since), so a stop reads them without two ioctls.
	syncRegs, synced bool

	// lateReply is the reply channel of a Step not yet answered (resume).
	lateReply chan error

	// The halt watchdog (armHaltWatch).
	haltTimer *time.Timer
	haltArmed atomic.Bool
	haltLast  atomic.Uint64
}

type slot struct {
	used bool
	bp   guest.Breakpoint
}

type swBreak struct {
	phys uint64
	orig byte
}

// boot creates the VM, loads the image and prepares the vCPU at entry.
// It runs on the vCPU thread.
func (m *Machine) boot() (*vcpuState, error) {
	// ukw's own images (the ukw note) poll and never enable interrupts, so
	// they get no in-kernel irqchip and PIT: creating them costs up to
	// 8 ms here and closing a VM that has them 15-250 ms (kvm-pvm,
	// measured), against well under 1 ms without. The VMM models the PIT
	// in user space for them (pit.go). Other kernels keep both.
	irqchip := m.image.Kind != EntryUKW64
	booted := time.Now()
	v := &vcpuState{m: m, irqchip: irqchip, sw: map[uint64]*swBreak{}, budget: m.cfg.Timeout, ws: newWatchSet(), dbgCaps: -1,
		dev: newDevices(m.cfg.StrictIO, !irqchip, func() time.Duration { return time.Since(booted) })}
	v.dev.watch = v.ws
	ok := false
	defer func() {
		if !ok {
			v.teardown()
		}
	}()
	var err error
	if v.sys, err = kvm.Open(kvmDevice); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	m.mark("open")
	if v.vm, err = v.sys.CreateVM(); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	if err := v.vm.SetTSSAddr(tssAddr); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	if err := v.vm.SetIdentityMapAddr(identityMapAddr); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	// Guest RAM first: on kvm-pvm, KVM_SET_USER_MEMORY_REGION takes 5-20 ms
	// once the in-kernel irqchip exists and ~0.1 ms before it (measured).
	v.mem, err = unix.Mmap(-1, 0, int(m.memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("vmm: guest RAM: %w", err)
	}
	if err := v.vm.SetUserMemoryRegion(0, 0, 0, v.mem); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	v.memslots = map[uint32]memslot{0: {gpa: 0, size: m.memSize}}
	m.mark("memory")
	if irqchip {
		if err := v.vm.CreateIRQChip(); err != nil {
			return nil, fmt.Errorf("vmm: %w", err)
		}
		if err := v.vm.CreatePIT2(kvm.KVM_PIT_SPEAKER_DUMMY); err != nil {
			return nil, fmt.Errorf("vmm: %w", err)
		}
		m.mark("irqchip")
	}
	st, err := Load(m.image, v.mem, m.cfg.Cmdline, m.modules)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", m.cfg.Image, err)
	}
	m.mark("load")
	if v.cpu, err = v.vm.CreateVCPU(0); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	cpuid, err := v.sys.SupportedCPUID()
	if err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	if err := v.cpu.SetCPUID2(cpuid); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	const syncMask = kvm.KVM_SYNC_X86_REGS | kvm.KVM_SYNC_X86_SREGS
	if uint64(v.sys.CheckExtension(kvm.KVM_CAP_SYNC_REGS))&syncMask == syncMask {
		v.cpu.SyncRegs(syncMask)
		v.syncRegs = true
	}
	sregs, err := v.cpu.GetSregs()
	if err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	EntrySregs(&sregs, st.Long)
	if err := v.cpu.SetSregs(&sregs); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	if err := v.cpu.SetRegs(&st.Regs); err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	m.kickMu.Lock()
	m.kickCPU = v.cpu
	m.kickMu.Unlock()
	m.mark("vcpu ready")
	ok = true
	return v, nil
}

// teardown releases every handle; safe on a partly built state.
func (v *vcpuState) teardown() {
	if v.haltTimer != nil {
		v.haltTimer.Stop()
	}
	v.hideView()
	v.knownOK = false
	v.m.kickMu.Lock()
	if v.m.kickCPU == v.cpu {
		v.m.kickCPU = nil
	}
	v.m.kickMu.Unlock()
	if v.cpu != nil {
		v.cpu.Close()
	}
	if v.vm != nil {
		v.vm.Close()
	}
	if v.sys != nil {
		v.sys.Close()
	}
	if v.mem != nil {
		unix.Munmap(v.mem)
		v.mem = nil
	}
	v.closed = true
}

// run enters the guest until a stop, exit or fault has been published.
func (v *vcpuState) run(step bool) {
	m := v.m
	if !v.started {
		v.started = true
		v.runStart = time.Now()
		m.mark("first instruction")
	}
	m.haltCheck.Store(false)
	stopWatch := v.startWatchdog()
	defer stopWatch()
	if m.cfg.Timeout > 0 && v.budget <= 0 {
		v.finishFault(guest.Fault{Kind: guest.FaultTimeout, Vector: -1, Detail: fmt.Sprintf("ran past the %v timeout", m.cfg.Timeout)}, true)
		return
	}
	if done, stepped := v.stepOverBreakpoint(); done {
		return
	} else if stepped && step {
		v.stop(guest.Stop{Reason: guest.StopStep})
		return
	}
	if err := v.applyDebug(step); err != nil {
		v.finishFault(guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: err.Error()}, true)
		return
	}
	for {
		dbg, done := v.runUntilDebug(step)
		if done || v.classifyDebug(dbg, step) {
			return
		}
	}
}

// runUntilDebug runs the guest, handling exits, until a KVM_EXIT_DEBUG
// (returned) or a published end of the run (done).
func (v *vcpuState) runUntilDebug(step bool) (kvm.DebugExit, bool) {
	m := v.m
	for {
		if m.pending.Load() > 0 && v.onKick() {
			return kvm.DebugExit{}, true
		}
		v.knownOK = false
		err := v.cpu.Run()
		v.synced = v.syncRegs
		m.exits.Add(1)
		if errors.Is(err, kvm.ErrInterrupted) {
			v.cpu.SetImmediateExit(false)
			if v.onKick() {
				return kvm.DebugExit{}, true
			}
			continue
		}
		if err != nil {
			v.finishFault(guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: err.Error()}, true)
			return kvm.DebugExit{}, true
		}
		e, err := v.cpu.Exit()
		if err != nil {
			v.finishFault(guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: err.Error()}, true)
			return kvm.DebugExit{}, true
		}
		o := v.dev.handle(e, v.cpu.RunPage(), v.mem)
		if dbg, isDebug, done := v.apply(&o); done || isDebug {
			return dbg, done
		}
	}
}

// apply carries out an outcome. It reports a debug exit to classify, or
// that the run ended.
func (v *vcpuState) apply(o *outcome) (kvm.DebugExit, bool, bool) {
	m := v.m
	if len(o.console) > 0 {
		v.console(o.console)
	}
	if len(o.logs) > 0 {
		v.flushConsole()
		for _, l := range o.logs {
			m.Publish(guest.LogEvent{Msg: l})
		}
	}
	if o.irq != nil && v.irqchip {
		if err := v.vm.IRQLine(irqCOM1, *o.irq); err != nil {
			m.Publish(guest.LogEvent{Msg: "COM1 interrupt: " + err.Error()})
		}
	}
	if o.trace != nil {
		v.flushConsole()
		m.Publish(guest.TraceEvent{Ring: *o.trace})
	}
	if o.hello {
		v.updateCaps()
	}
	switch o.kind {
	case outExit:
		v.finishExit(o.exit)
		return kvm.DebugExit{}, false, true
	case outFault:
		v.finishFault(o.fault, false)
		return kvm.DebugExit{}, false, true
	case outNeedRegs:
		v.finishFault(o.fault, true)
		return kvm.DebugExit{}, false, true
	case outFrameStop:
		v.frameStop(o)
		return kvm.DebugExit{}, false, true
	case outDebug:
		return o.debug, true, false
	case outInterrupted:
		return kvm.DebugExit{}, false, v.onKick()
	case outWatch:
		v.watchStop(o.watch)
		return kvm.DebugExit{}, false, true
	}
	return kvm.DebugExit{}, false, false
}

// onKick handles the reasons a vCPU is kicked out of KVM_RUN. It reports
// whether the run ended.
func (v *vcpuState) onKick() bool {
	m := v.m
	v.replyNow()
	if m.wantKill.Load() {
		v.finishExit(guest.Exit{How: guest.ExitKilled})
		return true
	}
	if m.timedOut.Load() {
		v.finishFault(guest.Fault{Kind: guest.FaultTimeout, Vector: -1, Detail: fmt.Sprintf("ran past the %v timeout", m.cfg.Timeout)}, true)
		return true
	}
	if m.wantIntr.Swap(false) {
		v.stop(guest.Stop{Reason: guest.StopInterrupt})
		return true
	}
	v.serveRequests()
	if m.State() == guest.Finished {
		return true
	}
	if m.haltCheck.Swap(false) {
		if st, err := v.cpu.GetMPState(); err == nil && st == kvm.KVM_MP_STATE_HALTED {
			if r, err := v.cpu.GetRegs(); err == nil && r.RFLAGS&guest.FlagIF == 0 {
				v.finishExit(guest.Exit{How: guest.ExitHalted})
				return true
			}
		}
	}
	if len(v.conBuf) > 0 {
		v.flushConsole()
	}
	return false
}

// serveRequests answers the requests sent while the guest runs and feeds
// console input. Requests send announced (pending) are waited for:
// their senders are between the announcement and the send.
func (v *vcpuState) serveRequests() {
	m := v.m
	for {
		var r *request
		select {
		case r = <-m.reqs:
		case p := <-m.consoleIn:
			v.feedConsole(p)
			continue
		default:
			if m.pending.Load() <= 0 {
				return
			}
			select {
			case r = <-m.reqs:
			case p := <-m.consoleIn:
				v.feedConsole(p)
				continue
			}
		}
		m.pending.Add(-1)
		if r.needStop || r.then != nil {
			r.reply <- guest.ErrRunning
		} else {
			r.reply <- r.fn()
		}
	}
}

// startWatchdog arms the timeout and the halted-vCPU check for one run.
// Neither starts a goroutine to wait for at the end of the run (a single
// step used to pay for one, and the wait put the vCPU thread to sleep
// once more).
func (v *vcpuState) startWatchdog() func() {
	m := v.m
	started := time.Now()
	var timer *time.Timer
	if m.cfg.Timeout > 0 && v.budget > 0 {
		timer = time.AfterFunc(v.budget, func() { m.timedOut.Store(true); m.kick() })
	}
	if v.irqchip { // without it a hlt exits to user space: no check needed
		v.armHaltWatch()
	}
	return func() {
		if timer != nil {
			timer.Stop()
			v.budget -= time.Since(started)
		}
	}
}

// armHaltWatch makes sure the halt watchdog ticks while the guest runs:
// every watchdog period in which the vCPU made no exit it kicks the
// vCPU, so that onKick can look for a hlt with interrupts off (which the
// in-kernel irqchip never reports). The timer outlives a run and stops
// itself at the first tick that finds the guest not running, so a series
// of single steps arms it once instead of adding and removing a timer
// (and waking the thread that sleeps in the netpoller) per step. A hlt is
// found 10-20 ms after the last exit.
func (v *vcpuState) armHaltWatch() {
	if v.haltArmed.Swap(true) {
		return
	}
	if v.haltTimer == nil {
		// Made stopped, then set going, so that the tick sees the field set.
		v.haltTimer = time.AfterFunc(time.Hour, v.haltTick)
		v.haltTimer.Stop()
	}
	v.haltTimer.Reset(watchdogPeriod)
}

// haltTick runs on the timer's goroutine.
func (v *vcpuState) haltTick() {
	m := v.m
	if m.State() != guest.Running {
		v.haltArmed.Store(false)
		// A run that started meanwhile saw the timer armed: re-arm for it.
		if m.State() != guest.Running || v.haltArmed.Swap(true) {
			return
		}
	} else if n := m.exits.Load(); n == v.haltLast.Load() {
		m.haltCheck.Store(true)
		m.kick()
	} else {
		v.haltLast.Store(n)
	}
	v.haltTimer.Reset(watchdogPeriod)
}

func (v *vcpuState) feedConsole(p []byte) {
	v.dev.uart.push(p...)
	if lvl := v.dev.uart.irq(); lvl != v.dev.irqLevel {
		v.dev.irqLevel = lvl
		if v.irqchip {
			v.vm.IRQLine(irqCOM1, lvl)
		}
	}
}

func (v *vcpuState) console(b []byte) {
	if !v.conFirst {
		v.conFirst = true
		v.m.mark("first console byte")
	}
	if len(v.conBuf) == 0 {
		v.conSince = time.Now()
	}
	v.conBuf = append(v.conBuf, b...)
	if b[len(b)-1] == '\n' || len(v.conBuf) >= consoleFlushLen || time.Since(v.conSince) > consoleFlushAge {
		v.flushConsole()
	}
}

func (v *vcpuState) flushConsole() {
	if len(v.conBuf) == 0 {
		return
	}
	v.m.Publish(guest.ConsoleEvent{Data: v.conBuf})
	v.conBuf = nil
}

func (v *vcpuState) finishExit(x guest.Exit) {
	v.flushConsole()
	if v.started {
		x.Elapsed = time.Since(v.runStart)
	}
	v.m.mark("exit")
	v.hideView()
	v.m.state.Store(int32(guest.Finished))
	v.m.Publish(guest.ExitEvent{Exit: x})
}

// finishFault publishes a fault; withRegs fills the registers and a copy
// of the stack from the vCPU (a fault the guest did not describe itself).
func (v *vcpuState) finishFault(f guest.Fault, withRegs bool) {
	v.flushConsole()
	if withRegs {
		if r, err := v.regs(); err == nil {
			f.Regs = r
		}
	} else if s, err := v.cpu.GetSregs(); err == nil {
		// The crash record has GPRs and control registers; add the rest.
		full := fullRegs(&kvm.Regs{}, &s, nil)
		cs, ss := f.Regs.CS.Selector, f.Regs.SS.Selector
		f.Regs.CS, f.Regs.DS, f.Regs.ES, f.Regs.FS, f.Regs.GS, f.Regs.SS = full.CS, full.DS, full.ES, full.FS, full.GS, full.SS
		f.Regs.CS.Selector, f.Regs.SS.Selector = cs, ss
		f.Regs.EFER, f.Regs.GDTBase, f.Regs.GDTLimit, f.Regs.IDTBase, f.Regs.IDTLimit = full.EFER, full.GDTBase, full.GDTLimit, full.IDTBase, full.IDTLimit
	}
	if len(f.Stack) == 0 && f.Regs.RSP != 0 {
		buf := make([]byte, crashStackLen)
		n := v.readPartial(f.Regs.RSP, buf)
		if n > 0 {
			f.StackAddr, f.Stack = f.Regs.RSP, buf[:n]
		}
	}
	if v.started {
		f.Detail += fmt.Sprintf(" (after %v)", time.Since(v.runStart).Round(time.Microsecond))
	}
	v.m.mark("exit")
	v.hideView()
	v.m.state.Store(int32(guest.Finished))
	v.m.Publish(guest.FaultEvent{Fault: f})
}

// stop publishes a stop; the machine is stopped when subscribers see it.
func (v *vcpuState) stop(s guest.Stop) {
	v.flushConsole()
	if r, err := v.regs(); err == nil {
		s.Regs = r
		if s.PC == 0 {
			s.PC = r.RIP
		}
		v.showView(r)
	}
	v.m.state.Store(int32(guest.Stopped))
	v.m.Publish(guest.StopEvent{Stop: s})
}

// regs reads the full register set (general and segment registers from
// kvm_run when KVM synced them at the last exit).
func (v *vcpuState) regs() (guest.Regs, error) {
	k, s, err := v.kvmRegs()
	if err != nil {
		return guest.Regs{}, err
	}
	d, err := v.cpu.GetDebugRegs()
	if err != nil {
		return fullRegs(&k, &s, nil), nil
	}
	return fullRegs(&k, &s, &d), nil
}

// kvmRegs returns struct kvm_regs and kvm_sregs: the copy KVM stored in
// kvm_run at the last exit while it is current, else by ioctl.
func (v *vcpuState) kvmRegs() (kvm.Regs, kvm.Sregs, error) {
	if v.synced {
		k, s := v.cpu.SyncedRegs()
		return k, s, nil
	}
	k, err := v.cpu.GetRegs()
	if err != nil {
		return kvm.Regs{}, kvm.Sregs{}, err
	}
	s, err := v.cpu.GetSregs()
	return k, s, err
}

// setKVMRegs is KVM_SET_REGS; the synced copy is stale after it.
func (v *vcpuState) setKVMRegs(k *kvm.Regs) error {
	v.synced = false
	return v.cpu.SetRegs(k)
}

// setRegs writes general, segment and control registers (debug registers
// belong to the breakpoint code).
func (v *vcpuState) setRegs(r *guest.Regs) error {
	v.hideView()
	defer v.refreshView()
	k := kvmFromRegs(r)
	if err := v.setKVMRegs(&k); err != nil {
		return err
	}
	s, err := v.cpu.GetSregs()
	if err != nil {
		return err
	}
	applySregs(&s, r)
	return v.cpu.SetSregs(&s)
}

func (v *vcpuState) mmu() (mmu, error) {
	if v.knownOK {
		return mmuOf(&v.known), nil
	}
	s, err := v.cpu.GetSregs()
	if err != nil {
		return mmu{}, err
	}
	return mmu{cr0: s.CR0, cr3: s.CR3, cr4: s.CR4, efer: s.EFER}, nil
}

// access reads or writes guest memory page by page, bounds-checked, with
// planted int3 bytes hidden from reads and preserved across writes.
func (v *vcpuState) access(space guest.AddrSpace, addr uint64, buf []byte, write bool) error {
	if v.mem == nil {
		return guest.ErrFinished
	}
	var tr mmu
	if space == guest.Virtual {
		var err error
		if tr, err = v.mmu(); err != nil {
			return err
		}
	}
	return accessMem(v.mem, tr, v.sw, space, addr, buf, write)
}

// accessMem reads or writes mem (guest RAM from physical 0) page by page
// through the paging state tr, bounds-checked; reads see the original
// bytes under the int3s in sw, writes keep those int3s planted (and their
// new original bytes).
func accessMem(mem []byte, tr mmu, sw map[uint64]*swBreak, space guest.AddrSpace, addr uint64, buf []byte, write bool) error {
	for done := 0; done < len(buf); {
		a := addr + uint64(done)
		n := 4096 - int(a&4095)
		if n > len(buf)-done {
			n = len(buf) - done
		}
		pa := a
		if space == guest.Virtual {
			var err error
			if pa, err = tr.translate(mem, a); err != nil {
				return &guest.MemError{Addr: a, Space: space, Why: err.Error()}
			}
		}
		if pa >= uint64(len(mem)) || uint64(n) > uint64(len(mem))-pa {
			return &guest.MemError{Addr: a, Space: space, Why: "outside guest RAM"}
		}
		chunk := buf[done : done+n]
		if write {
			copy(mem[pa:], chunk)
		} else {
			copy(chunk, mem[pa:pa+uint64(n)])
		}
		for _, b := range sw {
			if b.phys >= pa && b.phys < pa+uint64(n) {
				if write {
					b.orig = mem[b.phys]
					mem[b.phys] = int3
				} else {
					chunk[b.phys-pa] = b.orig
				}
			}
		}
		done += n
	}
	return nil
}

// readPartial reads as much of [addr, addr+len(buf)) as is mapped.
func (v *vcpuState) readPartial(addr uint64, buf []byte) int {
	n := 0
	for n < len(buf) {
		step := 4096 - int((addr+uint64(n))&4095)
		if step > len(buf)-n {
			step = len(buf) - n
		}
		if v.access(guest.Virtual, addr+uint64(n), buf[n:n+step], false) != nil {
			break
		}
		n += step
	}
	return n
}
