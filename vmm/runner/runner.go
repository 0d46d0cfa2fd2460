package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ukw/build"
	"ukw/gdbstub"
	"ukw/guest"
	"ukw/symbols"
	"ukw/vmm"
)

// Exit statuses of `ukw run` besides the guest's own (docs/cli.md).
const (
	StatusFault   = 0x7f // the guest crashed (any fault but a timeout); as lib/panic under QEMU
	StatusTimeout = 124  // ran past --timeout, like timeout(1)
	StatusKilled  = 130  // interrupted (Ctrl-C)
	StatusError   = 1    // ukw itself failed (build error, bad image, no /dev/kvm)
)

// Options are `ukw run`'s flags.
type Options struct {
	Target     string // app directory (ukw.yaml) or kernel image
	Backend    string // "kvm" (default), "qemu" or "libvirt": names the backend NewMachine boots on
	Timeout    time.Duration
	MemoryMiB  int     // 0: the app's or the backend's default
	Cmdline    *string // nil: the app's (or, for an image, its base name)
	VGA        bool
	StrictIO   bool
	Stats      bool
	JSON       bool
	CountInstr bool // single-step the whole run and report the instruction count
	// Modules are multiboot modules to load with the kernel (`--module`).
	Modules []guest.Module
	// GDB serves a GDB stub for the machine (`--gdb [ADDR]`); GDBAddr is
	// where ("" is gdbstub.DefaultAddr, 127.0.0.1:1234), GDBAllowRemote
	// permits a non-loopback address, and GDBWait holds the guest at its
	// first instruction until a debugger continues it.
	GDB            bool
	GDBAddr        string
	GDBWait        bool
	GDBAllowRemote bool
	Stdout         io.Writer
	Stderr         io.Writer
	// NewMachine boots a guest on the selected backend; nil means vmm.New.
	NewMachine func(guest.Config) (guest.Machine, error)
}

// Stats is what --stats reports.
type Stats struct {
	Backend      string       `json:"backend"`
	Image        string       `json:"image"`
	Build        int64        `json:"build_us,omitempty"`
	Marks        []StatMark   `json:"timeline"`
	Teardown     int64        `json:"teardown_us"`                 // closing the machine (the VM's file descriptors, guest RAM)
	Exits        uint64       `json:"exits,omitempty"`             // KVM_RUN returns (backends that count them)
	PeakRSS      uint64       `json:"peak_rss_kib,omitempty"`      // this process's VmHWM at the guest's end
	GuestRSS     uint64       `json:"guest_ram_rss_kib,omitempty"` // guest RAM resident then (backends that map it here)
	Total        int64        `json:"total_us"`                    // Run from start to end, teardown included; process start excluded
	Instructions uint64       `json:"instructions,omitempty"`
	Outcome      string       `json:"outcome"`
	Status       int          `json:"status"`
	Exit         *guest.Exit  `json:"exit,omitempty"`
	Fault        *guest.Fault `json:"-"`
}

// StatMark is one timeline mark in microseconds since the machine's creation began.
type StatMark struct {
	Name string `json:"name"`
	US   int64  `json:"us"`
}

// target is what to boot.
type target struct {
	image, elf string
	cmdline    string
	memory     int
	buildTime  time.Duration
}

func resolve(ctx context.Context, o *Options) (*target, error) {
	p := o.Target
	if p == "" {
		p = "."
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		return &target{image: p, elf: p, cmdline: name}, nil
	}
	start := time.Now()
	app, err := build.Load(p)
	if err != nil {
		return nil, err
	}
	res, err := build.Build(ctx, app, build.Options{})
	if err != nil {
		if res != nil {
			for _, d := range res.Diagnostics {
				fmt.Fprintln(o.Stderr, d)
			}
			if res.Output != "" {
				fmt.Fprint(o.Stderr, res.Output)
			}
		}
		return nil, err
	}
	// A ukw app boots its ELF64 (the ukw note: long mode at once); QEMU's
	// multiboot loader (qemu, libvirt) takes the ELF32 copy; an external app boots the
	// kernel its own build made and is symbolized from its debug ELF.
	t := &target{image: res.ELF, elf: res.ELF, cmdline: res.Cmdline, memory: res.MemoryMiB, buildTime: time.Since(start)}
	if (o.Backend != "" && o.Backend != "kvm") || app.Manifest.External != nil {
		t.image = res.Image
	}
	return t, nil
}

