package tui

import (
	"strings"
	"testing"

	"ukw/guest"
	"ukw/session"
)

func TestRegistersChangedAndFlags(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneRegisters)
		c, _ := testCommon(w, h)
		p := NewRegistersPane(c)
		mustContain(t, p.View(), "no registers")
		feed(p, fixtureStop())
		v := p.View()
		checkSize(t, v, w, h)
		if l := lineWith(v, "rax"); !strings.Contains(l, "rax     0x0000000000000009 *") {
			t.Errorf("rax changed: %q", l)
		}
		if l := lineWith(v, "rbx"); strings.Contains(strings.SplitN(l, "rbx", 2)[1], "*") && !strings.Contains(l, "rax") {
			t.Errorf("rbx did not change: %q", l)
		}
		if h < 20 {
			feed(p, press("pgdown"))
		}
		mustContain(t, p.View(), "[ PF ZF IF ]")
		feed(p, press("pgup"))
		if w >= 2*regCell {
			if l := lineWith(v, "rax"); !strings.Contains(l, "rbx") {
				t.Errorf("at %d columns two registers share a row: %q", w, l)
			}
		}
		// another frame's registers: nothing is "changed" there
		r := fixtureRegs()
		r.RBX = 0x77
		feed(p, session.FrameEvent{Index: 1, Regs: r})
		v = p.View()
		mustContain(t, v, "0x0000000000000077")
		mustNotContain(t, v, " *")
		if p.Info() != "frame #1" {
			t.Errorf("Info = %q", p.Info())
		}
		feed(p, session.StateEvent{State: session.StateRunning})
		if p.Info() != "last stop" {
			t.Errorf("running: Info = %q", p.Info())
		}
	}
}

func TestRegistersScroll(t *testing.T) {
	c, _ := testCommon(30, 5)
	p := NewRegistersPane(c)
	feed(p, fixtureStop())
	mustContain(t, p.View(), "rax")
	feed(p, press("pgdown"))
	v := p.View()
	mustNotContain(t, v, "rax")
	mustContain(t, v, "rdi")
	feed(p, ScrollMsg{Delta: -10})
	mustContain(t, p.View(), "rax")
}

func TestBacktraceSelect(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneBacktrace)
		c, rec := testCommon(w, h)
		p := NewBacktracePane(c)
		p.SetFocus(true)
		feed(p, fixtureStop())
		v := p.View()
		checkSize(t, v, w, h)
		mustContain(t, v, "=>#0  [inline] square+4 at hello", "  #1  main+20 at hello.c:13", "#2  _start+16 (0x100020)")
		feed(p, press("down"), press("enter"))
		if got := rec.last(); got != (session.SelectFrame{Index: 1}) {
			t.Fatalf("enter sent %#v", got)
		}
		feed(p, session.FrameEvent{Index: 1, Frame: fixtureFrames()[1]})
		mustContain(t, p.View(), "=>#1  main+20")
		// click on frame #2
		feed(p, ClickMsg{Y: 2})
		if got := rec.last(); got != (session.SelectFrame{Index: 2}) {
			t.Errorf("click sent %#v", got)
		}
		// a stale backtrace (guest running) does not select
		n := len(rec.sent())
		feed(p, session.StateEvent{State: session.StateRunning}, press("enter"))
		if len(rec.sent()) != n {
			t.Errorf("selected a frame of a running guest")
		}
	}
}

func TestBacktraceFault(t *testing.T) {
	c, _ := testCommon(40, 6)
	p := NewBacktracePane(c)
	feed(p, session.FaultEvent{Fault: guest.Fault{}, Frames: fixtureFrames()[1:]})
	mustContain(t, p.View(), "main+20 at hello.c:13")
	if p.Info() != "crash" {
		t.Errorf("Info = %q", p.Info())
	}
}

func TestLocalsExpand(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneLocals)
		c, _ := testCommon(w, h)
		p := NewLocalsPane(c)
		p.SetFocus(true)
		mustContain(t, p.View(), "no locals")
		feed(p, fixtureStop())
		mustContain(t, p.View(), "args:", "n = 3  int")
		feed(p, session.FrameEvent{Index: 1, Frame: fixtureFrames()[1], Vars: fixtureMainVars()})
		v := p.View()
		checkSize(t, v, w, h)
		mustContain(t, v, "locals:", "▸ p = {x = 3, y = 4}", "n = <optimized out>")
		mustNotContain(t, v, "x = 3  int")
		feed(p, press("down"), press("enter")) // the cursor starts on the "locals:" header
		mustContain(t, p.View(), "▾ p = {x = 3, y = 4}", "      x = 3  int", "      y = 4  int")
		// the expansion survives the next stop in the same frame
		feed(p, session.FrameEvent{Index: 1, Frame: fixtureFrames()[1], Vars: fixtureMainVars()})
		mustContain(t, p.View(), "y = 4  int")
		// left on a child goes to its parent, left again collapses
		feed(p, press("down"), press("down"), press("left"), press("left"))
		mustNotContain(t, p.View(), "y = 4  int")
	}
}

// After a crash the pane shows the fault's registers, not "no registers".
func TestRegistersAtAFault(t *testing.T) {
	c, _ := testCommon(60, 12)
	p := NewRegistersPane(c)
	r := fixtureRegs()
	r.RIP = 0x102153
	feed(p, session.FaultEvent{Fault: guest.Fault{Kind: guest.FaultException, Vector: 14, Regs: r}}, session.StateEvent{State: session.StateFaulted})
	mustContain(t, p.View(), "rip     0x0000000000102153")
	if p.Info() != "at the fault" {
		t.Errorf("Info = %q", p.Info())
	}
	feed(p, session.StateEvent{State: session.StateRunning}) // a reboot
	if p.Info() != "last stop" {
		t.Errorf("after a reboot: Info = %q", p.Info())
	}
}

// After a crash the Locals pane shows frame #0's variables at the fault.
func TestLocalsAtAFault(t *testing.T) {
	c, _ := testCommon(60, 8)
	p := NewLocalsPane(c)
	feed(p, session.FaultEvent{Vars: []session.Var{{Kind: session.VarArg, Name: "slot", Type: "int *", Value: "0x0"}}},
		session.StateEvent{State: session.StateFaulted})
	mustContain(t, p.View(), "slot = 0x0")
	if p.Info() != "at the fault" {
		t.Errorf("Info = %q", p.Info())
	}
}
