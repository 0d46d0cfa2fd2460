package vmm

import (
	"debug/elf"
	"errors"
	"strings"
	"testing"
	"time"

	"ukw/guest"
)

// symbol returns the address of name in the ELF at path.
func symbol(t testing.TB, path, name string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("no symbol %s in %s", name, path)
	return 0
}

func TestProbe(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "0"})
	c := m.Caps()
	t.Logf("caps %+v", c)
	if c.Backend != "kvm" || !c.SingleStep || c.HWBreakpoints != 4 || !c.SWBreakpoints {
		t.Fatalf("caps %+v", c)
	}
	if c.SWBreakStrategy != stratKVMSWBP && c.SWBreakStrategy != stratHWSlots {
		t.Fatalf("before HELLO the strategy is %q", c.SWBreakStrategy)
	}
}

// TestBreakpointsEveryStrategy sets a breakpoint on leaf (called three
// times) with each kind, continues through every hit, and checks the stop.
func TestBreakpointsEveryStrategy(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	leaf := symbol(t, img, "leaf")
	for _, c := range []struct {
		name  string
		kind  guest.BreakKind
		hello bool // let the guest say HELLO first (cooperative int3)
		want  guest.StopReason
	}{
		{"hw", guest.BreakHardware, false, guest.StopHWBreakpoint},
		{"sw-before-hello", guest.BreakSoftware, false, guest.StopBreakpoint},
		{"sw-after-hello", guest.BreakSoftware, true, guest.StopBreakpoint},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMachine(t, guest.Config{Image: img, Cmdline: "c", Timeout: 30 * time.Second})
			if c.hello {
				// Run to the first call of leaf with a hardware slot, then swap it.
				hw := guest.Breakpoint{Kind: guest.BreakHardware, Addr: leaf, Len: 1}
				if err := m.SetBreakpoint(hw); err != nil {
					t.Fatal(err)
				}
				r := runToEnd(t, m, false)
				if len(r.stops) != 1 || r.stops[0].PC != leaf {
					t.Fatalf("first stop %+v exit %+v fault %+v", r.stops, r.exit, r.fault)
				}
				if err := m.ClearBreakpoint(hw); err != nil {
					t.Fatal(err)
				}
				if s := m.Caps().SWBreakStrategy; s != stratCoopInt3 && s != stratKVMSWBP {
					t.Fatalf("after HELLO the strategy is %q", s)
				}
			}
			bp := guest.Breakpoint{Kind: c.kind, Addr: leaf, Len: 1}
			if err := m.SetBreakpoint(bp); err != nil {
				t.Fatal(err)
			}
			if c.kind == guest.BreakSoftware && m.Caps().SWBreakStrategy != stratHWSlots {
				b := make([]byte, 1)
				if err := m.ReadMemory(0, guest.Virtual, leaf, b); err != nil || b[0] == 0xcc {
					t.Fatalf("memory read shows the planted int3 (%#x, %v)", b[0], err)
				}
			}
			hits := 0
			if c.hello {
				hits = 1
			}
			for {
				r := runToEnd(t, m, false)
				if r.exit != nil {
					if r.exit.Status != 13 {
						t.Fatalf("exit %+v", r.exit)
					}
					break
				}
				if len(r.stops) != 1 || r.stops[0].Reason != c.want || r.stops[0].PC != leaf || r.stops[0].Regs.RIP != leaf {
					t.Fatalf("stop %+v fault %+v", r.stops, r.fault)
				}
				hits++
				cnt := make([]byte, 8)
				if err := m.ReadMemory(0, guest.Virtual, symbol(t, img, "counter"), cnt); err != nil {
					t.Fatal(err)
				}
				if int(cnt[0]) != hits-1 {
					t.Fatalf("counter %d at hit %d: the breakpoint did not stop before leaf ran", cnt[0], hits)
				}
			}
			if hits != 3 {
				t.Fatalf("%d hits, want 3", hits)
			}
		})
	}
}

// TestStep single-steps the 100-iteration countdown (3 instructions per
// round) and checks rip moves one instruction at a time.
func TestStep(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "s-"})
	entry, _ := m.Regs(0)
	r := runToEnd(t, m, true)
	if len(r.stops) != 1 || r.stops[0].Reason != guest.StopStep {
		t.Fatalf("step ended with %+v %+v %+v", r.stops, r.exit, r.fault)
	}
	if r.stops[0].PC == entry.RIP || r.stops[0].PC-entry.RIP > 15 {
		t.Fatalf("one step went from %#x to %#x", entry.RIP, r.stops[0].PC)
	}
	steps := 1
	for {
		r := runToEnd(t, m, true)
		steps++
		if r.exit != nil {
			if r.exit.Status != 14 {
				t.Fatalf("exit %+v", r.exit)
			}
			break
		}
		if len(r.stops) != 1 || r.stops[0].Reason != guest.StopStep {
			t.Fatalf("step %d: %+v %+v", steps, r.stops, r.fault)
		}
	}
	// Entry to the loop: a few dozen instructions of printing plus 3x100.
	if steps < 300 || steps > 2000 {
		t.Fatalf("%d steps", steps)
	}
	t.Logf("%d instructions single-stepped", steps)
}