// Run boots o.Target and returns the process exit status. An error means
// ukw could not run the guest at all (it has been described on Stderr
// when it came from the build).
func Run(ctx context.Context, o Options) (int, error) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	start := time.Now()
	if o.GDB && o.CountInstr {
		return StatusError, errors.New("--count-instructions and --gdb exclude each other (a debugger drives the guest)")
	}
	if (o.GDBWait || o.GDBAllowRemote) && !o.GDB {
		return StatusError, errors.New("--wait and --gdb-allow-remote go with --gdb")
	}
	if o.GDB {
		addr := o.GDBAddr
		if addr == "" {
			addr = gdbstub.DefaultAddr
		}
		if err := gdbstub.CheckAddr(addr, o.GDBAllowRemote); err != nil {
			return StatusError, err // before building and booting
		}
	}
	t, err := resolve(ctx, &o)
	if err != nil {
		return StatusError, err
	}
	cfg := guest.Config{Image: t.image, ELF: t.elf, Cmdline: t.cmdline, MemoryMiB: t.memory, Timeout: o.Timeout, StrictIO: o.StrictIO, Modules: o.Modules}
	if o.Cmdline != nil {
		cfg.Cmdline = *o.Cmdline
	}
	if o.MemoryMiB != 0 {
		cfg.MemoryMiB = o.MemoryMiB
	}
	newMachine := o.NewMachine
	if newMachine == nil {
		newMachine = func(c guest.Config) (guest.Machine, error) { return vmm.New(c) }
	}
	m, err := newMachine(cfg)
	if err != nil {
		return StatusError, err
	}
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()
	ev, cancel := m.Subscribe()
	defer cancel()

	backend := o.Backend
	if backend == "" {
		backend = "kvm"
	}
	stats := Stats{Backend: backend, Image: t.image, Build: t.buildTime.Microseconds()}
	var steps uint64
	resume := m.Continue
	if o.CountInstr {
		resume = func() error { steps++; return m.Step(0) }
	}
	var dbg *debugger
	if o.GDB {
		if dbg, err = serveGDB(ctx, &o, m, t.elf); err != nil {
			return StatusError, err
		}
		defer dbg.close()
	}
	if !o.GDBWait {
		if err := resume(); err != nil {
			return StatusError, err
		}
	}
	killed := false
	var end guest.Event
	for end == nil {
		select {
		case e, ok := <-ev:
			if !ok {
				return StatusError, errors.New("machine closed before the guest ended")
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				o.Stdout.Write(e.Data)
			case guest.LogEvent:
				fmt.Fprintf(o.Stderr, "ukw: guest: %s\n", e.Msg)
			case guest.TraceEvent:
				fmt.Fprintf(o.Stderr, "ukw: guest announced a trace ring at %#x (%d bytes)\n", e.Ring.Addr, e.Ring.Size)
			case guest.StopEvent:
				if o.CountInstr && e.Stop.Reason == guest.StopStep {
					if err := resume(); err != nil {
						return StatusError, err
					}
					continue
				}
				if dbg != nil {
					dbg.stopped(e.Stop) // the debugger's, or one for the next to see
					continue
				}
				end = e
			case guest.ExitEvent, guest.FaultEvent:
				end = e
			}
		case <-ctx.Done():
			if !killed {
				killed = true
				m.Kill()
			}
		}
	}
	if dbg != nil {
		dbg.finish(ctx) // let an attached gdb read the exit before the stub closes
	}
	status := report(&o, m, t, end, &stats)
	if o.VGA {
		writeVGA(o.Stderr, m)
	}
	if o.CountInstr {
		stats.Instructions = steps
	}
	if tl, ok := m.(guest.Timeliner); ok {
		for _, mk := range tl.Timeline() {
			stats.Marks = append(stats.Marks, StatMark{Name: mk.Name, US: mk.At.Microseconds()})
		}
	}
	if x, ok := m.(exitCounter); ok {
		stats.Exits = x.Exits()
	}
	if o.Stats {
		stats.PeakRSS = peakRSS()
		if r, ok := m.(ramResident); ok {
			if n, err := r.GuestRAMResident(); err == nil {
				stats.GuestRSS = n >> 10
			}
		}
	}
	// Close now, not at return, so that --stats can say what it cost.
	cancel()
	t0 := time.Now()
	m.Close()
	closed = true
	stats.Teardown = time.Since(t0).Microseconds()
	stats.Total = time.Since(start).Microseconds()
	stats.Status = status
	if o.Stats {
		writeStats(o.Stderr, &stats, o.JSON)
	}
	return status, nil
}

