package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"ukw/session"
)

const tracePath = "/src/testdata/guests/tracetree/main.c"

// fixtureTrace is the start of testdata/guests/tracetree's trace: main,
// then work(0) with its tracepoint, step, two leaf calls and square.
func fixtureTrace() session.TraceEvent {
	type r struct {
		kind  session.TraceKind
		name  string
		text  string
		line  int
		depth int
		in    string
	}
	rows := []r{
		{session.TraceEnter, "main", "", 51, 0, ""},
		{session.TraceEnter, "work", "", 43, 1, "main"},
		{session.TracePoint, "work", "i=0", 45, 2, "work"},
		{session.TraceEnter, "step", "", 30, 2, "work"},
		{session.TraceEnter, "leaf", "", 20, 3, "step"},
		{session.TraceExit, "leaf", "", 20, 3, "leaf"},
		{session.TraceEnter, "leaf", "", 20, 3, "step"},
		{session.TraceExit, "leaf", "", 20, 3, "leaf"},
		{session.TraceExit, "step", "", 30, 2, "step"},
		{session.TraceEnter, "square", "", 25, 2, "work"},
		{session.TraceExit, "square", "", 25, 2, "square"},
		{session.TraceExit, "work", "", 43, 1, "work"},
		{session.TracePoint, "done", "total=38 reps=1", 63, 1, "main"},
	}
	ev := session.TraceEvent{Total: uint64(len(rows))}
	for i, x := range rows {
		ev.Records = append(ev.Records, session.TraceRecord{Index: uint64(i), Kind: x.kind, Name: x.name, Text: x.text,
			At: time.Duration(i) * 1500 * time.Microsecond, Ticks: uint64(i) * 3600000, File: tracePath, Line: x.line, Depth: x.depth, In: x.in})
	}
	return ev
}

func fixtureProfile(running bool) session.ProfileEvent {
	return session.ProfileEvent{Running: running, Hz: 250, Duration: 5 * time.Second, Elapsed: 1250 * time.Millisecond, Samples: 312,
		Top: []session.ProfileFunc{
			{Name: "hot_spin", Self: 309, Total: 309, SelfPct: 99.0, TotalPct: 99.0},
			{Name: "warm_setup", Self: 2, Total: 2, SelfPct: 0.6, TotalPct: 0.6},
			{Name: "main", Self: 1, Total: 312, SelfPct: 0.3, TotalPct: 100},
			{Name: "ukw_plat_entry", Self: 0, Total: 312, SelfPct: 0, TotalPct: 100},
		}}
}

