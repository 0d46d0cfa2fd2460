package tui

import (
	"strings"
	"testing"

	"ukw/session"
)

// paneSize returns the body size pane id gets on a w x h terminal.
func paneSize(w, h, id int) (int, int) {
	l := computeLayout(w, h)
	s := l.slots[l.slotOf(id)]
	return s.w, s.h - 1
}

var sizes = [][2]int{{80, 24}, {200, 50}}

// lineWith returns the first line of view containing s.
func lineWith(view, s string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestSourceFollowsStop(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneSource)
		c, rec := testCommon(w, h)
		p := NewSourcePane(c)
		mustContain(t, p.View(), "no source yet")
		feed(p, fixtureBreakpoints(), fixtureStop())
		if got, ok := rec.last().(session.LoadSource); !ok || got.File != helloPath {
			t.Fatalf("stop in an unknown file sent %#v, want LoadSource{%s}", rec.last(), helloPath)
		}
		mustContain(t, p.View(), "loading hello.c")
		feed(p, session.SourceEvent{File: helloPath, Lines: helloSource})
		v := p.View()
		checkSize(t, v, w, h)
		if l := lineWith(v, "return n * n"); !strings.HasPrefix(l, "●=>") {
			t.Errorf("line 8 should carry the breakpoint and the current-line marker: %q", l)
		}
		if l := lineWith(v, "printf"); h > 12 && !strings.HasPrefix(l, "●  ") {
			t.Errorf("line 14 should carry a breakpoint only: %q", l)
		}
		if l := lineWith(v, "int main"); strings.ContainsAny(l, "●○") || strings.Contains(l, "=>") {
			t.Errorf("line 11 should be plain: %q", l)
		}
		if p.Info() != "hello.c:8" {
			t.Errorf("Info = %q", p.Info())
		}
		// a second stop in the same file does not reload it
		n := len(rec.sent())
		feed(p, fixtureStop())
		if len(rec.sent()) != n {
			t.Errorf("a known file was requested again: %#v", rec.sent()[n:])
		}
	}
}

func TestSourceSelectFrameMovesMarker(t *testing.T) {
	c, _ := testCommon(paneSize(80, 24, paneSource))
	p := NewSourcePane(c)
	feed(p, fixtureStop(), session.SourceEvent{File: helloPath, Lines: helloSource})
	feed(p, session.FrameEvent{Index: 1, Frame: fixtureFrames()[1]})
	v := p.View()
	if l := lineWith(v, "int n = square"); !strings.HasPrefix(l, " =>") {
		t.Errorf("frame #1 is at line 13: %q\n%s", l, v)
	}
	if l := lineWith(v, "return n * n"); strings.Contains(l, "=>") {
		t.Errorf("line 8 still marked: %q", l)
	}
	// running clears the marker
	feed(p, session.StateEvent{State: session.StateRunning})
	mustNotContain(t, p.View(), "=>")
}

func TestSourceBreakAtCursor(t *testing.T) {
	c, _ := testCommon(paneSize(80, 24, paneSource))
	p := NewSourcePane(c)
	if _, err := p.BreakAtCursor(); err == nil {
		t.Error("no file shown, yet a breakpoint location")
	}
	feed(p, fixtureBreakpoints(), fixtureStop(), session.SourceEvent{File: helloPath, Lines: helloSource})
	// the cursor is on the current line 8, which has breakpoint 1
	if got, _ := p.BreakAtCursor(); got != (session.Delete{ID: 1}) {
		t.Errorf("at line 8: %#v, want Delete{1}", got)
	}
	feed(p, press("down"))
	if got, _ := p.BreakAtCursor(); got != (session.Break{Spec: "hello.c:9"}) {
		t.Errorf("at line 9: %#v, want Break{hello.c:9}", got)
	}
	// in the assembly view an instruction gives an address breakpoint
	feed(p, press("a"), fixtureDisasm())
	if got, _ := p.BreakAtCursor(); got != (session.Delete{ID: 1}) {
		t.Errorf("on the PC (bp 1's address): %#v, want Delete{1}", got)
	}
	feed(p, press("down"))
	if got, _ := p.BreakAtCursor(); got != (session.Break{Spec: "*0x100236"}) {
		t.Errorf("on 0x100236: %#v", got)
	}
}

func TestSourceAsmToggle(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneSource)
		c, rec := testCommon(w, h)
		p := NewSourcePane(c)
		feed(p, fixtureBreakpoints(), fixtureStop(), session.SourceEvent{File: helloPath, Lines: helloSource})
		feed(p, press("a"))
		d, ok := rec.last().(session.Disassemble)
		if !ok || d.Addr != 0x100230 || d.Count < 6 {
			t.Fatalf("asm view sent %#v, want Disassemble from square's start 0x100230", rec.last())
		}
		mustContain(t, p.View(), "disassembling")
		feed(p, fixtureDisasm())
		v := p.View()
		checkSize(t, v, w, h)
		if l := lineWith(v, "0x100234"); !strings.HasPrefix(l, "●=>") || !strings.Contains(l, "<square+4>  mov %edi,%eax") {
			t.Errorf("the PC row: %q", l)
		}
		mustContain(t, v, "return n * n", "static int square")
		if p.Info() != "hello.c [asm]" {
			t.Errorf("Info = %q", p.Info())
		}
		feed(p, press("a"))
		mustContain(t, p.View(), "●=>  8")
	}
}

