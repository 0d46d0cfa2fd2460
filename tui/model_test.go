package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

func typeLine(m *Model, b *fakeBackend, s string) {
	for _, r := range s {
		keys(m, b, string(r))
	}
}

func TestFocusKeys(t *testing.T) {
	m, b := newDriven(80, 24)
	if !strings.HasPrefix(m.View(), "═ Source") {
		t.Fatalf("the source pane starts focused:\n%s", m.View())
	}
	keys(m, b, "tab")
	v := m.View()
	if m.focus != paneRegisters || !strings.Contains(lineWith(v, "[Registers]"), "═") {
		t.Errorf("tab focuses registers:\n%s", v)
	}
	keys(m, b, "tab") // backtrace shares the slot: it becomes the shown tab
	mustContain(t, m.View(), "Registers [Backtrace] Locals", "=>#0")
	keys(m, b, "shift+tab", "shift+tab", "shift+tab")
	if m.focus != paneProfile || !strings.Contains(m.View(), "[Profile]") {
		t.Errorf("shift+tab wraps to the profile view (focus %d)", m.focus)
	}
	keys(m, b, "9")
	if m.focus != paneTrace || !strings.Contains(m.View(), "[Trace]") {
		t.Errorf("9 focuses the trace pane (focus %d)", m.focus)
	}
	keys(m, b, "0")
	if m.focus != paneProfile {
		t.Errorf("0 focuses the profile view (focus %d)", m.focus)
	}
	keys(m, b, "6")
	if m.focus != paneConsole || !strings.Contains(m.View(), "[Console]") {
		t.Errorf("6 focuses the console")
	}
	// on a large terminal every pane has its own slot
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	v = m.View()
	checkSize(t, v, 200, 50)
	for _, title := range []string{"─ Source", "─ Registers", "─ Backtrace", "─ Locals", "═ Console", "─ Memory Trace [Profile]", "─ Build", "─ Layers"} {
		mustContain(t, v, title)
	}
	// too small, then back
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 10})
	mustContain(t, m.View(), "terminal too small for ukw: 40x10")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	checkSize(t, m.View(), 80, 24)
}

