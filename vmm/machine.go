package vmm

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// DefaultMemoryMiB is the guest RAM size when guest.Config.MemoryMiB is 0.
const DefaultMemoryMiB = 32

// KickSignal is the signal sent to the vCPU thread (tgkill) to end a
// running KVM_RUN with EINTR. The Go runtime catches SIGUSR2 and, unless a
// program asks for it with signal.Notify, takes no action, so the only
// effect is the interrupted ioctl.
const KickSignal = unix.SIGUSR2

// Device paths.
const kvmDevice = "/dev/kvm"

// Machine is a guest on the native KVM VMM: one vCPU (NumCPU is 1) on its
// own locked OS thread, driven by requests and reporting through events.
type Machine struct {
	guest.Broadcaster

	cfg     guest.Config
	image   *Image
	modules []Module
	memSize uint64
	start   time.Time

	reqs      chan *request
	consoleIn chan []byte
	loopDone  chan struct{}
	closeOnce sync.Once

	state     atomic.Int32 // guest.State
	tid       atomic.Int32
	kickMu    sync.Mutex // guards kickCPU against teardown (lifetime only, never held while running)
	kickCPU   *kvm.VCPU  // the vCPU a kick sets immediate_exit on; nil after teardown
	exits     atomic.Uint64
	wantIntr  atomic.Bool
	wantKill  atomic.Bool
	timedOut  atomic.Bool
	haltCheck atomic.Bool
	pending   atomic.Int32 // requests announced by send and not yet received by the vCPU thread
	caps      atomic.Pointer[guest.Caps]
	marks     atomic.Pointer[[]guest.Mark]

	viewMu sync.RWMutex // readers: callers; writer: the vCPU thread (view.go)
	view   *stopView    // nil unless stopped

	// Owned by the vCPU thread.
	v *vcpuState
}

// request is one message to the vCPU thread. fn runs there; when it
// succeeds and then is set, then runs after the reply (a run of the guest),
// or before it when fn set late (a single step that cannot block, see
// resume).
type request struct {
	fn       func() error
	needStop bool // refused with ErrRunning while the guest runs
	then     func()
	late     bool // set by fn: reply once then has run
	reply    chan error
}

// New boots cfg.Image on /dev/kvm and returns a machine stopped at its
// first instruction (StopEntry).
func New(cfg guest.Config) (*Machine, error) {
	start := time.Now()
	if cfg.CPUs > 1 {
		return nil, fmt.Errorf("vmm: %d vCPUs requested; the native VMM runs one", cfg.CPUs)
	}
	mib := cfg.MemoryMiB
	if mib == 0 {
		mib = DefaultMemoryMiB
	}
	if uint64(mib)<<20 < MinMemory || uint64(mib)<<20 > MaxMemory {
		return nil, fmt.Errorf("vmm: memory %d MiB outside %d..%d MiB", mib, MinMemory>>20, MaxMemory>>20)
	}
	data, err := os.ReadFile(cfg.Image)
	if err != nil {
		return nil, fmt.Errorf("vmm: %w", err)
	}
	im, err := ParseImage(data)
	if err != nil {
		return nil, fmt.Errorf("vmm: %s: %w", cfg.Image, err)
	}
	var mods []Module
	for _, m := range cfg.Modules {
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return nil, fmt.Errorf("vmm: module: %w", err)
		}
		mods = append(mods, Module{Data: b, Cmdline: m.Cmdline})
	}
	m := &Machine{
		cfg: cfg, image: im, modules: mods, memSize: uint64(mib) << 20, start: start,
		reqs: make(chan *request), consoleIn: make(chan []byte, 16), loopDone: make(chan struct{}),
	}
	m.marks.Store(&[]guest.Mark{})
	m.caps.Store(&guest.Caps{Backend: "kvm", Hypervisor: hypervisorName(), SingleStep: true})
	ready := make(chan error)
	go m.loop(ready)
	if err := <-ready; err != nil {
		<-m.loopDone
		m.Broadcaster.Close()
		return nil, err
	}
	return m, nil
}

func (m *Machine) mark(name string) {
	old := *m.marks.Load()
	n := append(append([]guest.Mark(nil), old...), guest.Mark{Name: name, At: time.Since(m.start)})
	m.marks.Store(&n)
}

// Timeline reports the start-up marks (guest.Timeliner).
func (m *Machine) Timeline() []guest.Mark { return append([]guest.Mark(nil), *m.marks.Load()...) }

// Caps reports what this machine can do (guest.Machine). The debug
// strategies come from a capability probe run on first use, and change
// when the guest announces its handlers with HELLO.
func (m *Machine) Caps() guest.Caps {
	if c := m.caps.Load(); c.SWBreakStrategy != "" || m.State() == guest.Finished {
		return *c
	}
	m.call(false, func() error { m.v.ensureProbe(); return nil })
	return *m.caps.Load()
}

