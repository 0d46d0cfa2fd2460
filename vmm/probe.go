package vmm

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ukw/vmm/kvm"
)

// probeResult is what a throwaway VM found out about this KVM
// (../shared/MACHINE.md: kvm-pvm differs from VMX/SVM KVM).
type probeResult struct {
	hypervisor string
	swBP       bool // int3 with KVM_GUESTDBG_USE_SW_BP ends in KVM_EXIT_DEBUG
	hwBP       bool // an execution breakpoint in DR0 ends in KVM_EXIT_DEBUG
	hwWatch    bool // a write watchpoint in DR0 ends in KVM_EXIT_DEBUG (not in the guest)
	guestWatch bool // a write watchpoint in the guest's own DR0/DR7 raises #DB in the guest
	singleStep bool // KVM_GUESTDBG_SINGLESTEP ends in KVM_EXIT_DEBUG with DR6.BS
	// roSlot: a guest write to a KVM_MEM_READONLY slot exits as
	// KVM_EXIT_MMIO with its address and data and leaves memory alone,
	// and a KVM_RUN with immediate_exit then completes the instruction.
	roSlot bool
	took   time.Duration
	notes  []string
}

// hypervisorName tells kvm-pvm from VMX/SVM KVM by the loaded modules.
func hypervisorName() string {
	for _, m := range []struct{ dir, name string }{
		{"/sys/module/kvm_pvm", "kvm-pvm"}, {"/sys/module/kvm_intel", "kvm (vmx)"}, {"/sys/module/kvm_amd", "kvm (svm)"},
	} {
		if _, err := os.Stat(m.dir); err == nil {
			return m.name
		}
	}
	return "kvm"
}

// probe runs four tiny real-mode guests in one throwaway VM, one vCPU each.
func probe(sys *kvm.System) (probeResult, error) {
	start := time.Now()
	res := probeResult{hypervisor: hypervisorName()}
	vm, err := sys.CreateVM()
	if err != nil {
		return res, err
	}
	defer vm.Close()
	mem, err := unix.Mmap(-1, 0, probeRAM+pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return res, fmt.Errorf("probe memory: %w", err)
	}
	defer unix.Munmap(mem)
	if err := vm.SetUserMemoryRegion(0, 0, 0, mem[:probeRAM]); err != nil {
		return res, err
	}
	type trial struct {
		code []byte
		dr   *kvm.DebugRegs // the guest's own debug registers, if set
		dbg  kvm.GuestDebug
		ok   func(e kvm.Exit) bool
		set  *bool
	}
	const code = 0x1000
	trials := []trial{
		{[]byte{0xcc, 0xf4}, nil, kvm.GuestDebug{Control: kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_USE_SW_BP},
			func(e kvm.Exit) bool { return e.Reason == kvm.KVM_EXIT_DEBUG && e.Debug.Exception == 3 }, &res.swBP},
		{[]byte{0x90, 0x90, 0xf4}, nil, kvm.GuestDebug{Control: kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_USE_HW_BP,
			DebugReg: [8]uint64{code + 1, 0, 0, 0, 0, 0, 0, dr7Enable(0, 0, 1)}},
			func(e kvm.Exit) bool { return e.Reason == kvm.KVM_EXIT_DEBUG && e.Debug.DR6&1 != 0 }, &res.hwBP},
		{[]byte{0xa2, 0x00, 0x20, 0xf4}, nil, kvm.GuestDebug{Control: kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_USE_HW_BP,
			DebugReg: [8]uint64{0x2000, 0, 0, 0, 0, 0, 0, dr7Enable(0, dr7RWWrite, 1)}},
			func(e kvm.Exit) bool { return e.Reason == kvm.KVM_EXIT_DEBUG && e.Debug.DR6&1 != 0 }, &res.hwWatch},
		{[]byte{0xa2, 0x00, 0x20, 0xf4}, &kvm.DebugRegs{DB: [4]uint64{0x2000}, DR6: 0xffff0ff0, DR7: dr7Enable(0, dr7RWWrite, 1)}, kvm.GuestDebug{},
			func(e kvm.Exit) bool { return e.Reason == kvm.KVM_EXIT_HLT }, &res.guestWatch},
		{[]byte{0x90, 0xf4}, nil, kvm.GuestDebug{Control: kvm.KVM_GUESTDBG_ENABLE | kvm.KVM_GUESTDBG_SINGLESTEP},
			func(e kvm.Exit) bool { return e.Reason == kvm.KVM_EXIT_DEBUG && e.Debug.DR6&dr6BS != 0 }, &res.singleStep},
	}
	// A real-mode IVT whose every vector points at a hlt at 0x1800, so an
	// exception delivered to the guest ends the trial at once (KVM_EXIT_HLT).
	for v := 0; v < 32; v++ {
		mem[4*v], mem[4*v+1], mem[4*v+2], mem[4*v+3] = 0x00, 0x18, 0, 0
	}
	mem[probeHandler] = 0xf4
	for i, t := range trials {
		copy(mem[code:], t.code)
		cpu, err := vm.CreateVCPU(i)
		if err != nil {
			return res, err
		}
		e, rip, err := probeRun(cpu, &t.dbg, t.dr)
		cpu.Close()
		if err != nil {
			return res, err
		}
		// A trial whose exception reached the guest halts in the IVT's
		// handler at 0x1801 instead of after its code.
		*t.set = t.ok(e) && (t.dr == nil || rip == probeHandler+1)
	}
	if vm.CheckExtension(kvm.KVM_CAP_READONLY_MEM) > 0 {
		cpu, err := vm.CreateVCPU(len(trials))
		if err != nil {
			return res, err
		}
		res.roSlot, err = probeReadOnly(vm, cpu, mem)
		cpu.Close()
		if err != nil {
			return res, err
		}
	}
	if !res.swBP {
		res.notes = append(res.notes, "int3 with KVM_GUESTDBG_USE_SW_BP does not reach the VMM here: software breakpoints use debug registers, or the guest's #BP handler (BREAK hypercall) after HELLO")
	}
	switch {
	case !res.hwWatch && res.roSlot:
		res.notes = append(res.notes, "data breakpoints in DR7 do not reach the VMM here: write watchpoints use read-only memslots (the watched page's writes exit to the VMM), read and access watchpoints take the page out of guest RAM (every access exits), which is refused for a page holding code, descriptor tables, page tables or the stack")
	case !res.hwWatch && res.guestWatch:
		res.notes = append(res.notes, "data watchpoints are delivered to the guest, not the VMM: they need the guest's #DB handler (DEBUG hypercall); gdb falls back to software watchpoints otherwise")
	case !res.hwWatch:
		res.notes = append(res.notes, "data watchpoints raise no #DB at all here (neither in the VMM nor in the guest): gdb must use software watchpoints")
	}
	res.took = time.Since(start)
	return res, nil
}

