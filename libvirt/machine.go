package libvirt

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"ukw/guest"
)

// Machine is a libvirt domain as a guest.Machine: libvirt gives the
// lifecycle, the console and the exit status; QEMU's GDB stub, reached
// through the RSP client, gives registers, memory, breakpoints and steps.
type Machine struct {
	guest.Broadcaster

	conn    *Conn
	ownConn bool               // Close closes conn
	qlv     *golibvirt.Libvirt // QEMU monitor events (see startStreams)
	dom     golibvirt.Domain
	info    DomainInfo
	booted  bool // ukw created the domain: Close destroys it
	caps    guest.Caps
	created time.Time

	dbg     guest.Machine // QEMU's GDB stub; nil when the domain has none
	gdbAddr string        // where the stub is reached from here
	sshDest string        // Options.SSH
	tunnel  *tunnel

	consoleDone chan struct{}  // closed when the console stream ends
	conIn       *io.PipeWriter // console input, sent on the console stream
	cancel      context.CancelFunc

	mu       sync.Mutex
	state    guest.State
	final    bool          // the final ExitEvent/FaultEvent is decided
	killing  bool          // Kill or Close destroys the domain
	ran      time.Duration // running time before runFrom
	runFrom  time.Time     // when the current run began (zero when stopped)
	closed   bool
	marks    []guest.Mark
	shutdown string // cause of QEMU's SHUTDOWN event ("guest-reset", ...)
}

// mark records a named instant on the timeline (guest.Timeliner).
func (m *Machine) mark(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks = append(m.marks, guest.Mark{Name: name, At: time.Since(m.created)})
}

// markOnce records name unless it is already on the timeline.
func (m *Machine) markOnce(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.marks {
		if k.Name == name {
			return
		}
	}
	m.marks = append(m.marks, guest.Mark{Name: name, At: time.Since(m.created)})
}

// Timeline reports how the machine's start-up and run went.
func (m *Machine) Timeline() []guest.Mark {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]guest.Mark(nil), m.marks...)
}

var (
	_ guest.Machine       = (*Machine)(nil)
	_ guest.Timeliner     = (*Machine)(nil)
	_ guest.ConsoleWriter = (*Machine)(nil)
	_ guest.Monitor       = (*Machine)(nil)
)

// WriteConsole sends p to the guest's console (COM1 receive) through the
// console stream.
func (m *Machine) WriteConsole(p []byte) (int, error) {
	if err := m.checkLive(); err != nil {
		return 0, err
	}
	if m.conIn == nil {
		return 0, fmt.Errorf("domain %s: no console stream: %w", m.dom.Name, guest.ErrUnsupported)
	}
	return m.conIn.Write(p)
}

// Monitor runs a QEMU human monitor (HMP) command through libvirt
// (virDomainQemuMonitorCommand with VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP),
// e.g. "info registers" or "info mtree".
func (m *Machine) Monitor(cmd string) (string, error) {
	if err := m.checkLive(); err != nil {
		return "", err
	}
	const hmp = 1
	out, err := m.conn.lv.QEMUDomainMonitorCommand(m.dom, cmd, hmp)
	if err != nil {
		return "", fmt.Errorf("QEMU monitor on %s: %w", m.dom.Name, err)
	}
	return out, nil
}

// Name returns the libvirt domain name.
func (m *Machine) Name() string { return m.dom.Name }

// Info returns what ukw knows about the domain (metadata, GDB address).
func (m *Machine) Info() DomainInfo { return m.info }

// Caps reports the backend's abilities; debugging ones come from QEMU's stub.
func (m *Machine) Caps() guest.Caps {
	c := m.caps
	if m.dbg != nil {
		d := m.dbg.Caps()
		c.HWBreakpoints, c.SWBreakpoints, c.SWBreakStrategy = d.HWBreakpoints, d.SWBreakpoints, d.SWBreakStrategy
		c.Watchpoints, c.WatchStrategy, c.SingleStep = d.Watchpoints, d.WatchStrategy, d.SingleStep
		c.Notes = append(append([]string(nil), c.Notes...), d.Notes...)
	}
	return c
}

// NumCPU reports the number of vCPUs.
func (m *Machine) NumCPU() int {
	if m.dbg != nil {
		return m.dbg.NumCPU()
	}
	return 1
}

// State reports stopped, running or finished.
func (m *Machine) State() guest.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.final {
		return guest.Finished
	}
	if m.dbg != nil {
		if s := m.dbg.State(); s != guest.Finished {
			return s
		}
	}
	return m.state
}

func (m *Machine) setState(s guest.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.final {
		m.setStateLocked(s)
	}
}

func (m *Machine) setStateLocked(s guest.State) {
	if s == guest.Running && m.runFrom.IsZero() {
		m.runFrom = time.Now()
	}
	if s != guest.Running && !m.runFrom.IsZero() {
		m.ran += time.Since(m.runFrom)
		m.runFrom = time.Time{}
	}
	m.state = s
}

// elapsed is the guest's running time so far.
func (m *Machine) elapsed() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.ran
	if !m.runFrom.IsZero() {
		d += time.Since(m.runFrom)
	}
	return d
}

func (m *Machine) checkLive() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.final || m.closed {
		return guest.ErrFinished
	}
	return nil
}

// Continue resumes the guest: through the GDB stub when there is one (QEMU
// then resumes the VM and libvirt follows), else with virDomainResume.
func (m *Machine) Continue() error {
	if err := m.checkLive(); err != nil {
		return err
	}
	m.markOnce("first continue")
	if m.dbg != nil {
		m.setState(guest.Running)
		return m.dbg.Continue()
	}
	// Running before the call: a fast guest can exit before it returns.
	m.setState(guest.Running)
	if err := m.conn.lv.DomainResume(m.dom); err != nil {
		m.setState(guest.Stopped)
		return fmt.Errorf("libvirt resume %s: %w", m.dom.Name, err)
	}
	return nil
}