// report describes how the guest ended and returns the exit status.
func report(o *Options, m guest.Machine, t *target, end guest.Event, st *Stats) int {
	w := o.Stderr
	switch e := end.(type) {
	case guest.ExitEvent:
		x := e.Exit
		st.Exit = &x
		st.Outcome = x.How.String()
		switch x.How {
		case guest.ExitPort:
			return x.Status
		case guest.ExitPowerOff:
			return 0
		case guest.ExitReset:
			fmt.Fprintln(w, "ukw: the guest reset the machine (keyboard controller or PCI reset); treated as a normal end")
			return 0
		case guest.ExitHalted:
			fmt.Fprintln(w, "ukw: the guest halted with interrupts disabled (hlt with IF=0): it can never wake up; treated as a normal end")
			return 0
		case guest.ExitKilled:
			fmt.Fprintln(w, "ukw: killed")
			return StatusKilled
		}
		fmt.Fprintf(w, "ukw: the guest ended (%v, status %d)\n", x.How, x.Status)
		return x.Status
	case guest.FaultEvent:
		f := e.Fault
		st.Fault = &f
		st.Outcome = f.Kind.String()
		writeCrash(w, m, t.elf, &f)
		if f.Kind == guest.FaultTimeout {
			return StatusTimeout
		}
		return StatusFault
	case guest.StopEvent:
		// Nobody is attached to catch a trap: the guest ran a compiled-in
		// int3 or raised #DB itself. Report it like a crash.
		s := e.Stop
		st.Outcome = "stopped: " + s.Reason.String()
		f := guest.Fault{Kind: guest.FaultException, Vector: -1, Regs: s.Regs,
			Detail: fmt.Sprintf("the guest stopped (%v) with no debugger attached", s.Reason)}
		switch s.Reason {
		case guest.StopTrap:
			f.Vector = 3
		case guest.StopStep, guest.StopWatchpoint, guest.StopHWBreakpoint:
			f.Vector = 1
		}
		if f.Vector < 0 {
			f.Kind = guest.FaultInternalError
		}
		st.Fault = &f
		writeCrash(w, m, t.elf, &f)
		return StatusFault
	}
	return StatusError
}

