package tui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"ukw/guest"
	"ukw/session"
)

// asciiRenderer renders without colours or attributes, so views are stable text.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// recorder collects the commands a pane or model sends.
type recorder struct {
	mu   sync.Mutex
	cmds []session.Command
}

func (r *recorder) Send(c session.Command) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, c)
}

func (r *recorder) sent() []session.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]session.Command(nil), r.cmds...)
}

func (r *recorder) last() session.Command {
	c := r.sent()
	if len(c) == 0 {
		return nil
	}
	return c[len(c)-1]
}

// testCommon returns pane plumbing with ASCII styles and a command recorder.
func testCommon(w, h int) (Common, *recorder) {
	rec := &recorder{}
	c := Common{Styles: DefaultStyles(asciiRenderer()), Keys: DefaultKeyMap(), Send: rec.Send}
	c.SetSize(w, h)
	return c, rec
}

// fakeBackend is a scripted session: it answers LoadSource, Disassemble and
// ReadMemory from the fixture and records every command.
type fakeBackend struct {
	recorder
	ch     chan session.Event
	script bool
	log    io.Writer // when set, every command is written to it, one a line
}

func newFakeBackend(script bool) *fakeBackend {
	return &fakeBackend{ch: make(chan session.Event, 4096), script: script}
}

func (f *fakeBackend) Events() <-chan session.Event { return f.ch }

func (f *fakeBackend) Send(c session.Command) {
	f.recorder.Send(c)
	if f.log != nil {
		fmt.Fprintf(f.log, "%T%+v\n", c, c)
	}
	if !f.script {
		return
	}
	switch c := c.(type) {
	case session.LoadSource:
		f.ch <- session.SourceEvent{File: c.File, Lines: helloSource}
	case session.Disassemble:
		f.ch <- fixtureDisasm()
	case session.ReadMemory:
		if c.Expr == "0xb8000" {
			f.ch <- session.MemoryEvent{Addr: 0xb8000, Err: "no VGA device in this machine"}
			return
		}
		f.ch <- fixtureMemory(c.Len)
	case session.ListLayers:
		f.ch <- fixtureLayers()
	}
}

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "f5":
		return tea.KeyMsg{Type: tea.KeyF5}
	case "f9":
		return tea.KeyMsg{Type: tea.KeyF9}
	case "f10":
		return tea.KeyMsg{Type: tea.KeyF10}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

const helloPath = "/src/examples/hello/hello.c"

var helloSource = strings.Split(`#include "ukw.h"

struct point {
	int x, y;
};

static int square(int n) {
	return n * n;
}

int main(void) {
	struct point p = {3, 4};
	int n = square(p.x) + square(p.y);
	printf("hello, world: %d\n", n);
	return 0;
}`, "\n")

func fixtureFrames() []session.Frame {
	return []session.Frame{
		{Index: 0, PC: 0x100234, CFA: 0x1fffe0, Function: "square", Offset: 4, File: helloPath, Line: 8, Inlined: true},
		{Index: 1, PC: 0x100234, CFA: 0x1fffe0, Function: "main", Offset: 20, File: helloPath, Line: 13},
		{Index: 2, PC: 0x100020, CFA: 0x200000, Function: "_start", Offset: 16},
	}
}

func fixtureRegs() guest.Regs {
	return guest.Regs{RAX: 9, RBX: 0, RCX: 3, RDX: 4, RSI: 0x1000, RDI: 3, RBP: 0x1fffd0, RSP: 0x1fffc0,
		RIP: 0x100234, RFLAGS: 0x246, CS: guest.Segment{Selector: 0x8}, SS: guest.Segment{Selector: 0x10},
		CR0: 0x80000011, CR3: 0x1000, CR4: 0x20, EFER: 0x500}
}

func fixtureStop() session.StopEvent {
	return session.StopEvent{Snap: session.Snapshot{
		Seq: 1, Reason: guest.StopBreakpoint, Detail: "breakpoint 1, square (n=3) at hello.c:8",
		PC: 0x100234, Frames: fixtureFrames(), Regs: fixtureRegs(),
		Changed: []guest.Reg{guest.RAX, guest.RIP, guest.RSP},
		Vars:    []session.Var{{Kind: session.VarArg, Name: "n", Type: "int", Value: "3"}},
	}}
}

func fixtureMainVars() []session.Var {
	return []session.Var{
		{Kind: session.VarLocal, Name: "p", Type: "struct point", Value: "{x = 3, y = 4}", Addr: 0x1fffd8,
			Children: []session.Var{{Name: "x", Type: "int", Value: "3"}, {Name: "y", Type: "int", Value: "4"}}},
		{Kind: session.VarLocal, Name: "n", Type: "int", Value: "<optimized out>"},
	}
}

