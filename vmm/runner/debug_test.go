package runner

import (
	"context"
	"debug/elf"
	"path/filepath"
	"testing"
	"time"

	"ukw/build"
	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/vmm"
)

// TestBreakpointsInUKWApp debugs examples/hello on the native VMM the way
// gdb would: a hardware breakpoint on main, then (lib/panic said HELLO)
// software breakpoints on printf by the probed strategy, then continue to
// the exit.
func TestBreakpointsInUKWApp(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	app, err := build.Load(filepath.Join(repoRoot(t), "examples/hello"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), app, build.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := func(name string) uint64 {
		f, err := elf.Open(res.ELF)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		syms, _ := f.Symbols()
		for _, s := range syms {
			if s.Name == name {
				return s.Value
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	m, err := vmm.New(guest.Config{Image: res.ELF, Cmdline: "hello a b", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ev, cancel := m.Subscribe()
	defer cancel()
	next := func() guest.Event {
		t.Helper()
		if err := m.Continue(); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case e := <-ev:
				switch e.(type) {
				case guest.StopEvent, guest.ExitEvent, guest.FaultEvent:
					return e
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no stop")
			}
		}
	}
	mainBP := guest.Breakpoint{Kind: guest.BreakHardware, Addr: addr("main"), Len: 1}
	if err := m.SetBreakpoint(mainBP); err != nil {
		t.Fatal(err)
	}
	if s, ok := next().(guest.StopEvent); !ok || s.Stop.Reason != guest.StopHWBreakpoint || s.Stop.PC != mainBP.Addr {
		t.Fatalf("not stopped at main: %+v", s)
	}
	m.ClearBreakpoint(mainBP)
	c := m.Caps()
	t.Logf("software breakpoints by %s", c.SWBreakStrategy)
	if c.SWBreakStrategy != "cooperative-int3" && c.SWBreakStrategy != "kvm-sw-bp" {
		t.Fatalf("after lib/panic's HELLO the strategy is %q", c.SWBreakStrategy)
	}
	bp := guest.Breakpoint{Kind: guest.BreakSoftware, Addr: addr("printf"), Len: 1}
	if err := m.SetBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for ; hits < 3; hits++ {
		s, ok := next().(guest.StopEvent)
		if !ok || s.Stop.Reason != guest.StopBreakpoint || s.Stop.PC != bp.Addr {
			t.Fatalf("hit %d: %+v", hits, s)
		}
	}
	m.ClearBreakpoint(bp)
	if x, ok := next().(guest.ExitEvent); !ok || x.Exit.Status != 0 {
		t.Fatalf("end: %+v", x)
	}
}