func TestTracePaneTailFilterAndJump(t *testing.T) {
	c, _ := testCommon(60, 6)
	p := NewTracePane(c, 0)
	p.SetFocus(true)
	mustContain(t, p.View(), "no trace records")
	feed(p, fixtureTrace())
	v := p.View()
	checkSize(t, v, 60, 6)
	// the tail follows the end: the last six records, the newest last
	mustContain(t, v, "• done total=38 reps=1", "← work", "→ square", "main.c:63")
	mustNotContain(t, v, "→ main")
	if got := p.Info(); got != "13 records" {
		t.Errorf("info %q", got)
	}
	lines := strings.Split(v, "\n")
	if !strings.HasPrefix(lines[5], ">+18.000ms") {
		t.Errorf("cursor not on the newest record at +18 ms: %q", lines[5])
	}
	if !strings.Contains(v, "   → square") || !strings.Contains(v, "  ← work") {
		t.Errorf("records not indented by depth:\n%s", v)
	}

	// filter by name as it is typed
	for _, k := range []string{"/", "l", "e", "a"} {
		p.Update(press(k))
	}
	if !p.Capturing() {
		t.Fatal("the filter prompt does not capture keys")
	}
	v = p.View()
	mustContain(t, v, "filter: lea", "→ leaf", "← leaf")
	mustNotContain(t, v, "square", "done")
	p.Update(press("enter"))
	if f, _ := p.Filter(); f != "lea" || p.Capturing() {
		t.Fatalf("filter %q after enter, capturing %v", f, p.Capturing())
	}
	mustContain(t, p.Info(), "/lea")
	// enter jumps to the record's source line
	p.Update(press("up"))
	cmd := p.Update(press("enter"))
	if cmd == nil {
		t.Fatal("enter on a record sent no jump")
	}
	if j, ok := cmd().(JumpMsg); !ok || j.File != tracePath || j.Line != 20 {
		t.Fatalf("jump %#v, want main.c:20", cmd())
	}
	// esc while editing restores the filter in force before
	for _, k := range []string{"/", "x", "esc"} {
		p.Update(press(k))
	}
	if f, _ := p.Filter(); f != "lea" {
		t.Errorf("esc left the filter %q, want lea", f)
	}
	// points only, with the filter cleared
	p.Update(press("/"))
	for range 3 {
		p.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	p.Update(press("enter"))
	p.Update(press("t"))
	v = p.View()
	mustContain(t, v, "• work i=0", "• done")
	mustNotContain(t, v, "→", "←")
	mustContain(t, p.Info(), "points")
	// a filter that matches nothing says so
	for _, k := range []string{"/", "z", "z", "enter"} {
		p.Update(press(k))
	}
	mustContain(t, p.View(), "no record matches /zz")
}

func TestTracePaneRebootSeparatorAndEnd(t *testing.T) {
	c, _ := testCommon(70, 20)
	p := NewTracePane(c, 0)
	feed(p, session.StateEvent{State: session.StateBooting, Detail: "tracetree.img"}, fixtureTrace(),
		session.TraceEvent{Total: 13, Dropped: 2, Final: true})
	mustContain(t, p.Info(), "13 records, 2 dropped (ended)")
	feed(p, session.StateEvent{State: session.StateBooting, Detail: "tracetree.img"})
	ev := fixtureTrace()
	ev.Records = ev.Records[:2]
	ev.Total = 2
	feed(p, ev)
	v := p.View()
	mustContain(t, v, "── reboot: tracetree.img ──")
	if strings.Index(v, "• done") > strings.Index(v, "── reboot") || strings.LastIndex(v, "→ main") < strings.Index(v, "── reboot") {
		t.Errorf("separator not between the two guests' records:\n%s", v)
	}
	if got := p.Info(); got != "2 records" {
		t.Errorf("info after the reboot %q", got)
	}
}

func TestTracePaneKeepsTheNewest(t *testing.T) {
	c, _ := testCommon(50, 4)
	p := NewTracePane(c, 100)
	for i := range 10 {
		ev := session.TraceEvent{Total: uint64(100 * (i + 1))}
		for k := range 100 {
			n := i*100 + k
			ev.Records = append(ev.Records, session.TraceRecord{Index: uint64(n), Kind: session.TracePoint, Name: fmt.Sprintf("p%d", n)})
		}
		feed(p, ev)
	}
	if len(p.rows) > 125 || p.rows[len(p.rows)-1].rec.Name != "p999" {
		t.Fatalf("%d rows kept, last %q", len(p.rows), p.rows[len(p.rows)-1].rec.Name)
	}
	mustContain(t, p.View(), "p999")
	p.Update(press("/"))
	p.Update(press("9"))
	p.Update(press("9"))
	p.Update(press("enter"))
	for _, i := range p.shown {
		if !strings.Contains(p.rows[i].rec.Name, "99") {
			t.Fatalf("filtered rows include %q", p.rows[i].rec.Name)
		}
	}
}

func TestConsoleRebootSeparator(t *testing.T) {
	c, _ := testCommon(40, 6)
	p := NewConsolePane(c, 100)
	feed(p, session.StateEvent{State: session.StateBooting, Detail: "hello.img"},
		session.ConsoleEvent{Data: []byte("hello, world\nno newline")},
		session.StateEvent{State: session.StateBooting, Detail: "hello.img"},
		session.ConsoleEvent{Data: []byte("hello again\n")})
	lines := strings.Split(p.View(), "\n")
	want := []string{"hello, world", "no newline", "── reboot: hello.img ──", "hello again"}
	for i, w := range want {
		if strings.TrimRight(lines[i], " ") != w {
			t.Fatalf("console line %d = %q, want %q:\n%s", i, lines[i], w, p.View())
		}
	}
	if p.Bytes() != int64(len("hello, world\nno newline")+len("hello again\n")) {
		t.Errorf("the separator counted as console bytes: %d", p.Bytes())
	}
}

func TestProfilePaneKeys(t *testing.T) {
	c, rec := testCommon(60, 8)
	p := NewProfilePane(c)
	p.SetFocus(true)
	mustContain(t, p.View(), "r: profile the guest for 5s at 250 Hz")
	p.Update(press("+"))
	p.Update(press("r"))
	if got, ok := rec.last().(session.Profile); !ok || got.Duration != 10*time.Second || got.Hz != DefaultProfileHz {
		t.Fatalf("r sent %#v, want Profile{250 Hz, 10s}", rec.last())
	}
	mustContain(t, p.Info(), "starting")
	p.Update(press("r")) // a second r stops it, even before the first snapshot
	if _, ok := rec.last().(session.StopProfile); !ok {
		t.Fatalf("r while running sent %#v", rec.last())
	}
	feed(p, fixtureProfile(true))
	mustContain(t, p.View(), "sampling… 312 samples at 250 Hz in 1.2 s", "99.0%   99.0%  hot_spin")
	mustContain(t, p.Info(), "sampling 1.2/5s")
	feed(p, fixtureProfile(false))
	v := p.View()
	checkSize(t, v, 60, 8)
	mustContain(t, v, "312 samples at 250 Hz in 1.2 s", "self%  total%", "0.3%  100.0%  main")
	// the bar of hot_spin is long, main's short one rounds to nothing
	if bars := strings.Count(lineWith(v, "hot_spin"), "█"); bars < 20 {
		t.Errorf("hot_spin bar %d cells:\n%s", bars, v)
	}
	if strings.Contains(lineWith(v, "  main"), "█") {
		t.Errorf("main has a bar at 0.3%%:\n%s", v)
	}
	// enter shows the function under the cursor: `list FUNCTION`
	p.Update(press("down"))
	p.Update(press("enter"))
	if got := rec.last(); got != (session.List{Spec: "warm_setup"}) {
		t.Fatalf("enter on the second row sent %#v, want List{warm_setup}", got)
	}
	p.Update(press("-"))
	p.Update(press("-"))
	p.Update(press("-"))
	p.Update(press("r"))
	if got, ok := rec.last().(session.Profile); !ok || got.Duration != time.Second {
		t.Fatalf("r after three - sent %#v, want 1s", rec.last())
	}
	feed(p, session.ProfileEvent{Err: "this backend cannot sample a running guest"})
	mustContain(t, p.View(), "profile: this backend cannot sample")
}

// The slash key filters the focused trace pane instead of searching the
// console; enter on a record shows its line in the source pane.
func TestTraceInTheWorkbench(t *testing.T) {
	m, b := newDriven(80, 24)
	drive(m, b, fixtureTrace())
	keys(m, b, "9")
	v := m.View()
	mustContain(t, v, "[Trace]", "13 records", "• done total=38")
	keys(m, b, "/", "s", "q", "enter") // "q" is typed, not quit
	if m.focus != paneTrace {
		t.Fatalf("/ in the trace pane moved the focus to pane %d", m.focus)
	}
	mustContain(t, m.View(), "/sq", "→ square")
	keys(m, b, "up", "enter")
	if m.focus != paneSource {
		t.Fatalf("enter on a record left the focus on pane %d", m.focus)
	}
	var asked bool
	for _, c := range b.sent() {
		if ls, ok := c.(session.LoadSource); ok && ls.File == tracePath {
			asked = true
		}
	}
	if !asked {
		t.Errorf("the source pane did not ask for %s; sent %v", tracePath, b.sent())
	}
	mustContain(t, m.View(), "main.c:25")
	// the profile view starts a profile with r; its end is announced
	keys(m, b, "0", "r")
	if _, ok := b.last().(session.Profile); !ok {
		t.Fatalf("r in the profile view sent %#v", b.last())
	}
	drive(m, b, fixtureProfile(false))
	mustContain(t, m.View(), "[Profile]", "hot_spin", "profile: 312 samples, hot_spin 99.0% self")
}

// TestGoldenTrace80x24 drives the real program with teatest: the fixture
// session, a trace batch, then 9 shows the Trace tab at 80x24.
func TestGoldenTrace80x24(t *testing.T) {
	b := newFakeBackend(true)
	tm := teatest.NewTestModel(t, New(b, Options{Renderer: asciiRenderer()}), teatest.WithInitialTermSize(80, 24))
	for _, ev := range fixtureSession() {
		b.ch <- ev
	}
	b.ch <- fixtureTrace()
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		return bytes.Contains(out, []byte("return n * n"))
	}, teatest.WithDuration(10*time.Second))
	tm.Send(press("9"))
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		return bytes.Contains(out, []byte("total=38"))
	}, teatest.WithDuration(10*time.Second))
	tm.Send(tea.Quit())
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	v := m.View()
	checkSize(t, v, 80, 24)
	golden.RequireEqual(t, []byte(v))
}

func TestGoldenProfile120x32(t *testing.T) {
	m, b := newDriven(120, 32)
	keys(m, b, "0")
	drive(m, b, fixtureProfile(false))
	v := m.View()
	checkSize(t, v, 120, 32)
	golden.RequireEqual(t, []byte(v))
}

// BenchmarkTracePaneBatch measures what one batch of 1000 records costs the
// UI goroutine: adding them to a full 10 000-row tail (with a filter set)
// and rendering the pane at 200x50's size.
func BenchmarkTracePaneBatch(b *testing.B) {
	c, _ := testCommon(100, 17)
	p := NewTracePane(c, 0)
	p.filter = "e"
	ev := session.TraceEvent{}
	for k := range 1000 {
		ev.Records = append(ev.Records, session.TraceRecord{Index: uint64(k), Kind: session.TraceKind(1 + k%3), Name: fmt.Sprintf("fn%d", k%40),
			Text: "i=1", File: tracePath, Line: 20 + k%30, Depth: k % 7, At: time.Duration(k) * time.Microsecond})
	}
	for range 12 {
		p.Update(ev)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.Update(ev)
		_ = p.View()
	}
}