func fixtureDisasm() session.DisasmEvent {
	return session.DisasmEvent{Addr: 0x100230, Lines: []session.AsmLine{
		{Addr: 0x100230, Text: "push %rbp", Function: "square", Offset: 0, File: helloPath, Line: 7},
		{Addr: 0x100231, Text: "mov %rsp,%rbp", Function: "square", Offset: 1, File: helloPath, Line: 7},
		{Addr: 0x100234, Text: "mov %edi,%eax", Function: "square", Offset: 4, File: helloPath, Line: 8},
		{Addr: 0x100236, Text: "imul %edi,%eax", Function: "square", Offset: 6, File: helloPath, Line: 8},
		{Addr: 0x100239, Text: "pop %rbp", Function: "square", Offset: 9, File: helloPath, Line: 9},
		{Addr: 0x10023a, Text: "ret", Function: "square", Offset: 10, File: helloPath, Line: 9},
	}}
}

func fixtureMemory(n int) session.MemoryEvent {
	if n <= 0 {
		n = 64
	}
	data := make([]byte, n)
	prev := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
		prev[i] = data[i]
	}
	if n > 16 {
		copy(data[16:], "hello, world")
		copy(prev[16:], "hello, world")
	}
	data[min(3, n-1)] = 0xff // changed since the last stop
	// a return address into main at 0x1fffc8
	for i, b := range []byte{0x48, 0x02, 0x10, 0, 0, 0, 0, 0} {
		if 8+i < n {
			data[8+i], prev[8+i] = b, b
		}
	}
	return session.MemoryEvent{Addr: 0x1fffc0, Data: data, Prev: prev, Symbols: map[uint64]string{0x1fffc8: "main+20"}}
}

func fixtureLayers() session.LayersEvent {
	return session.LayersEvent{Layers: []session.Layer{
		{Name: "boot64", Description: "64-bit entry, page tables by the VMM", Provides: []string{"entry"}, Selected: true},
		{Name: "console", Description: "COM1 serial console", Provides: []string{"console"}, Selected: true},
		{Name: "libc-min", Description: "printf, memcpy, strlen", Requires: []string{"console"}, Selected: true},
		{Name: "vga", Description: "VGA text console", Provides: []string{"console"}, Conflicts: []string{"console"}},
	}}
}

func fixtureBreakpoints() session.BreakpointsEvent {
	return session.BreakpointsEvent{List: []session.Breakpoint{
		{ID: 1, Spec: "square", Enabled: true, Addrs: []uint64{0x100234}, Where: "square at hello.c:8", Hits: 1},
		{ID: 2, Spec: "hello.c:14", Enabled: true, Addrs: []uint64{0x100260}, Where: "main at hello.c:14"},
		{ID: 3, Spec: "nosuch.c:3", Enabled: true, Err: "no source file nosuch.c"},
	}}
}

// fixtureSession is a short session: a build, a reload, console output, a stop.
func fixtureSession() []session.Event {
	return []session.Event{
		session.StateEvent{State: session.StateBuilding},
		session.BuildEvent{Phase: session.BuildStarted},
		session.BuildEvent{Phase: session.BuildOK, Duration: 120 * time.Millisecond, Compiled: 2, Cached: 11, ImageBytes: 48 << 10,
			Diagnostics: []session.Diagnostic{{File: helloPath, Line: 13, Col: 6, Severity: "warning", Message: "unused variable 'q'"}}},
		session.StateEvent{State: session.StateRunning},
		session.ConsoleEvent{Data: []byte("ukw boot: long mode, 2 MiB pages\n")},
		session.ConsoleEvent{Data: []byte("hello, world: 25\nticks: 1\nticks: 2\n")},
		session.BreakpointsEvent(fixtureBreakpoints()),
		session.ReloadEvent{Timeline: session.Timeline{Total: 180 * time.Millisecond, Detect: 50 * time.Millisecond,
			Build: 120 * time.Millisecond, Boot: 4 * time.Millisecond, Attach: 2 * time.Millisecond}},
		session.StateEvent{State: session.StateStopped, Detail: "breakpoint 1 at square (hello.c:8)"},
		fixtureStop(),
	}
}

// feed applies events to a pane.
func feed(p Component, evs ...tea.Msg) {
	for _, e := range evs {
		p.Update(e)
	}
}

func mustContain(t *testing.T, view string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(view, w) {
			t.Errorf("view lacks %q:\n%s", w, view)
		}
	}
}

func mustNotContain(t *testing.T, view string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(view, w) {
			t.Errorf("view has %q:\n%s", w, view)
		}
	}
}

// checkSize verifies a view is exactly h lines of at most w cells.
func checkSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := lipgloss.Width(l); n > w {
			t.Errorf("line %d is %d cells wide, want ≤ %d: %q", i, n, w, l)
		}
	}
}

var _ = fmt.Sprintf

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
