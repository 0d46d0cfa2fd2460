package qemu

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"ukw/gdbstub"
	"ukw/guest"
)

// Options choose how QEMU runs.
type Options struct {
	// Binary is the QEMU to run; "" means qemu-system-x86_64 on PATH.
	Binary string
	// Accel is "kvm", "tcg" or "" (auto: kvm when /dev/kvm opens and is
	// not kvm-pvm, where guest code is ~1000x slower and int3 and data
	// watchpoints do not reach QEMU; tcg otherwise).
	Accel string
	// NoEntryStop returns the machine held at the firmware's first
	// instruction instead of the kernel's entry point.
	NoEntryStop bool
	// Stderr receives QEMU's own messages (they are also kept for errors).
	Stderr io.Writer
}

// Machine is a guest running under qemu-system-x86_64, debugged through
// QEMU's GDB stub with a gdbstub.Client. It implements guest.Machine,
// guest.Monitor (QEMU's HMP through `monitor`) and guest.Rebooter.
type Machine struct {
	guest.Broadcaster

	cfg    guest.Config
	opt    Options
	caps   guest.Caps
	cmd    *exec.Cmd
	client *gdbstub.Client
	dir    string
	stub   string
	stderr *tailBuffer
	exited chan struct{} // closed once the process is reaped and the final event published

	mu        sync.Mutex
	finished  bool
	killed    bool
	timedOut  bool
	budget    time.Duration // running time left under cfg.Timeout
	runStart  time.Time
	timer     *time.Timer
	closeOnce sync.Once
	start     time.Time
}

// New boots cfg.Image under QEMU and returns the machine stopped at the
// kernel's entry point.
func New(cfg guest.Config) (*Machine, error) { return NewOptions(cfg, Options{}) }

// NewOptions is New with options.
func NewOptions(cfg guest.Config, opt Options) (*Machine, error) {
	bin := opt.Binary
	if bin == "" {
		bin = "qemu-system-x86_64"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("qemu: %s is not installed (Debian package qemu-system-x86): %w", bin, err)
	}
	accel, pvm := chooseAccel(opt.Accel)
	dir, err := os.MkdirTemp("", "ukw-qemu-")
	if err != nil {
		return nil, err
	}
	img, err := prepareImage(cfg.Image, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	m := &Machine{cfg: cfg, opt: opt, dir: dir, stderr: &tailBuffer{max: 16 << 10}, exited: make(chan struct{}),
		budget: cfg.Timeout, start: time.Now()}
	m.caps = capsFor(accel, pvm)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		lastErr = m.launch(path, accel, img)
		if lastErr == nil {
			break
		}
		if !strings.Contains(lastErr.Error(), "in use") && !strings.Contains(lastErr.Error(), "available port") {
			break
		}
	}
	if lastErr != nil {
		os.RemoveAll(dir)
		return nil, lastErr
	}
	if !opt.NoEntryStop && img.Entry != 0 {
		if err := m.runToEntry(img.Entry); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// chooseAccel resolves Options.Accel; pvm reports kvm-pvm (MACHINE.md).
func chooseAccel(want string) (accel string, pvm bool) {
	_, err := os.Stat("/sys/module/kvm_pvm")
	pvm = err == nil
	if want != "" {
		return want, pvm && want == "kvm"
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		if !pvm {
			return "kvm", false
		}
	}
	return "tcg", false
}

func capsFor(accel string, pvm bool) guest.Caps {
	c := guest.Caps{Backend: "qemu", Hypervisor: "qemu " + accel, HWBreakpoints: 4, SWBreakpoints: true,
		SWBreakStrategy: "rsp", Watchpoints: true, WatchStrategy: "rsp", SingleStep: true}
	if pvm {
		c.Hypervisor = "qemu kvm (kvm-pvm)"
		c.SWBreakStrategy = "hw-slots"
		c.Watchpoints, c.WatchStrategy = false, ""
		c.Notes = append(c.Notes,
			"kvm-pvm: int3 breakpoints do not reach QEMU, so software breakpoints use the 4 debug-register slots",
			"kvm-pvm: data watchpoints are delivered to the guest, so they are refused; use gdb's software watchpoints or -accel tcg")
	}
	return c
}

// args builds QEMU's command line (a pure function, tested without QEMU).
func args(cfg guest.Config, accel, kernel, gdbAddr string) []string {
	mem := cfg.MemoryMiB
	if mem == 0 {
		mem = 32
	}
	cpus := max(cfg.CPUs, 1)
	a := []string{
		"-M", "microvm", "-accel", accel, "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
		"-no-reboot",
		"-kernel", kernel,
		"-S", "-gdb", "tcp:" + gdbAddr,
	}
	// Multiboot command lines start with the kernel's name (argv[0]); QEMU
	// puts the kernel path there itself, so only the arguments after the
	// first word are appended and argv[1..] match the other backends.
	if args := cfg.ArgsAfterName(); args != "" {
		a = append(a, "-append", args)
	}
	if len(cfg.Modules) > 0 {
		var mods []string
		for _, md := range cfg.Modules {
			s := md.Path
			if md.Cmdline != "" {
				s += " " + md.Cmdline
			}
			// QEMU separates modules with ',' and escapes a literal ',' as ",,".
			mods = append(mods, strings.ReplaceAll(s, ",", ",,"))
		}
		a = append(a, "-initrd", strings.Join(mods, ","))
	}
	return a
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (m *Machine) launch(path, accel string, img bootImage) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args(m.cfg, accel, img.Path, addr)...)
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var errw io.Writer = m.stderr
	if m.opt.Stderr != nil {
		errw = io.MultiWriter(m.stderr, m.opt.Stderr)
	}
	cmd.Stderr = errw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu: starting %s: %w", path, err)
	}
	consoleDone := make(chan struct{})
	go m.console(out, consoleDone)
	waited := make(chan error, 1)
	go func() {
		<-consoleDone
		waited <- cmd.Wait()
	}()
	conn, err := dialStub(addr, waited)
	if err != nil {
		cmd.Process.Kill()
		if werr, ok := <-waited; ok {
			_ = werr
		}
		return fmt.Errorf("qemu: %w; QEMU said: %s", err, strings.TrimSpace(m.stderr.String()))
	}
	pvm := strings.Contains(m.caps.Hypervisor, "kvm-pvm")
	caps := m.caps
	client, err := gdbstub.NewClient(conn, gdbstub.ClientOptions{SoftwareAsHardware: pvm, NoWatchpoints: pvm, Caps: &caps})
	if err != nil {
		conn.Close()
		cmd.Process.Kill()
		<-waited
		return fmt.Errorf("qemu: talking to QEMU's gdb stub: %w", err)
	}
	m.cmd, m.client, m.stub = cmd, client, addr
	events, cancel := client.Subscribe()
	go m.forward(events, cancel)
	go m.reap(waited)
	return nil
}