func TestMouse(t *testing.T) {
	m, b := newDriven(80, 24)
	l := m.lay
	right := l.slots[1]
	// click on "Locals" in the right slot's title bar
	x := strings.Index(lineWith(m.View(), "Locals"), "Locals")
	x = len([]rune(lineWith(m.View(), "Locals")[:x]))
	m.Update(tea.MouseMsg{X: x + 1, Y: right.y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if m.focus != paneLocals {
		t.Fatalf("clicking the Locals tab focused %d", m.focus)
	}
	mustContain(t, m.View(), "Registers Backtrace [Locals]")
	// click on source line 10 (body row): focus and cursor
	src := l.slots[0]
	m.Update(tea.MouseMsg{X: 10, Y: src.y + 1 + 7, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if m.focus != paneSource || m.src.list.cursor+1 != 10 {
		t.Errorf("click in source: focus %d, cursor line %d", m.focus, m.src.list.cursor+1)
	}
	keys(m, b, "b")
	if got := b.last(); got != (session.Break{Spec: "hello.c:10"}) {
		t.Errorf("b after the click sent %#v", got)
	}
	// wheel over the console scrolls it without moving the focus
	drive(m, b, session.ConsoleEvent{Data: []byte(strings.Repeat("x\n", 50))})
	m.Update(tea.MouseMsg{X: 5, Y: l.slots[2].y + 2, Action: tea.MouseActionPress, Button: tea.MouseButtonWheelUp})
	if m.focus != paneSource || m.console.follow {
		t.Errorf("wheel: focus %d, console following %v", m.focus, m.console.follow)
	}
	// click on the command line row focuses it
	m.Update(tea.MouseMsg{X: 3, Y: l.mainH + l.msgH, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if !m.cmdFocus {
		t.Error("clicking the command line should focus it")
	}
}

func TestRunKeys(t *testing.T) {
	m, b := newDriven(80, 24)
	for k, want := range map[string]session.Command{
		"c": session.Continue{}, "f5": session.Continue{}, "n": session.Next{}, "f10": session.Next{},
		"s": session.Step{}, "f": session.Finish{}, "i": session.StepInstr{}, "I": session.NextInstr{},
		"p": session.Interrupt{}, "B": session.Rebuild{}, "R": session.Reboot{},
		"f9": session.Delete{ID: 1}, // the cursor is on the stop line, where breakpoint 1 is
	} {
		keys(m, b, k)
		if got := b.last(); got != want {
			t.Errorf("%s sent %#v, want %#v", k, got, want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	m, b := newDriven(80, 24)
	keys(m, b, ":")
	typeLine(m, b, "b main")
	mustContain(t, m.View(), "(ukw) b main")
	keys(m, b, "enter")
	if got := b.last(); got != (session.Break{Spec: "main"}) {
		t.Fatalf("b main sent %#v", got)
	}
	mustContain(t, m.View(), "(ukw) b main") // echoed in the messages
	// an error is shown inline and the text kept for editing
	typeLine(m, b, "frobnicate")
	n := len(b.sent())
	keys(m, b, "enter")
	if len(b.sent()) != n {
		t.Errorf("a bad line was sent: %#v", b.sent()[n:])
	}
	if l := lineWith(m.View(), "(ukw) frobnicate"); !strings.Contains(l, `✗ unknown command "frobnicate"`) {
		t.Errorf("inline error: %q", l)
	}
	keys(m, b, "ctrl+u")
	// ':' pressed again on the focused, empty line is not typed
	typeLine(m, b, ":p n*2")
	if strings.Contains(m.View(), "(ukw) :p") {
		t.Error("a second ':' went into the command line")
	}
	keys(m, b, "enter")
	if got := b.last(); got != (session.Print{Expr: "n*2"}) {
		t.Errorf("p sent %#v", got)
	}
	drive(m, b, session.OutputEvent{Text: "$1 = 6"}, session.OutputEvent{Text: "No symbol \"q\" in current context.", Error: true})
	mustContain(t, m.View(), "$1 = 6", `No symbol "q"`)
	// history: up twice gives the first command, down back to the empty draft
	keys(m, b, "up", "up")
	mustContain(t, m.View(), "(ukw) b main")
	keys(m, b, "down")
	mustContain(t, m.View(), "(ukw) p n*2")
	keys(m, b, "down", "f5")
	if got := b.last(); got != (session.Continue{}) {
		t.Errorf("F5 on the command line sent %#v", got)
	}
	// commands the TUI handles itself
	typeLine(m, b, "frame 1")
	keys(m, b, "enter")
	if got := b.last(); got != (session.SelectFrame{Index: 1}) {
		t.Errorf("frame 1 sent %#v", got)
	}
	typeLine(m, b, "disassemble")
	keys(m, b, "enter")
	if !m.src.asm {
		t.Error("disassemble should switch the source pane to assembly")
	}
	typeLine(m, b, "list printf")
	keys(m, b, "enter")
	if got := b.last(); got != (session.List{Spec: "printf"}) {
		t.Errorf("list sent %#v", got)
	}
	// the session's answer shows the place in the source pane
	drive(m, b, session.LocationEvent{Spec: "printf", File: "/src/lib/printf.c", Line: 40})
	if got := b.last(); got != (session.LoadSource{File: "/src/lib/printf.c"}) || m.src.asm || m.src.file != "/src/lib/printf.c" || !m.cmdFocus {
		t.Errorf("a LocationEvent sent %#v (asm %v, file %q, command line focused %v)", got, m.src.asm, m.src.file, m.cmdFocus)
	}
	drive(m, b, session.LocationEvent{Spec: "nope", Err: "list nope: no such function or source file"})
	mustContain(t, m.View(), "no such function")
	typeLine(m, b, "layers")
	keys(m, b, "enter")
	if m.focus != paneLayers {
		t.Error("layers should show the layers pane")
	}
	keys(m, b, "esc")
	if m.cmdFocus {
		t.Error("esc should leave the command line")
	}
	keys(m, b, ":")
	typeLine(m, b, "quit")
	if _, cmd := m.Update(press("enter")); cmd == nil {
		t.Error("quit should end the program")
	}
	if got := b.last(); got != (session.Quit{}) {
		t.Errorf("quit sent %#v", got)
	}
}

func TestMemoryRouting(t *testing.T) {
	m, b := newDriven(80, 24)
	b.script = false
	keys(m, b, "6", "v") // the console asks for the VGA screen
	if len(m.memq) != 1 || m.memq[0] != paneConsole {
		t.Fatalf("memory queue %v", m.memq)
	}
	drive(m, b, session.MemoryEvent{Addr: 0xb8000, Err: "not mapped"})
	mustContain(t, m.View(), "VGA text screen not available: not mapped")
	// a stop: the memory pane ($rsp) and the console (VGA) read, in pane order
	m.Update(eventsMsg{events: []session.Event{fixtureStop()}})
	if len(m.memq) != 2 || m.memq[0] != paneMemory || m.memq[1] != paneConsole {
		t.Fatalf("memory queue %v", m.memq)
	}
	screen := make([]byte, 4000)
	copy(screen, "H\x07i\x07")
	drive(m, b, fixtureMemory(64), session.MemoryEvent{Addr: 0xb8000, Data: screen})
	if first := strings.SplitN(m.View(), "\n", m.lay.slots[2].y+3)[m.lay.slots[2].y+1]; !strings.HasPrefix(first, "Hi ") {
		t.Errorf("VGA row 0: %q", first)
	}
	keys(m, b, "5")
	mustContain(t, m.View(), "00000000001fffc0*")
}

func TestSessionEventsInStatus(t *testing.T) {
	m, b := newDriven(80, 24)
	status := func() string { v := strings.Split(m.View(), "\n"); return v[len(v)-1] }
	if s := status(); !strings.HasPrefix(s, " STOPPED  save→running 180 ms: build 120, boot 4, attach 2") || !strings.HasSuffix(s, "? help") {
		t.Errorf("status %q", s)
	}
	drive(m, b, session.StateEvent{State: session.StateRunning}, session.BuildEvent{Phase: session.BuildStarted})
	if s := status(); !strings.HasPrefix(s, " RUNNING  building…") {
		t.Errorf("status %q", s)
	}
	drive(m, b, failedBuild())
	mustContain(t, m.View(), "Console Memory [Build] Layers", "build failed: see the Build pane")
	// Enter on the error jumps the source pane there
	keys(m, b, "7")
	_, cmd := m.Update(press("enter"))
	runCmd(m, cmd)
	if m.focus != paneSource || m.src.list.cursor+1 != 13 {
		t.Errorf("jump: focus %d line %d", m.focus, m.src.list.cursor+1)
	}
	drive(m, b, session.ExitEvent{}, session.StateEvent{State: session.StateExited, Detail: "exit status 0"})
	if s := status(); !strings.HasPrefix(s, " EXITED ") {
		t.Errorf("status %q", s)
	}
	mustContain(t, m.View(), "guest exited (exit port), status 0")
	m.Update(eventsMsg{closed: true})
	if s := status(); !strings.HasPrefix(s, " ENDED ") {
		t.Errorf("status %q", s)
	}
	n := len(b.sent())
	if _, cmd := m.Update(press("q")); cmd == nil || len(b.sent()) != n {
		t.Error("q after the session ended quits without sending")
	}
}

// TestEventsBeforeSize: a stop that arrives before the terminal size is
// known still ends with the memory pane reading a full screen.
func TestEventsBeforeSize(t *testing.T) {
	b := newFakeBackend(true)
	m := New(b, Options{Renderer: asciiRenderer()})
	m.Init()
	drive(m, b, fixtureSession()...)
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	drive(m, b)
	w, h := paneSize(200, 50, paneMemory)
	if got := b.last(); got != (session.ReadMemory{Expr: "$rsp", Len: 16 * h}) {
		t.Errorf("after the first size the memory pane sent %#v (pane %dx%d)", got, w, h)
	}
	mustContain(t, m.View(), "●=>  8", "→ main+20")
}

// TestOddEventsDoNotPanic feeds events a buggy or newer session might send.
func TestOddEventsDoNotPanic(t *testing.T) {
	for _, sz := range append(sizes, [2]int{60, 16}, [2]int{20, 5}) {
		m, b := newDriven(sz[0], sz[1])
		b.script = false
		drive(m, b,
			session.StateEvent{State: session.State(99)},
			session.StopEvent{Snap: session.Snapshot{Selected: 5}},
			session.StopEvent{Snap: session.Snapshot{Selected: -1, Frames: fixtureFrames()}},
			session.FrameEvent{Index: 99},
			session.SourceEvent{File: helloPath},
			session.LocationEvent{},
			session.LocationEvent{File: helloPath, Line: -3},
			session.DisasmEvent{},
			session.MemoryEvent{Data: []byte{1, 2, 3}, Prev: []byte{1}},
			session.MemoryEvent{},
			session.BuildEvent{Phase: session.BuildPhase(7), Diagnostics: []session.Diagnostic{{}}},
			session.LayersEvent{Problem: "x"},
			session.BreakpointsEvent{List: []session.Breakpoint{{Where: ":::"}, {Spec: "*zz"}, {Where: " at "}}},
			session.FaultEvent{},
			session.ExitEvent{},
			session.ReloadEvent{},
			session.ConsoleEvent{},
			session.OutputEvent{Text: "\x1b[2J\n\n"},
			session.TraceEvent{},
			session.TraceEvent{Records: []session.TraceRecord{{Kind: session.TraceKind(9), Depth: -3, Name: "\x1b[2J\t"},
				{Kind: session.TracePoint, Depth: 1 << 20, Text: strings.Repeat("x", 5000), File: "/", Line: -1}}, Warning: "bad\nring"},
			session.ProfileEvent{Top: []session.ProfileFunc{{Name: strings.Repeat("f", 300), SelfPct: 250}, {SelfPct: -5}}},
			session.ProfileEvent{Running: true, Samples: -1},
		)
		for _, k := range []string{"a", "b", "tab", "enter", " ", "down", "pgdown", "left", "right", "v", "@", "esc", "/", "enter", "]", "?", "esc", "t", "r", "+", "-", "0", "9"} {
			for id := range numPanes {
				m.setFocus(id)
				keys(m, b, k)
				_ = m.View()
			}
		}
		checkSize(t, m.View(), sz[0], sz[1])
	}
}

// TestRevealKeepsFocusVisible: news from the build does not hide the pane
// that has the keys.
func TestRevealKeepsFocusVisible(t *testing.T) {
	m, b := newDriven(80, 24)
	keys(m, b, "8") // layers, in the same slot as build
	drive(m, b, failedBuild())
	mustContain(t, m.View(), "═ Console Memory Build [Layers]", "build failed: see the Build pane")
	keys(m, b, "1")
	drive(m, b, failedBuild())
	mustContain(t, m.View(), "─ Console Memory [Build] Layers")
}

// TestFastTyping: runes read from the terminal together arrive as one
// message; they act as if typed one by one.
func TestFastTyping(t *testing.T) {
	m, b := newDriven(80, 24)
	keys(m, b, "3") // backtrace: a space there would select a frame
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":b hello.c:14")})
	keys(m, b, "enter")
	if got := b.last(); got != (session.Break{Spec: "hello.c:14"}) {
		t.Errorf("fast typing sent %#v", got)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x/4xg $rsp")})
	keys(m, b, "enter")
	if got := b.last(); got != (session.Examine{Expr: "$rsp", Count: 4, Format: 'x', Size: 'g'}) {
		t.Errorf("fast typing sent %#v", got)
	}
}