// Step executes one instruction through the GDB stub.
func (m *Machine) Step(cpu int) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	if m.dbg == nil {
		return m.noDebugger()
	}
	m.setState(guest.Running)
	return m.dbg.Step(cpu)
}

// Interrupt stops a running guest: through the GDB stub when there is one,
// else with virDomainSuspend (then a StopEvent with StopInterrupt follows).
func (m *Machine) Interrupt() error {
	if err := m.checkLive(); err != nil {
		return err
	}
	if m.dbg != nil {
		return m.dbg.Interrupt()
	}
	if m.State() != guest.Running {
		return nil
	}
	if err := m.conn.lv.DomainSuspend(m.dom); err != nil {
		return fmt.Errorf("libvirt suspend %s: %w", m.dom.Name, err)
	}
	m.setState(guest.Stopped)
	m.Publish(guest.StopEvent{Stop: guest.Stop{Reason: guest.StopInterrupt}})
	return nil
}

func (m *Machine) noDebugger() error {
	return fmt.Errorf("domain %s has no GDB stub connection: %w", m.dom.Name, guest.ErrUnsupported)
}

// Regs reads registers through the GDB stub.
func (m *Machine) Regs(cpu int) (guest.Regs, error) {
	if m.dbg == nil {
		return guest.Regs{}, m.noDebugger()
	}
	return m.dbg.Regs(cpu)
}

// SetRegs writes registers through the GDB stub.
func (m *Machine) SetRegs(cpu int, r *guest.Regs) error {
	if m.dbg == nil {
		return m.noDebugger()
	}
	return m.dbg.SetRegs(cpu, r)
}

// ReadMemory reads guest memory through the GDB stub.
func (m *Machine) ReadMemory(cpu int, space guest.AddrSpace, addr uint64, buf []byte) error {
	if m.dbg == nil {
		return m.noDebugger()
	}
	return m.dbg.ReadMemory(cpu, space, addr, buf)
}

// WriteMemory writes guest memory through the GDB stub.
func (m *Machine) WriteMemory(cpu int, space guest.AddrSpace, addr uint64, data []byte) error {
	if m.dbg == nil {
		return m.noDebugger()
	}
	return m.dbg.WriteMemory(cpu, space, addr, data)
}

// SetBreakpoint inserts a breakpoint or watchpoint in QEMU's stub.
func (m *Machine) SetBreakpoint(bp guest.Breakpoint) error {
	if m.dbg == nil {
		return m.noDebugger()
	}
	return m.dbg.SetBreakpoint(bp)
}

// ClearBreakpoint removes a breakpoint from QEMU's stub.
func (m *Machine) ClearBreakpoint(bp guest.Breakpoint) error {
	if m.dbg == nil {
		return m.noDebugger()
	}
	return m.dbg.ClearBreakpoint(bp)
}

// Kill destroys the domain; subscribers see an ExitEvent with ExitKilled.
func (m *Machine) Kill() error {
	m.mu.Lock()
	if m.final {
		m.mu.Unlock()
		return nil
	}
	m.killing = true
	m.mu.Unlock()
	m.finish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}}, true)
	return nil
}

// Close releases the machine. A domain ukw booted is destroyed and its
// uploaded image deleted; an attached domain is detached and keeps running.
func (m *Machine) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	booted := m.booted
	m.mu.Unlock()
	var first error
	if booted {
		m.Kill()
	}
	if m.dbg != nil {
		if err := m.dbg.Close(); err != nil && first == nil && !booted {
			first = err
		}
	}
	if m.tunnel != nil {
		m.tunnel.Close()
	}
	if booted {
		if err := m.conn.deleteVolume(m.info.Pool, m.info.Volume); err != nil && first == nil {
			first = err
		}
	}
	if m.cancel != nil {
		m.cancel()
	}
	if m.conIn != nil {
		m.conIn.Close()
	}
	if m.qlv != nil {
		m.qlv.Disconnect()
	}
	if m.ownConn {
		m.conn.Close()
	}
	m.Broadcaster.Close()
	return first
}

// finish publishes the guest's final event once: it destroys the domain
// when asked (QEMU would otherwise idle on), lets the console stream drain
// so that every byte the guest wrote comes before the final event, and
// publishes ev.
func (m *Machine) finish(ev guest.Event, destroy bool) {
	m.mu.Lock()
	if m.final {
		m.mu.Unlock()
		return
	}
	m.final = true
	m.killing = m.killing || destroy
	m.setStateLocked(guest.Finished)
	elapsed := m.ran
	m.mu.Unlock()
	if destroy {
		if err := m.conn.lv.DomainDestroy(m.dom); err != nil && !golibvirt.IsNotFound(err) {
			m.Publish(guest.LogEvent{Msg: fmt.Sprintf("libvirt destroy %s: %v", m.dom.Name, err)})
		}
	}
	if m.consoleDone != nil {
		select {
		case <-m.consoleDone:
		case <-time.After(3 * time.Second):
			m.Publish(guest.LogEvent{Msg: "console stream did not end within 3 s of the guest's exit"})
		}
	}
	switch e := ev.(type) {
	case guest.ExitEvent:
		if e.Exit.Elapsed == 0 {
			e.Exit.Elapsed = elapsed
		}
		ev = e
	}
	m.mark("exit")
	m.Publish(ev)
}