// dialStub connects to QEMU's stub once it listens, or fails when QEMU exits.
func dialStub(addr string, waited chan error) (net.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn, nil
		}
		select {
		case werr := <-waited:
			waited <- werr
			return nil, fmt.Errorf("QEMU exited before its gdb stub listened (%v)", werr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("QEMU's gdb stub at %s did not answer: %w", addr, err)
		}
	}
}

// console publishes the serial output (QEMU's stdout).
func (m *Machine) console(r io.Reader, done chan<- struct{}) {
	defer close(done)
	br := bufio.NewReaderSize(r, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			m.Publish(guest.ConsoleEvent{Data: bytes.Clone(buf[:n])})
		}
		if err != nil {
			return
		}
	}
}

// forward republishes the client's stops; its exit and fault events are
// dropped because the process's own exit status says more (reap).
func (m *Machine) forward(events <-chan guest.Event, cancel func()) {
	defer cancel()
	for e := range events {
		switch e.(type) {
		case guest.StopEvent:
			m.pauseClock()
			m.Publish(e)
		case guest.ConsoleEvent, guest.LogEvent, guest.TraceEvent:
			m.Publish(e)
		}
	}
}

// reap waits for QEMU to exit and publishes the final event.
func (m *Machine) reap(waited chan error) {
	err := <-waited
	m.mu.Lock()
	m.finished = true
	killed, timedOut := m.killed, m.timedOut
	if m.timer != nil {
		m.timer.Stop()
	}
	elapsed := time.Since(m.start)
	m.mu.Unlock()
	m.client.Kill() // closes the connection; its events are not forwarded
	switch {
	case timedOut:
		m.Publish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultTimeout, Vector: -1,
			Detail: fmt.Sprintf("the guest ran longer than %v", m.cfg.Timeout)}})
	case killed:
		m.Publish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled, Elapsed: elapsed}})
	default:
		m.Publish(exitEvent(err, m.stderr.String(), elapsed))
	}
	close(m.exited)
}

// exitEvent decodes QEMU's exit status: isa-debug-exit makes QEMU exit
// with (value << 1) | 1; 0 is a shutdown (with -no-reboot also a reset or
// triple fault); anything else is QEMU failing, explained by its stderr.
func exitEvent(err error, stderr string, elapsed time.Duration) guest.Event {
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if code < 0 {
			return guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1,
				Detail: fmt.Sprintf("QEMU died: %v", ee)}}
		}
	} else if err != nil {
		return guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: err.Error()}}
	}
	if code == 0 {
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther, Elapsed: elapsed}}
	}
	if code&1 == 1 {
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitPort, Status: code >> 1, Port: 0xf4, Elapsed: elapsed}}
	}
	return guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1,
		Detail: fmt.Sprintf("QEMU exited with status %d: %s", code, lastLine(stderr))}}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// runToEntry runs the firmware up to the kernel's entry with a hardware
