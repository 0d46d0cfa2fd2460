package trace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/vmm"
)

// onlyMachine hides every optional interface of a backend (LiveMemory,
// Sample), as a QEMU or libvirt machine would look.
type onlyMachine struct{ guest.Machine }

// TestFollowerReadsAtStops boots tracetree on the native VMM, stops it at
// fib's first instruction with a hardware breakpoint, and checks that the
// stop alone brought the trace up to date: everything before the first
// fib call, nothing after. Then it runs the guest to its end. Once with
// live memory, once through guest.Machine's ReadMemory only.
func TestFollowerReadsAtStops(t *testing.T) {
	testenv.KVM(t)
	f := buildGuest(t, "tracetree")
	im, err := NewImage(f)
	if err != nil {
		t.Fatal(err)
	}
	fib := f.LookupSymbol("fib")
	if len(fib) != 1 {
		t.Fatalf("fib symbols %+v", fib)
	}
	for _, live := range []bool{true, false} {
		m, err := vmm.New(guest.Config{Image: f.Path(), Cmdline: "tracetree", Timeout: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var gm guest.Machine = m
		if !live {
			gm = onlyMachine{m}
		}
		fo := NewFollower(im, gm)
		if fo.Live() != live {
			t.Fatalf("Live() = %v, want %v", fo.Live(), live)
		}
		tail := NewTail(100)
		if err := m.SetBreakpoint(guest.Breakpoint{Kind: guest.BreakHardware, Addr: fib[0].Addr, Len: 1}); err != nil {
			t.Fatal(err)
		}
		ev, cancel := m.Subscribe()
		if err := m.Continue(); err != nil {
			t.Fatal(err)
		}
		stopped := false
		for e := range ev {
			tail.Add(fo.Handle(e))
			if s, ok := e.(guest.StopEvent); ok {
				if stopped {
					t.Fatalf("second stop %+v", s.Stop)
				}
				stopped = true
				if s.Stop.PC != fib[0].Addr {
					t.Fatalf("stopped at %#x, want fib %#x", s.Stop.PC, fib[0].Addr)
				}
				want := "main 1\n  work 3\n    step 3\n      leaf 6\n    square 3\n    leaf 2\n"
				if got := TreeShape(fo.Trace.Tree()); got != want {
					t.Fatalf("live=%v: tree at the stop:\n%s\nwant:\n%s", live, got, want)
				}
				last := tail.Last(Filter{}, 1)
				if len(last) != 1 || last[0].Type != RecExit || last[0].Func.Name != "work" {
					t.Fatalf("last event at the stop: %+v", last)
				}
				if open := fo.Trace.Open(); len(open) != 1 || open[0].Name != "main" {
					t.Fatalf("open calls at the stop: %+v", open)
				}
				m.ClearBreakpoint(guest.Breakpoint{Kind: guest.BreakHardware, Addr: fib[0].Addr, Len: 1})
				if err := m.Continue(); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := e.(guest.ExitEvent); ok {
				break
			}
			if fe, ok := e.(guest.FaultEvent); ok {
				t.Fatalf("fault: %s", fe.Fault.Summary())
			}
		}
		cancel()
		if !stopped || !fo.Announced || len(fo.Warnings) > 0 {
			t.Fatalf("stopped %v, announced %v, warnings %v", stopped, fo.Announced, fo.Warnings)
		}
		shape := TreeShape(fo.Trace.Tree())
		if !strings.HasPrefix(shape, "main 1\n") || !strings.Contains(shape, "  fib 1\n    fib 2\n      fib 4\n        fib 2\n") {
			t.Fatalf("live=%v: final tree:\n%s", live, shape)
		}
		if pts := tail.Last(Filter{PointsOnly: true}, 0); len(pts) != 4 || pts[3].Text != "total=38 reps=1" {
			t.Fatalf("tracepoints %+v", pts)
		}
	}
}

// TestSampleOnRealGuest takes samples of hot through a StackSampler
// (vmm.Machine.Sample) and checks they unwind to hot_spin under main.
func TestSampleOnRealGuest(t *testing.T) {
	testenv.KVM(t)
	f := buildGuest(t, "hot")
	m, err := vmm.New(guest.Config{Image: f.Path(), Cmdline: "hot 400", Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // past warm_setup
	ss, err := NewStackSampler(m, f)
	if err != nil {
		t.Fatal(err)
	}
	hot := 0
	for i := 0; i < 20; i++ {
		time.Sleep(5 * time.Millisecond)
		st, hold, err := ss.Sample()
		if err != nil {
			t.Fatal(err)
		}
		if hold <= 0 {
			t.Errorf("hold %v", hold)
		}
		if len(st) >= 2 && st[len(st)-1] == "hot_spin" && st[len(st)-2] == "main" {
			hot++
		} else {
			t.Logf("sample %d: %v", i, st)
		}
	}
	if hot < 18 {
		t.Fatalf("%d of 20 samples in main → hot_spin", hot)
	}
	if _, err := NewStackSampler(onlyMachine{m}, f); err == nil {
		t.Error("a machine without Sample accepted")
	}
	if m.State() != guest.Running {
		t.Fatalf("sampling stopped the guest: %v", m.State())
	}
	// Live memory reads a running guest, is bounds-checked, and ends with it.
	pm, err := m.LiveMemory()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if err := pm.ReadPhysical(0x100000, b); err != nil || string(b) != "\x02\xb0\xad\x1b" {
		t.Fatalf("multiboot magic at 1 MiB: % x, %v", b, err)
	}
	var me *guest.MemError
	if err := pm.ReadPhysical(1<<40, b); !errors.As(err, &me) {
		t.Fatalf("read outside RAM: %v", err)
	}
	m.Close()
	if err := pm.ReadPhysical(0x100000, b); !errors.Is(err, guest.ErrFinished) {
		t.Fatalf("read after Close: %v", err)
	}
	if _, _, err := ss.Sample(); !errors.Is(err, guest.ErrFinished) {
		t.Fatalf("sample after Close: %v", err)
	}
}

// TestRingOverflowIsCounted gives tracetree ×20 (1103 records) a 64-record
// ring and no reader while it runs: the guest keeps going, keeps the first
// 64 records and counts the other 1039 as dropped.
func TestRingOverflowIsCounted(t *testing.T) {
	testenv.KVM(t)
	dir := testenv.CopyApp(t, filepath.Join("..", "testdata", "guests", "tracetree"))
	y, err := os.ReadFile(filepath.Join(dir, "ukw.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y = append(y, "options:\n  lib/trace.ring_kib: 4\n"...)
	if err := os.WriteFile(filepath.Join(dir, "ukw.yaml"), y, 0o644); err != nil {
		t.Fatal(err)
	}
	f := buildDir(t, dir)
	im, err := NewImage(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vmm.New(guest.Config{Image: f.Path(), Cmdline: "tracetree 20", Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fo := NewFollower(im, onlyMachine{m})
	ev, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	var exit *guest.Exit
	for exit == nil {
		e := <-ev
		fo.Handle(e)
		switch e := e.(type) {
		case guest.ExitEvent:
			exit = &e.Exit
		case guest.FaultEvent:
			t.Fatalf("fault: %s", e.Fault.Summary())
		}
	}
	if exit.Status != 0 {
		t.Fatalf("exit %+v", exit)
	}
	if fo.Trace.Records != 64 || fo.Dropped() != 1103-64 || len(fo.Warnings) > 0 {
		t.Fatalf("%d records, %d dropped, warnings %v; want 64 and 1039", fo.Trace.Records, fo.Dropped(), fo.Warnings)
	}
	if h := fo.rd.Header(); h.NRecs != 64 || h.Head != 64 {
		t.Fatalf("header %+v", h)
	}
}