// probeHandler is where the probe's real-mode IVT sends every exception.
const probeHandler = 0x1800

// probeRAM is the probe VM's writable RAM; one read-only page follows it.
const probeRAM = 1 << 16

// probeReadOnly maps the page after probeRAM read-only and runs
// `mov [0x10], al; hlt` with DS based at that page: the write must exit
// as KVM_EXIT_MMIO (address, length 1, data) without reaching memory, and
// a KVM_RUN with immediate_exit must then end with EINTR and rip after
// the mov (api.rst, KVM_CAP_IMMEDIATE_EXIT and KVM_EXIT_MMIO).
func probeReadOnly(vm *kvm.VM, cpu *kvm.VCPU, mem []byte) (bool, error) {
	if err := vm.SetUserMemoryRegion(1, kvm.KVM_MEM_READONLY, probeRAM, mem[probeRAM:]); err != nil {
		return false, nil // refused: no read-only slots here
	}
	const code, val = 0x1000, 0x5a
	copy(mem[code:], []byte{0xa2, 0x10, 0x00, 0xf4})
	s, err := cpu.GetSregs()
	if err != nil {
		return false, err
	}
	s.CS.Base, s.CS.Selector, s.DS.Base, s.DS.Selector = 0, 0, probeRAM, probeRAM>>4
	if err := cpu.SetSregs(&s); err != nil {
		return false, err
	}
	if err := cpu.SetRegs(&kvm.Regs{RIP: code, RAX: val, RFLAGS: 2}); err != nil {
		return false, err
	}
	if err := cpu.Run(); err != nil {
		return false, err
	}
	e, err := cpu.Exit()
	if err != nil {
		return false, err
	}
	if e.Reason != kvm.KVM_EXIT_MMIO || !e.MMIO.IsWrite || e.MMIO.Addr != probeRAM+0x10 || e.MMIO.Len != 1 || e.MMIO.Data[0] != val || mem[probeRAM+0x10] != 0 {
		return false, nil
	}
	cpu.SetImmediateExit(true)
	err = cpu.Run()
	cpu.SetImmediateExit(false)
	if !errors.Is(err, kvm.ErrInterrupted) {
		return false, nil
	}
	r, err := cpu.GetRegs()
	return err == nil && r.RIP == code+3, err
}

func probeRun(cpu *kvm.VCPU, dbg *kvm.GuestDebug, dr *kvm.DebugRegs) (kvm.Exit, uint64, error) {
	s, err := cpu.GetSregs()
	if err != nil {
		return kvm.Exit{}, 0, err
	}
	s.CS.Base, s.CS.Selector, s.DS.Base, s.DS.Selector = 0, 0, 0, 0
	if err := cpu.SetSregs(&s); err != nil {
		return kvm.Exit{}, 0, err
	}
	if err := cpu.SetRegs(&kvm.Regs{RIP: 0x1000, RFLAGS: 2}); err != nil {
		return kvm.Exit{}, 0, err
	}
	if dr != nil {
		if err := cpu.SetDebugRegs(dr); err != nil {
			return kvm.Exit{}, 0, err
		}
	}
	if err := cpu.SetGuestDebug(dbg); err != nil {
		return kvm.Exit{}, 0, err
	}
	if err := cpu.Run(); err != nil {
		return kvm.Exit{}, 0, err
	}
	e, err := cpu.Exit()
	if err != nil {
		return e, 0, err
	}
	r, err := cpu.GetRegs()
	return e, r.RIP, err
}

func (p probeResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: sw-bp %v, hw-bp %v, hw-watch %v, guest-watch %v, readonly-memslot %v, single-step %v (probe %v)", p.hypervisor, p.swBP, p.hwBP, p.hwWatch, p.guestWatch, p.roSlot, p.singleStep, p.took.Round(time.Microsecond))
	return b.String()
}

// Debug register bits (Intel SDM Vol. 3B, 17.2 "Debug Registers").
const (
	dr6BS       = 1 << 14 // single step
	dr7RWExec   = 0
	dr7RWWrite  = 1
	dr7RWAccess = 3
	dr7GE       = 1 << 9
	dr7LE       = 1 << 8
)

// dr7Enable returns the DR7 bits enabling slot i (local enable) with the
// given R/W kind and length in bytes (1, 2, 4 or 8).
func dr7Enable(i int, rw uint64, length int) uint64 {
	var ln uint64
	switch length {
	case 2:
		ln = 1
	case 4:
		ln = 3
	case 8:
		ln = 2
	}
	if rw == dr7RWExec {
		ln = 0
	}
	return 1<<(2*i) | rw<<(16+4*i) | ln<<(18+4*i) | dr7LE | dr7GE
}
