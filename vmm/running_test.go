package vmm

import (
	"errors"
	"testing"
	"time"

	"ukw/guest"
)

// TestRequestsWhileRunning: requests that work on a running machine (Caps,
// which runs the probe on the vCPU thread, Sample, LiveMemory) are answered
// at once, and those that need a stop (Regs, ReadMemory, SetBreakpoint)
// refuse with ErrRunning at once, however often they come. Before the
// pending-request fix, Caps on a running machine waited for some other kick.
func TestRequestsWhileRunning(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "l"})
	ev, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	within := func(what string, fn func() error) error {
		t.Helper()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- fn() }()
		select {
		case err := <-done:
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Logf("%s took %v", what, d)
			}
			return err
		case <-time.After(5 * time.Second):
			t.Fatalf("%s on a running machine did not return within 5 s", what)
			return nil
		}
	}
	for i := 0; i < 50; i++ {
		var c guest.Caps
		within("Caps", func() error { c = m.Caps(); return nil })
		if c.SWBreakStrategy == "" {
			t.Fatalf("Caps while running: no probe result: %+v", c)
		}
		if err := within("Regs", func() error { _, err := m.Regs(0); return err }); !errors.Is(err, guest.ErrRunning) {
			t.Fatalf("Regs while running: %v", err)
		}
		if err := within("ReadMemory", func() error { return m.ReadMemory(0, guest.Virtual, 0x100000, make([]byte, 8)) }); !errors.Is(err, guest.ErrRunning) {
			t.Fatalf("ReadMemory while running: %v", err)
		}
		if err := within("Sample", func() error {
			return m.Sample(func(r *guest.Regs, read func(uint64, []byte) error) {})
		}); err != nil {
			t.Fatalf("Sample while running: %v", err)
		}
	}
	start := time.Now()
	for i := 0; i < 100; i++ {
		within("Caps", func() error { m.Caps(); return nil })
	}
	t.Logf("Caps on a running machine: %v each (after the probe)", time.Since(start)/100)
	if m.State() != guest.Running {
		t.Fatalf("state %v, want running", m.State())
	}
	m.Interrupt()
	r := collect(t, ev)
	if len(r.stops) != 1 || r.stops[0].Reason != guest.StopInterrupt {
		t.Fatalf("after Interrupt: %+v %+v %+v", r.stops, r.exit, r.fault)
	}
}