// NumCPU is 1: the native VMM runs a single vCPU.
func (m *Machine) NumCPU() int { return 1 }

// State reports stopped, running or finished.
func (m *Machine) State() guest.State { return guest.State(m.state.Load()) }

// kick makes a running KVM_RUN return: immediate_exit for a vCPU about to
// enter, a signal for one inside (api.rst 4.10 and KVM_CAP_IMMEDIATE_EXIT).
func (m *Machine) kick() {
	m.kickMu.Lock()
	defer m.kickMu.Unlock()
	if m.kickCPU == nil {
		return
	}
	m.kickCPU.SetImmediateExit(true)
	if tid := m.tid.Load(); tid != 0 {
		unix.Tgkill(os.Getpid(), int(tid), KickSignal)
	}
}

// call sends fn to the vCPU thread and waits for its result.
func (m *Machine) call(needStop bool, fn func() error) error {
	return m.send(&request{fn: fn, needStop: needStop})
}

// send delivers r to the vCPU thread and waits for its reply.
func (m *Machine) send(r *request) error {
	if r.needStop && m.State() == guest.Running {
		return guest.ErrRunning
	}
	r.reply = make(chan error, 1)
	// Announce the request before looking at the state: a vCPU that runs
	// (or is about to) sees pending before each KVM_RUN and after each
	// kick, and then waits for the request (onKick), so the send below
	// never waits for some other kick.
	m.pending.Add(1)
	if m.State() == guest.Running {
		m.kick()
	}
	select {
	case m.reqs <- r:
	case <-m.loopDone:
		m.pending.Add(-1)
		return guest.ErrFinished
	}
	select {
	case err := <-r.reply:
		return err
	case <-m.loopDone:
		return guest.ErrFinished
	}
}

// loop is the vCPU thread: it owns every KVM handle and the guest state.
func (m *Machine) loop(ready chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	defer close(m.loopDone)
	m.tid.Store(int32(unix.Gettid()))
	v, err := m.boot()
	if err != nil {
		ready <- err
		return
	}
	m.v = v
	v.refreshView()
	m.state.Store(int32(guest.Stopped))
	ready <- nil
	for {
		select {
		case r := <-m.reqs:
			m.pending.Add(-1) // received: no longer pending
			err := r.fn()
			switch {
			case err == nil && r.then != nil && r.late:
				m.v.lateReply = r.reply
				r.then()
				m.v.replyNow()
			case err == nil && r.then != nil:
				r.reply <- err
				r.then()
			default:
				r.reply <- err
			}
			if m.v.closed { // Close, or a Reboot that could not boot again
				return
			}
		case p := <-m.consoleIn:
			m.v.feedConsole(p)
		}
	}
}

// Continue runs the guest until it stops, exits or faults (guest.Machine).
func (m *Machine) Continue() error { return m.resume(false) }

// Step executes one instruction (guest.Machine).
func (m *Machine) Step(cpu int) error {
	if cpu != 0 {
		return guest.ErrBadCPU
	}
	return m.resume(true)
}

// resume starts a run. A Continue replies at once and the vCPU thread
// then runs the guest. A Step replies once the step's stop (or end) has
// been published, so that the reply and the event reach the caller in one
// wake-up of its thread instead of two (the early reply used to wait,
// readied on the vCPU thread's P, until another thread stole it while the
// guest stepped). A step is one instruction, but one that waits (a hlt
// with the in-kernel irqchip waits for an interrupt) must not hold the
// caller: any kick, the halt watchdog's every 10 ms included, sends the
// reply at once (replyNow in onKick).
func (m *Machine) resume(step bool) error {
	var r *request
	r = &request{needStop: true, then: func() { m.v.run(step) }, fn: func() error {
		switch m.State() {
		case guest.Finished:
			return guest.ErrFinished
		case guest.Running:
			return guest.ErrRunning
		}
		m.wantIntr.Store(false)
		m.v.hideView()
		m.state.Store(int32(guest.Running))
		r.late = step
		return nil
	}}
	return m.send(r)
}

// Interrupt stops a running guest with StopInterrupt (guest.Machine).
func (m *Machine) Interrupt() error {
	if m.State() != guest.Running {
		return nil
	}
	m.wantIntr.Store(true)
	m.kick()
	return nil
}

// Kill ends the guest with ExitKilled (guest.Machine).
func (m *Machine) Kill() error {
	if m.State() == guest.Finished {
		return nil
	}
	m.wantKill.Store(true)
	m.kick()
	err := m.call(false, func() error {
		if m.State() != guest.Finished {
			m.v.finishExit(guest.Exit{How: guest.ExitKilled})
		}
		return nil
	})
	if errors.Is(err, guest.ErrFinished) {
		return nil
	}
	return err
}

