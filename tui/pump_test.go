package tui

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"ukw/session"
)

// TestPumpOrderAndSplit checks that batching keeps the order of events,
// merges console runs, splits a huge console event across batches and
// never changes the bytes.
func TestPumpOrderAndSplit(t *testing.T) {
	ch := make(chan session.Event, 16)
	big := bytes.Repeat([]byte("0123456789abcdef"), consoleBatch/16*3+5) // > 3 batches
	a := []byte("a")
	ch <- session.ConsoleEvent{Data: a}
	ch <- session.ConsoleEvent{Data: []byte("b")}
	ch <- session.StateEvent{State: session.StateRunning}
	ch <- session.ConsoleEvent{Data: big}
	ch <- session.LogEvent{Msg: "after"}
	close(ch)
	r := &eventReader{ch: ch}
	var got []session.Event
	for {
		msg := r.next()().(eventsMsg)
		got = append(got, msg.events...)
		if msg.closed {
			break
		}
		if n := 0; true {
			for _, e := range msg.events {
				if c, ok := e.(session.ConsoleEvent); ok {
					n += len(c.Data)
				}
			}
			if n > consoleBatch+1 {
				t.Errorf("a batch carries %d console bytes", n)
			}
		}
	}
	var kinds []string
	var console bytes.Buffer
	for _, e := range got {
		switch e := e.(type) {
		case session.ConsoleEvent:
			kinds = append(kinds, "C")
			console.Write(e.Data)
		case session.StateEvent:
			kinds = append(kinds, "S")
		case session.LogEvent:
			kinds = append(kinds, "L")
		}
	}
	k := strings.Join(kinds, "")
	if !strings.HasPrefix(k, "CSC") || !strings.HasSuffix(k, "CL") || strings.Count(k, "C") < 4 {
		t.Errorf("event order %s: want console, state, the big console split, log", k)
	}
	if want := append([]byte("ab"), big...); !bytes.Equal(console.Bytes(), want) {
		t.Errorf("console bytes changed: %d, want %d", console.Len(), len(want))
	}
	if string(a) != "a" {
		t.Error("the batcher wrote into an event's data")
	}
}

// FuzzConsole feeds arbitrary guest output to the console pane: no panic,
// and every line on screen is valid UTF-8 without control characters or
// escape sequences, at most the pane's width.
func FuzzConsole(f *testing.F) {
	for _, s := range []string{"hello\n", "\x1b[31mred\x1b[0m\r\n", "a\rb\r\n\tc\x00\x07\n", "\xff\xfe\xc3(", strings.Repeat("x", 5000), "é\u200b世界\n", "\x1b]0;title\x07"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := testCommon(40, 6)
		p := NewConsolePane(c, 8)
		half := len(data) / 2
		feed(p, session.ConsoleEvent{Data: data[:half]}, session.ConsoleEvent{Data: data[half:]})
		feed(p, press("/"), press("x"), press("enter"), press("["))
		v := p.View()
		for _, l := range strings.Split(v, "\n") {
			if !utf8.ValidString(l) {
				t.Fatalf("invalid UTF-8: %q", l)
			}
			for _, r := range l {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Fatalf("control character %U on screen: %q", r, l)
				}
			}
			if w := ansi.StringWidth(l); w > 40 {
				t.Fatalf("line %d wide: %q", w, l)
			}
		}
	})
}

// FuzzLocation parses breakpoint locations the session reports: no panic.
func FuzzLocation(f *testing.F) {
	for _, s := range []string{"main at hello.c:12", "hello.c:12", ":", "a:0", " at :9", "*0x10", "x.c:99999999999999999999"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, where, spec string) {
		file, line, ok := bpLocation(session.Breakpoint{Where: where, Spec: spec})
		if ok && (line <= 0 || file == "") {
			t.Fatalf("%q/%q: %q:%d", where, spec, file, line)
		}
		sameFile(file, where)
	})
}