// TestInterruptAndKill: Interrupt stops a spinning guest quickly, Kill ends it.
func TestInterruptAndKill(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "l"})
	ev, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := m.Regs(0); !errors.Is(err, guest.ErrRunning) {
		t.Fatalf("Regs while running: %v", err)
	}
	start := time.Now()
	m.Interrupt()
	r := collect(t, ev)
	took := time.Since(start)
	if len(r.stops) != 1 || r.stops[0].Reason != guest.StopInterrupt {
		t.Fatalf("got %+v %+v %+v", r.stops, r.exit, r.fault)
	}
	t.Logf("Interrupt to StopEvent: %v", took)
	if m.State() != guest.Stopped {
		t.Fatalf("state %v", m.State())
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	r = collect(t, ev)
	if r.exit == nil || r.exit.How != guest.ExitKilled || m.State() != guest.Finished {
		t.Fatalf("after Kill: %+v %+v, state %v", r.exit, r.fault, m.State())
	}
}

// TestWatchpoints: where no watch strategy works, SetBreakpoint must
// refuse with ErrUnsupported so that gdb falls back to software
// watchpoints; elsewhere (debug registers, or read-only memslots on
// kvm-pvm: watch_test.go) the watchpoint fires.
func TestWatchpoints(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	counter := symbol(t, img, "counter")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "w"})
	// Let the guest say HELLO (a hardware breakpoint on the loop).
	hw := guest.Breakpoint{Kind: guest.BreakHardware, Addr: symbol(t, img, "do_watch"), Len: 1}
	if err := m.SetBreakpoint(hw); err != nil {
		t.Fatal(err)
	}
	runToEnd(t, m, false)
	m.ClearBreakpoint(hw)
	err := m.SetBreakpoint(guest.Breakpoint{Kind: guest.WatchWrite, Addr: counter, Len: 4})
	c := m.Caps()
	if !c.Watchpoints {
		if !errors.Is(err, guest.ErrUnsupported) {
			t.Fatalf("caps say no watchpoints, SetBreakpoint said %v", err)
		}
		t.Logf("watchpoints refused as expected: %v (notes %q)", err, c.Notes)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	r := runToEnd(t, m, false)
	if len(r.stops) != 1 || r.stops[0].Reason != guest.StopWatchpoint || r.stops[0].Addr != counter {
		t.Fatalf("watch: %+v %+v %+v", r.stops, r.exit, r.fault)
	}
}

// TestConsoleInput feeds COM1's receiver; the guest echoes a line.
func TestConsoleInput(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "e", Timeout: 20 * time.Second})
	ev, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteConsole([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	r := collect(t, ev)
	wantExit(t, r, guest.ExitPort, 12)
	if r.console != "guest64: e\nping\n" {
		t.Fatalf("console %q", r.console)
	}
}

// TestRebootAndVGA reboots a finished machine and runs it again.
func TestRebootAndVGA(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "6"})
	for i := 0; i < 2; i++ {
		r := runToEnd(t, m, false)
		wantExit(t, r, guest.ExitPort, 6)
		if err := m.Reboot(); err != nil {
			t.Fatal(err)
		}
		if m.State() != guest.Stopped {
			t.Fatalf("state after reboot %v", m.State())
		}
	}
	lines, err := m.VGAText()
	if err != nil || len(lines) != 25 {
		t.Fatalf("VGAText: %d lines, %v", len(lines), err)
	}
}

func TestMonitor(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "0"})
	var _ guest.Monitor = m
	out, err := m.Monitor("caps")
	if err != nil || !strings.Contains(out, "hardware breakpoints: 4") || !strings.Contains(out, "single-step: true") {
		t.Fatalf("caps: %q %v", out, err)
	}
	runToEnd(t, m, false)
	if out, err := m.Monitor("timeline"); err != nil || !strings.Contains(out, "first instruction") {
		t.Fatalf("timeline: %q %v", out, err)
	}
	if _, err := m.Monitor("frobnicate"); !errors.Is(err, guest.ErrUnsupported) {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestTranslateAgainstKVM compares the VMM's page walk with KVM_TRANSLATE
// on the guest's live page tables (the VMM's identity map, long mode).
func TestTranslateAgainstKVM(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "0"})
	err := m.call(true, func() error {
		tr, err := m.v.mmu()
		if err != nil {
			return err
		}
		for _, va := range []uint64{0x100000, 0x1234567, 0xb8000, 0xfffff000, 0x100000000} {
			mine, myErr := tr.translate(m.v.mem, va)
			k, err := m.v.cpu.Translate(va)
			if err != nil {
				return err
			}
			if (myErr == nil) != (k.Valid == 1) || (myErr == nil && mine != k.PhysicalAddress) {
				t.Errorf("%#x: page walk %#x (%v), KVM_TRANSLATE %#x valid %d", va, mine, myErr, k.PhysicalAddress, k.Valid)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