func TestSourceNoLineInfoShowsAsm(t *testing.T) {
	c, rec := testCommon(60, 10)
	p := NewSourcePane(c)
	stop := fixtureStop()
	stop.Snap.Frames = []session.Frame{{PC: 0x100020, Function: "_start", Offset: 16}}
	feed(p, stop)
	if d, ok := rec.last().(session.Disassemble); !ok || d.Addr != 0x100010 {
		t.Fatalf("a frame without a line sent %#v, want Disassemble at _start", rec.last())
	}
	feed(p, session.DisasmEvent{Err: "cannot read memory at 0x100010"})
	mustContain(t, p.View(), "disassembly: cannot read memory")
}

func TestSourceErrorsAndJump(t *testing.T) {
	c, rec := testCommon(60, 10)
	p := NewSourcePane(c)
	feed(p, JumpMsg{File: "/src/other.c", Line: 3})
	if got := rec.last(); got != (session.LoadSource{File: "/src/other.c"}) {
		t.Fatalf("jump sent %#v", got)
	}
	feed(p, session.SourceEvent{File: "/src/other.c", Err: "no such file"})
	mustContain(t, p.View(), "other.c: no such file", "press a for assembly")
	// a hostile line cannot reach the terminal raw
	feed(p, session.SourceEvent{File: "/src/other.c", Lines: []string{"a\x1b[2Jb", "c\td"}})
	v := p.View()
	mustNotContain(t, v, "\x1b[2J")
	mustContain(t, v, "a[2Jb", "c       d")
}

func TestBpLocation(t *testing.T) {
	for _, tc := range []struct {
		b    session.Breakpoint
		file string
		line int
	}{
		{session.Breakpoint{Where: "main at hello.c:12"}, "hello.c", 12},
		{session.Breakpoint{Where: "/a/b/c.c:3"}, "/a/b/c.c", 3},
		{session.Breakpoint{Spec: "x.c:4"}, "x.c", 4},
		{session.Breakpoint{Spec: "*0x1000"}, "", 0},
		{session.Breakpoint{Spec: "main", Where: "main"}, "", 0},
	} {
		f, l, _ := bpLocation(tc.b)
		if f != tc.file || l != tc.line {
			t.Errorf("%+v: got %s:%d, want %s:%d", tc.b, f, l, tc.file, tc.line)
		}
	}
	if !sameFile("hello.c", "/src/hello.c") || sameFile("ello.c", "/src/hello.c") || !sameFile("/a/x.c", "/a/x.c") || sameFile("/a/x.c", "/b/x.c") {
		t.Error("sameFile")
	}
}

func TestSourceReloadsAfterEdit(t *testing.T) {
	c, rec := testCommon(60, 10)
	p := NewSourcePane(c)
	feed(p, fixtureStop(), session.SourceEvent{File: helloPath, Lines: helloSource})
	n := len(rec.sent())
	feed(p, session.BuildEvent{Phase: session.BuildOK, Trigger: []string{"/src/examples/hello/other.c"}})
	if len(rec.sent()) != n {
		t.Fatal("an unrelated edit reloaded the shown file")
	}
	feed(p, session.BuildEvent{Phase: session.BuildFailed, Trigger: []string{helloPath}})
	if got := rec.last(); got != (session.LoadSource{File: helloPath}) {
		t.Fatalf("an edit of the shown file sent %#v", got)
	}
	mustContain(t, p.View(), "return n * n") // the old text stays until the new arrives
	edited := append([]string(nil), helloSource...)
	edited[7] = "\treturn n * n * 1;"
	feed(p, session.SourceEvent{File: helloPath, Lines: edited})
	mustContain(t, p.View(), "return n * n * 1;")
}

// A jump to a file not loaded yet puts the cursor on its line once the
// text arrives (the Profile, Trace and Build panes jump so).
func TestSourceJumpToUnloadedFile(t *testing.T) {
	c, rec := testCommon(60, 6)
	p := NewSourcePane(c)
	p.Update(JumpMsg{File: helloPath, Line: 14})
	if got, ok := rec.last().(session.LoadSource); !ok || got.File != helloPath {
		t.Fatalf("jump sent %#v, want LoadSource{%s}", rec.last(), helloPath)
	}
	feed(p, session.SourceEvent{File: helloPath, Lines: helloSource})
	if p.list.cursor != 13 {
		t.Fatalf("cursor on row %d after the text arrived, want 13 (line 14)", p.list.cursor)
	}
	mustContain(t, p.View(), "printf")
}

// Every location of a multi-location breakpoint gets its mark, from the
// lines the session resolved (the Where text names only the first).
func TestGutterMarksEveryLocation(t *testing.T) {
	c, _ := testCommon(60, 6)
	p := NewSourcePane(c)
	p.Update(session.BreakpointsEvent{List: []session.Breakpoint{{
		ID: 2, Spec: "strncmp", Enabled: true, Addrs: []uint64{0x101110, 0x102990},
		Where: "strncmp at nolibc/string.c:75 (+1 more locations)",
		Lines: []session.FileLine{{File: "/l/lib/nolibc/string.c", Line: 75}, {File: "/app/main.c", Line: 13}},
	}}})
	for _, c := range []struct {
		file string
		line int
		want string
	}{
		{"/l/lib/nolibc/string.c", 75, "●"},
		{"/app/main.c", 13, "●"},
		{"/app/main.c", 12, " "},
		{"/other/string.c", 75, " "},
	} {
		if got := p.gutter(c.file, c.line, 0); got != c.want {
			t.Errorf("%s:%d marked %q, want %q", c.file, c.line, got, c.want)
		}
	}
}