// writeCrash prints the crash report: what happened, the symbolized
// backtrace (CFI, frame pointers, exception frames), source, registers.
func writeCrash(w io.Writer, m guest.Machine, elf string, f *guest.Fault) {
	if f.Kind == guest.FaultException {
		fmt.Fprintf(w, "\nukw: guest crashed (%s)\n", f.Detail)
	} else {
		fmt.Fprintf(w, "\nukw: guest crashed (%s)\n", f.Kind)
	}
	var sf *symbols.File
	if elf != "" {
		var err error
		if sf, err = symbols.Open(elf); err != nil {
			fmt.Fprintf(w, "  (no symbols: %v)\n", err)
			sf = nil
		} else {
			defer sf.Close()
		}
	}
	regs := symbols.AllRegs(f.Regs.DWARF())
	c := symbols.Crash{Vector: f.Vector, ErrorCode: f.ErrorCode, CR2: f.Regs.CR2, Regs: regs, RFLAGS: f.Regs.RFLAGS, Summary: f.Summary(), VectorName: guest.VectorName}
	if f.Kind != guest.FaultException {
		c.Vector = -1
	}
	if sf != nil && f.Regs.RIP != 0 {
		bt := sf.Unwind(regs, guest.VirtualMemory{M: m})
		c.Frames, c.StopReason = bt.Frames, bt.Reason
	}
	fmt.Fprintln(w)
	if err := symbols.WriteCrashReport(w, sf, c, symbols.ReportOptions{}); err != nil {
		fmt.Fprintf(w, "ukw: crash report: %v\n", err)
	}
	r := &f.Regs
	fmt.Fprintf(w, "  cr0 %#x  cr2 %#x  cr3 %#x  cr4 %#x  efer %#x  %s\n", r.CR0, r.CR2, r.CR3, r.CR4, r.EFER, guest.FlagsString(r.RFLAGS))
	if f.Kind == guest.FaultException && guest.HasErrorCode(f.Vector) {
		fmt.Fprintf(w, "  error code %#x\n", f.ErrorCode)
	}
}

func writeVGA(w io.Writer, m guest.Machine) {
	vr, ok := m.(guest.VGAReader)
	if !ok {
		fmt.Fprintln(w, "ukw: --vga: this backend cannot read the VGA screen")
		return
	}
	lines, err := vr.VGAText()
	if err != nil {
		fmt.Fprintf(w, "ukw: --vga: %v\n", err)
		return
	}
	fmt.Fprintln(w, "---- VGA text screen (80x25) ----")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "---------------------------------")
}

func writeStats(w io.Writer, s *Stats, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s)
		return
	}
	fmt.Fprintf(w, "stats (%s, %s):\n", s.Backend, s.Image)
	if s.Build > 0 {
		fmt.Fprintf(w, "  %-20s %8d µs\n", "build", s.Build)
	}
	for _, mk := range s.Marks {
		fmt.Fprintf(w, "  %-20s %8d µs\n", mk.Name, mk.US)
	}
	fmt.Fprintf(w, "  %-20s %8d µs (closing the VM)\n", "teardown", s.Teardown)
	if s.Exits > 0 {
		fmt.Fprintf(w, "  %-20s %8d\n", "exits", s.Exits)
	}
	if s.PeakRSS > 0 {
		fmt.Fprintf(w, "  %-20s %8d KiB", "peak RSS", s.PeakRSS)
		if s.GuestRSS > 0 && s.GuestRSS < s.PeakRSS {
			fmt.Fprintf(w, " (guest RAM resident %d KiB, VMM beyond it %d KiB)", s.GuestRSS, s.PeakRSS-s.GuestRSS)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  %-20s %8d µs (ukw run, excluding process start)\n", "total", s.Total)
	if s.Instructions > 0 {
		fmt.Fprintf(w, "  %-20s %8d (single-stepped)\n", "guest instructions", s.Instructions)
	}
	fmt.Fprintf(w, "  %-20s %s, status %d\n", "outcome", s.Outcome, s.Status)
}

// exitCounter is a machine that counts its guest exits (vmm.Machine).
type exitCounter interface {
	Exits() uint64
}

// ramResident is a machine that maps guest RAM in this process and can
// tell how much of it is resident (vmm.Machine).
type ramResident interface {
	GuestRAMResident() (uint64, error)
}

// peakRSS is this process's peak resident set (VmHWM in /proc/self/status), in KiB; 0 if unknown.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}