// breakpoint (a software one would be overwritten when the loader copies
// the kernel in: MACHINE.md) and leaves the machine stopped there.
func (m *Machine) runToEntry(entry uint64) error {
	ev, cancel := m.Subscribe()
	defer cancel()
	bp := guest.Breakpoint{Kind: guest.BreakHardware, Addr: entry, Len: 1}
	if err := m.client.SetBreakpoint(bp); err != nil {
		return fmt.Errorf("qemu: breakpoint at the kernel entry %#x: %w", entry, err)
	}
	if err := m.client.Continue(); err != nil {
		return err
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-ev:
			switch e := e.(type) {
			case guest.StopEvent:
				if err := m.client.ClearBreakpoint(bp); err != nil {
					return err
				}
				if e.Stop.PC != entry {
					return fmt.Errorf("qemu: stopped at %#x on the way to the entry %#x", e.Stop.PC, entry)
				}
				return nil
			case guest.ExitEvent, guest.FaultEvent:
				return fmt.Errorf("qemu: the guest ended before reaching its entry %#x: %v; QEMU said: %s", entry, e, m.stderr.String())
			}
		case <-timeout:
			return fmt.Errorf("qemu: the firmware did not reach the kernel entry %#x within 30 s", entry)
		}
	}
}

// Caps reports what QEMU can do here.
func (m *Machine) Caps() guest.Caps { return m.caps }

// NumCPU reports the vCPUs QEMU's stub lists.
func (m *Machine) NumCPU() int { return m.client.NumCPU() }

// State reports the machine's state.
func (m *Machine) State() guest.State {
	m.mu.Lock()
	fin := m.finished
	m.mu.Unlock()
	if fin {
		return guest.Finished
	}
	return m.client.State()
}

// StubAddr is QEMU's own gdb stub address (loopback), held by this Machine's client.
func (m *Machine) StubAddr() string { return m.stub }

func (m *Machine) checkLive() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.finished {
		return guest.ErrFinished
	}
	return nil
}

// startClock runs the Config.Timeout clock while the guest runs.
func (m *Machine) startClock() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.Timeout <= 0 || m.finished {
		return
	}
	m.runStart = time.Now()
	m.timer = time.AfterFunc(m.budget, m.expire)
}

func (m *Machine) pauseClock() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer == nil {
		return
	}
	if m.timer.Stop() {
		m.budget -= time.Since(m.runStart)
	}
	m.timer = nil
}

func (m *Machine) expire() {
	m.mu.Lock()
	if m.finished || m.timer == nil {
		m.mu.Unlock()
		return
	}
	m.timedOut = true
	m.mu.Unlock()
	m.cmd.Process.Kill()
}

// Continue resumes the guest.
func (m *Machine) Continue() error {
	if err := m.checkLive(); err != nil {
		return err
	}
	m.startClock()
	if err := m.client.Continue(); err != nil {
		m.pauseClock()
		return err
	}
	return nil
}

// Step executes one instruction on cpu.
func (m *Machine) Step(cpu int) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	m.startClock()
	if err := m.client.Step(cpu); err != nil {
		m.pauseClock()
		return err
	}
	return nil
}

// Interrupt stops a running guest.
func (m *Machine) Interrupt() error { return m.client.Interrupt() }

// Regs reads cpu's registers.
func (m *Machine) Regs(cpu int) (guest.Regs, error) {
	if err := m.checkLive(); err != nil {
		return guest.Regs{}, err
	}
	return m.client.Regs(cpu)
}

// SetRegs writes cpu's registers.
func (m *Machine) SetRegs(cpu int, r *guest.Regs) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	return m.client.SetRegs(cpu, r)
}

// ReadMemory reads guest memory (physical through QEMU's PhyMemMode).
func (m *Machine) ReadMemory(cpu int, space guest.AddrSpace, addr uint64, buf []byte) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	return m.client.ReadMemory(cpu, space, addr, buf)
}

// WriteMemory writes guest memory.
func (m *Machine) WriteMemory(cpu int, space guest.AddrSpace, addr uint64, data []byte) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	return m.client.WriteMemory(cpu, space, addr, data)
}

// SetBreakpoint inserts a breakpoint through QEMU's stub.
func (m *Machine) SetBreakpoint(bp guest.Breakpoint) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	return m.client.SetBreakpoint(bp)
}

// ClearBreakpoint removes one.
func (m *Machine) ClearBreakpoint(bp guest.Breakpoint) error {
	if err := m.checkLive(); err != nil {
		return err
	}
	return m.client.ClearBreakpoint(bp)
}

// Monitor runs a QEMU monitor (HMP) command through the stub's qRcmd.
func (m *Machine) Monitor(cmd string) (string, error) {
	if err := m.checkLive(); err != nil {
		return "", err
	}
	return m.client.Monitor(cmd)
}

// Reboot resets the guest (HMP system_reset); it restarts in the firmware
// and runs to the kernel entry again.
func (m *Machine) Reboot() error {
	if _, err := m.Monitor("system_reset"); err != nil {
		return err
	}
	return nil
}

// Kill ends QEMU; subscribers see ExitKilled.
func (m *Machine) Kill() error {
	m.mu.Lock()
	if m.finished {
		m.mu.Unlock()
		<-m.exited
		return nil
	}
	m.killed = true
	m.mu.Unlock()
	m.cmd.Process.Kill()
	<-m.exited
	return nil
}

// Close kills QEMU if it still runs and releases everything. Idempotent.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() {
		if m.cmd != nil {
			m.Kill()
		}
		m.Broadcaster.Close()
		os.RemoveAll(m.dir)
	})
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
