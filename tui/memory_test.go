package tui

import (
	"strings"
	"testing"

	"ukw/session"
)

func TestMemoryDump(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneMemory)
		c, rec := testCommon(w, h)
		p := NewMemoryPane(c)
		mustContain(t, p.View(), "no memory")
		feed(p, fixtureStop())
		rm, ok := rec.last().(session.ReadMemory)
		if !ok || rm.Expr != "$rsp" || rm.Len != p.perRow()*h {
			t.Fatalf("a stop sent %#v, want ReadMemory{$rsp, %d}", rec.last(), p.perRow()*h)
		}
		feed(p, fixtureMemory(rm.Len))
		v := p.View()
		checkSize(t, v, w, h)
		// the first row holds the changed byte 0xff (marked) and, with 16
		// bytes a row, the pointer into main
		first := lineWith(v, "00000000001fffc0")
		if !strings.HasPrefix(first, "00000000001fffc0* 00 07 0e ff") {
			t.Errorf("first row: %q", first)
		}
		if p.perRow() == 16 && !strings.Contains(first, "→ main+20") {
			t.Errorf("16-byte row lacks the symbol: %q", first)
		}
		if p.perRow() == 8 {
			if l := lineWith(v, "00000000001fffc8"); !strings.Contains(l, "H....... → main+20") {
				t.Errorf("pointer row: %q", l)
			}
		}
		if l := lineWith(v, "00000000001fffd0"); !strings.Contains(l, "68 65 6c 6c 6f") || strings.HasPrefix(l, "00000000001fffd0*") {
			t.Errorf("unchanged ASCII row: %q", l)
		}
		mustContain(t, v, "hello, w")
		if p.Info() != "$rsp = 0x1fffc0" {
			t.Errorf("Info = %q", p.Info())
		}
		// paging moves by a screenful from the shown address
		feed(p, press("pgdown"))
		if got := rec.last().(session.ReadMemory); got.Expr != hexAddr(0x1fffc0+uint64(rm.Len)) {
			t.Errorf("pgdown went to %s", got.Expr)
		}
		feed(p, press("up"))
		if got := rec.last().(session.ReadMemory); got.Expr != hexAddr(0x1fffc0-uint64(p.perRow())) {
			t.Errorf("up went to %s", got.Expr)
		}
	}
}

func hexAddr(a uint64) string { return sprintf("%#x", a) }

func TestMemoryGoto(t *testing.T) {
	c, rec := testCommon(paneSize(80, 24, paneMemory))
	p := NewMemoryPane(c)
	feed(p, press("@"))
	if !p.Capturing() {
		t.Fatal("@ should open the go-to prompt")
	}
	for _, r := range "&counter" {
		feed(p, press(string(r)))
	}
	mustContain(t, p.View(), "go to: &counter")
	feed(p, press("enter"))
	if got := rec.last(); got != (session.ReadMemory{Expr: "&counter", Len: p.length()}) {
		t.Fatalf("enter sent %#v", got)
	}
	if p.Capturing() {
		t.Error("prompt still open")
	}
	feed(p, session.MemoryEvent{Err: "no symbol \"counter\""})
	mustContain(t, p.View(), `memory: no symbol "counter"`)
	if !strings.HasPrefix(p.Info(), "&counter") {
		t.Errorf("Info = %q", p.Info())
	}
	// esc cancels without reading
	n := len(rec.sent())
	feed(p, press("@"), press("x"), press("esc"))
	if len(rec.sent()) != n || p.Capturing() {
		t.Error("esc should cancel the prompt")
	}
}