// Close kills the guest and releases the VM (guest.Machine). Idempotent.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() {
		m.Kill()
		m.call(false, func() error { m.v.teardown(); return nil })
		<-m.loopDone
		m.Broadcaster.Close()
	})
	return nil
}

// Regs returns the vCPU's registers (guest.Machine).
func (m *Machine) Regs(cpu int) (guest.Regs, error) {
	if cpu != 0 {
		return guest.Regs{}, guest.ErrBadCPU
	}
	if r, ok := m.viewRegs(); ok {
		return r, nil
	}
	var r guest.Regs
	err := m.call(true, func() (err error) { r, err = m.v.regs(); return })
	return r, err
}

// SetRegs writes the vCPU's registers (guest.Machine).
func (m *Machine) SetRegs(cpu int, r *guest.Regs) error {
	if cpu != 0 {
		return guest.ErrBadCPU
	}
	c := *r
	return m.call(true, func() error { return m.v.setRegs(&c) })
}

// ReadMemory reads guest memory (guest.Machine).
func (m *Machine) ReadMemory(cpu int, space guest.AddrSpace, addr uint64, buf []byte) error {
	if cpu != 0 {
		return guest.ErrBadCPU
	}
	if ok, err := m.viewRead(space, addr, buf); ok {
		return err
	}
	return m.call(true, func() error { return m.v.access(space, addr, buf, false) })
}

// WriteMemory writes guest memory (guest.Machine).
func (m *Machine) WriteMemory(cpu int, space guest.AddrSpace, addr uint64, data []byte) error {
	if cpu != 0 {
		return guest.ErrBadCPU
	}
	c := append([]byte(nil), data...)
	return m.call(true, func() error {
		return m.v.changing(func() error { return m.v.access(space, addr, c, true) })
	})
}

// SetBreakpoint inserts a breakpoint or watchpoint (guest.Machine).
func (m *Machine) SetBreakpoint(bp guest.Breakpoint) error {
	return m.call(true, func() error {
		m.v.ensureProbe() // a throwaway VM: run it before holding the view
		return m.v.changing(func() error { return m.v.setBreakpoint(bp) })
	})
}

// ClearBreakpoint removes one (guest.Machine).
func (m *Machine) ClearBreakpoint(bp guest.Breakpoint) error {
	return m.call(true, func() error {
		return m.v.changing(func() error { return m.v.clearBreakpoint(bp) })
	})
}

// VGAText returns the 80x25 VGA text screen at 0xB8000 (guest.VGAReader).
func (m *Machine) VGAText() ([]string, error) {
	var lines []string
	err := m.call(true, func() error { lines = vgaText(m.v.mem); return nil })
	return lines, err
}

// WriteConsole feeds bytes to COM1's receiver (guest.ConsoleWriter).
func (m *Machine) WriteConsole(p []byte) (int, error) {
	if m.State() == guest.Finished {
		return 0, guest.ErrFinished
	}
	select {
	case m.consoleIn <- append([]byte(nil), p...):
	case <-m.loopDone:
		return 0, guest.ErrFinished
	}
	if m.State() == guest.Running {
		m.kick()
	}
	return len(p), nil
}

// Reboot restarts the guest from its image in a fresh VM, stopped at entry (guest.Rebooter).
func (m *Machine) Reboot() error {
	return m.call(true, func() error {
		if m.State() == guest.Running {
			return guest.ErrRunning
		}
		m.v.teardown()
		v, err := m.boot()
		if err != nil {
			m.state.Store(int32(guest.Finished))
			return err
		}
		m.v = v
		m.wantKill.Store(false)
		m.timedOut.Store(false)
		v.refreshView()
		m.state.Store(int32(guest.Stopped))
		return nil
	})
}

// vgaText renders the VGA text buffer (80x25 cells of character and
// attribute bytes) as lines without trailing blanks.
func vgaText(mem []byte) []string {
	const base, cols, rows = 0xb8000, 80, 25
	if len(mem) < base+cols*rows*2 {
		return nil
	}
	lines := make([]string, rows)
	for r := 0; r < rows; r++ {
		b := make([]byte, cols)
		for c := 0; c < cols; c++ {
			ch := mem[base+2*(r*cols+c)]
			if ch < 0x20 || ch > 0x7e {
				ch = ' '
			}
			b[c] = ch
		}
		end := cols
		for end > 0 && b[end-1] == ' ' {
			end--
		}
		lines[r] = string(b[:end])
	}
	return lines
}
