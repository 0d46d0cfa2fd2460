package gdbstub

import (
	"errors"
	"net"
	"testing"
	"time"

	"ukw/guest"
)

// pair connects a Client to Serve over a fake machine.
func pair(t *testing.T, m *fakeMachine) (*Client, chan error) {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeOptions(b, m, Options{Logf: t.Logf}) }()
	c, err := NewClient(a, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); b.Close() })
	return c, done
}

func waitEvent(t *testing.T, ch <-chan guest.Event) guest.Event {
	t.Helper()
	for {
		select {
		case e := <-ch:
			if _, ok := e.(guest.LogEvent); ok {
				continue
			}
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
	}
}

func waitStop(t *testing.T, ch <-chan guest.Event) guest.Stop {
	t.Helper()
	e := waitEvent(t, ch)
	st, ok := e.(guest.StopEvent)
	if !ok {
		t.Fatalf("want a stop, got %#v", e)
	}
	return st.Stop
}

func TestClientOverServer(t *testing.T) {
	m := newFake(2)
	c, _ := pair(t, m)
	if c.NumCPU() != 2 || c.State() != guest.Stopped || len(c.Layout()) != len(amd64Layout) {
		t.Fatalf("handshake: %d cpus, %v, %d regs", c.NumCPU(), c.State(), len(c.Layout()))
	}
	if st := c.LastStop(); st.Reason != guest.StopEntry || st.PC != memBase {
		t.Fatalf("entry stop %+v", st)
	}
	// Registers both ways, per vCPU.
	r, err := c.Regs(1)
	if err != nil || r.RAX != 1 || r.FS.Base != 0xf5 {
		t.Fatalf("Regs(1) = rax %d fs_base %#x, %v", r.RAX, r.FS.Base, err)
	}
	r.R12, r.CR3 = 0x1212, 0x5000
	if err := c.SetRegs(1, &r); err != nil {
		t.Fatal(err)
	}
	if m.regs[1].R12 != 0x1212 || m.regs[1].CR3 != 0x5000 || m.regs[0].R12 != 0 {
		t.Fatal("SetRegs wrote the wrong vCPU")
	}
	// Memory, including a partial read at the end of the fake's RAM.
	if err := c.WriteMemory(0, guest.Virtual, 0x1100, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if err := c.ReadMemory(0, guest.Virtual, 0x1100, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
	big := make([]byte, 0x2000)
	err = c.ReadMemory(0, guest.Virtual, 0x1000, big)
	var me *guest.MemError
	if !errors.As(err, &me) || me.Addr != 0x2000 || big[0x101] != 'e' {
		t.Fatalf("partial read: %v", err)
	}
	if err := c.ReadMemory(0, guest.Physical, 0x1000, buf); !errors.Is(err, guest.ErrUnsupported) {
		t.Fatalf("physical read on a non-QEMU stub: %v", err)
	}
	if _, err := c.Regs(5); !errors.Is(err, guest.ErrBadCPU) {
		t.Fatalf("Regs(5): %v", err)
	}
	// Monitor goes through qRcmd.
	if out, err := c.Monitor("caps"); err != nil || len(out) == 0 {
		t.Fatalf("monitor: %q %v", out, err)
	}
}

func TestClientBreakpointsStepOverAndExit(t *testing.T) {
	m := newFake(1)
	c, _ := pair(t, m)
	ev, cancel := c.Subscribe()
	defer cancel()
	bp := guest.Breakpoint{Kind: guest.BreakSoftware, Addr: 0x1010, Len: 1}
	if err := c.SetBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBreakpoint(guest.Breakpoint{Kind: guest.BreakHardware, Addr: 0x1011, Len: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Continue(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Regs(0); !errors.Is(err, guest.ErrRunning) && c.State() == guest.Running {
		t.Fatalf("Regs while running: %v", err)
	}
	st := waitStop(t, ev)
	if st.Reason != guest.StopBreakpoint || st.PC != 0x1010 || st.Regs.RIP != 0x1010 {
		t.Fatalf("first stop %v at %#x", st.Reason, st.PC)
	}
	// Continue from the breakpoint steps off it and runs to the next one.
	if err := c.Continue(); err != nil {
		t.Fatal(err)
	}
	st = waitStop(t, ev)
	if st.Reason != guest.StopHWBreakpoint || st.PC != 0x1011 {
		t.Fatalf("second stop %v at %#x", st.Reason, st.PC)
	}
	if err := c.Step(0); err != nil {
		t.Fatal(err)
	}
	if st = waitStop(t, ev); st.Reason != guest.StopStep || st.PC != 0x1012 {
		t.Fatalf("step stop %v at %#x", st.Reason, st.PC)
	}
	if m.numBreaks() != 2 {
		t.Fatalf("breakpoints after step-over: %d, want 2", m.numBreaks())
	}
	if err := c.ClearBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	// Interrupt a long run.
	m.runDelay = time.Millisecond
	if err := c.Continue(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := c.Interrupt(); err != nil {
		t.Fatal(err)
	}
	if st = waitStop(t, ev); st.Reason != guest.StopInterrupt {
		t.Fatalf("interrupt stop %v", st.Reason)
	}
	// Run to the end: the server's W becomes an ExitEvent.
	m.runDelay = 0
	c.ClearBreakpoint(guest.Breakpoint{Kind: guest.BreakHardware, Addr: 0x1011, Len: 1})
	if err := c.Continue(); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, ev)
	if ex, ok := e.(guest.ExitEvent); !ok || ex.Exit.Status != fakeExit {
		t.Fatalf("want exit %d, got %#v", fakeExit, e)
	}
	if c.State() != guest.Finished {
		t.Fatal("not finished after exit")
	}
	if err := c.Continue(); !errors.Is(err, guest.ErrFinished) {
		t.Fatalf("Continue after exit: %v", err)
	}
}

func TestClientUnsupportedAndSlots(t *testing.T) {
	m := newFake(1)
	m.noWatch = true
	c, _ := pair(t, m)
	if err := c.SetBreakpoint(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x1100, Len: 4}); !errors.Is(err, guest.ErrUnsupported) {
		t.Fatalf("unsupported watchpoint: %v", err)
	}
	for i := 0; i < 4; i++ {
		if err := c.SetBreakpoint(guest.Breakpoint{Kind: guest.BreakHardware, Addr: 0x1100 + uint64(i), Len: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetBreakpoint(guest.Breakpoint{Kind: guest.BreakHardware, Addr: 0x1200, Len: 1}); !errors.Is(err, guest.ErrNoSlots) {
		t.Fatalf("fifth hw breakpoint: %v", err)
	}
}

func TestClientDetachAndKill(t *testing.T) {
	m := newFake(1)
	m.runDelay = time.Millisecond
	c, done := pair(t, m)
	c.SetBreakpoint(guest.Breakpoint{Kind: guest.BreakSoftware, Addr: 0x1f80, Len: 1})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m.numBreaks() != 0 || m.State() != guest.Running {
		t.Fatalf("after Close: %d breakpoints, %v", m.numBreaks(), m.State())
	}
	c2, done2 := pair(t, m)
	ev, cancel := c2.Subscribe()
	defer cancel()
	if err := c2.Kill(); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, ev); e.(guest.ExitEvent).Exit.How != guest.ExitKilled {
		t.Fatalf("kill event %#v", e)
	}
	if err := <-done2; err != nil || !m.killed {
		t.Fatalf("server after k: %v, killed %v", err, m.killed)
	}
}

// BenchmarkRoundTrip measures m and g packet round trips through Client
// and Serve over a fake machine (the protocol and codec cost alone).
func BenchmarkRoundTrip(b *testing.B) {
	m := newFake(1)
	a, s := net.Pipe()
	go Serve(s, m)
	c, err := NewClient(a, ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	b.Run("m64", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := c.ReadMemory(0, guest.Virtual, 0x1000, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("g", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := c.Regs(0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