func TestConsoleScrollbackAndSearch(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneConsole)
		c, _ := testCommon(w, h)
		p := NewConsolePane(c, 100)
		mustContain(t, p.View(), "no console output yet")
		var b strings.Builder
		for i := 0; i < 300; i++ {
			b.WriteString(sprintf("line %d\r\n", i))
		}
		feed(p, session.ConsoleEvent{Data: []byte(b.String())}, session.ConsoleEvent{Data: []byte("partial \x1b[31mred\x1b[0m")})
		v := p.View()
		checkSize(t, v, w, h)
		mustContain(t, v, "line 299", "partial red")
		mustNotContain(t, v, "\x1b[31m", "line 199\n")
		if p.sb.count != 100 || p.sb.first() != 200 {
			t.Errorf("scrollback keeps %d lines from %d, want 100 from 200", p.sb.count, p.sb.first())
		}
		// scroll to the top of the scrollback: the oldest kept line
		feed(p, press("g"))
		mustContain(t, p.View(), "line 200")
		mustNotContain(t, p.View(), "line 199")
		// new output does not scroll a scrolled view, though the two lines
		// it pushes out of the capped scrollback are gone
		feed(p, session.ConsoleEvent{Data: []byte("\nmore\n")})
		if first := strings.SplitN(p.View(), "\n", 2)[0]; !strings.HasPrefix(first, "line 202 ") {
			t.Errorf("top line %q, want line 202", first)
		}
		feed(p, press("G"))
		mustContain(t, p.View(), "more")
		// search: the most recent match, then older and newer ones
		feed(p, press("/"))
		if !p.Capturing() {
			t.Fatal("/ should open the search prompt")
		}
		for _, r := range "LINE 25" { // smart case: upper case matches exactly
			feed(p, press(string(r)))
		}
		feed(p, press("enter"))
		if !strings.Contains(p.Info(), "no match") {
			t.Errorf("upper-case search matched: %q", p.Info())
		}
		feed(p, press("/"))
		for _, r := range "line 25" {
			feed(p, press(string(r)))
		}
		feed(p, press("enter"))
		if !strings.Contains(p.Info(), "/line 25 10/10") {
			t.Errorf("Info = %q", p.Info())
		}
		mustContain(t, p.View(), "▶line 259")
		feed(p, press("["))
		mustContain(t, p.View(), "▶line 258")
		if !strings.Contains(p.Info(), "9/10") {
			t.Errorf("Info = %q", p.Info())
		}
		feed(p, press("]"), press("]"))
		mustContain(t, p.View(), "▶line 259")
	}
}

func TestConsoleVGA(t *testing.T) {
	c, rec := testCommon(paneSize(200, 50, paneConsole))
	p := NewConsolePane(c, 100)
	feed(p, press("v"))
	if got := rec.last(); got != (session.ReadMemory{Expr: "0xb8000", Len: 4000}) {
		t.Fatalf("v sent %#v", got)
	}
	mustContain(t, p.View(), "reading the VGA text screen")
	feed(p, session.MemoryEvent{Addr: 0xb8000, Data: make([]byte, 4000)})
	mustContain(t, p.View(), "the VGA text screen is blank")
	screen := make([]byte, 4000)
	for i := range 2000 {
		screen[2*i], screen[2*i+1] = ' ', 0x07
	}
	for i, ch := range []byte("GRUB \xc9\xcd\xbb") {
		screen[2*(80+i)] = ch
	}
	feed(p, session.MemoryEvent{Addr: 0xb8000, Data: screen})
	v := p.View()
	mustContain(t, v, "GRUB ╔═╗")
	if p.Info() != "VGA text" {
		t.Errorf("Info = %q", p.Info())
	}
	// an error is shown as a note, and the next stop reads again
	feed(p, session.MemoryEvent{Addr: 0xb8000, Err: "guest is running"})
	mustContain(t, p.View(), "VGA text screen not available: guest is running")
	n := len(rec.sent())
	feed(p, fixtureStop())
	if len(rec.sent()) != n+1 {
		t.Error("a stop should re-read the VGA screen")
	}
	feed(p, press("v"))
	mustContain(t, p.View(), "no console output yet")
}

func TestScrollbackLongLines(t *testing.T) {
	s := newScrollback(10)
	s.Write([]byte(strings.Repeat("x", 3*maxLineBytes+5)))
	if s.count != 3 || len(s.line(s.end()-1)) != 5 {
		t.Errorf("a long line: %d full lines and %q", s.count, s.line(s.end()-1))
	}
	s.Write([]byte(strings.Repeat("y", 2*maxLineBytes) + "\n"))
	if s.count != 6 {
		t.Errorf("count %d", s.count)
	}
	if got := consoleLine([]byte("bar\rfoo\r")); got != "foo" {
		t.Errorf("carriage return: %q", got)
	}
}
