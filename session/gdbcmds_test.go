package session

import (
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// TestGDBCommands runs print/FMT, whatis, ptype, info line, info
// registers REG, set var, display, condition and advance on
// testdata/guests/calls stopped in measure, and compares with what gdb 13
// prints for the same commands at the same stop (through `ukw run --gdb`,
// recorded in the comments).
func TestGDBCommands(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure"}})
	h.stop("break measure")
	say := func(c Command) string {
		t.Helper()
		h.s.Send(c)
		return h.output("answer").Text
	}
	parse := func(line string) Command {
		t.Helper()
		c, err := ParseCommand(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return c
	}
	for _, c := range []struct{ cmd, want string }{
		{"p/x scale", "scale = 0x1"},        // $1 = 0x1
		{"p/t index", "index = 0"},          // $2 = 0
		{"p/c 104", "104 = 104 'h'"},        // $3 = 104 'h'
		{"p/o 8", "8 = 010"},                // $4 = 010
		{"p/d -1", "-1 = -1"},               // $5 = -1
		{"p/x -1", "-1 = 0xffffffff"},       // $6 = 0xffffffff
		{"p/z scale", "scale = 0x00000001"}, // $7 = 0x00000001
		{"whatis s", "type = const struct shape *"},
		{"whatis *s", "type = const struct shape"},
		{"ptype *s", "type = const struct shape {\n    const char *name;\n    enum color color;\n    int ncorners;\n    struct point corners[4];\n}"},
		{"ptype s->corners", "type = struct point {\n    int x;\n    int y;\n} [4]"},
		{"info symbol $pc", "measure + 15 in section .text"},
		{"info symbol &shapes[1]", "shapes + 48 in section .data"},
		{"info symbol 0", "No symbol matches 0."},
		{"info symbol measure", "measure in section .text"},
	} {
		if got := say(parse(c.cmd)); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.cmd, got, c.want)
		}
	}
	// Line 12 of "/tmp/calls/main.c" starts at address 0x10348c <measure+15> and ends at 0x103498 <measure+27>.
	if got := say(parse("info line")); !strings.HasPrefix(got, "Line 12 of \"") || !strings.Contains(got, "main.c\" starts at address ") ||
		!strings.Contains(got, " <measure+15> and ends at ") || !strings.HasSuffix(got, " <measure+27>.") {
		t.Errorf("info line: %q", got)
	}
	if got := say(parse("info registers rip rsp")); !strings.HasPrefix(got, "rip ") || !strings.Contains(got, "\nrsp ") || strings.Contains(got, "rax") {
		t.Errorf("info registers rip rsp: %q", got)
	}
	// set var, then print: $9 = 3
	h.s.Send(parse("set var scale = 3"))
	h.until("frame after set var", 30*time.Second, func(e Event) bool { _, ok := e.(FrameEvent); return ok })
	if got := say(parse("p scale")); got != "scale = 3" {
		t.Errorf("after set var: %q", got)
	}
	if got := say(parse("display index")); got != "1: index = 0" {
		t.Errorf("display: %q", got)
	}
	if got := say(parse("display/x scale")); got != "2: /x scale = 0x3" {
		t.Errorf("display/x: %q", got)
	}
	// condition 1 index == 2: the next stop is the third call, with the displays
	h.s.Send(parse("condition 1 index == 2"))
	h.until("breakpoints", 30*time.Second, func(e Event) bool { _, ok := e.(BreakpointsEvent); return ok })
	if got := say(parse("info breakpoints")); !strings.Contains(got, "\tstop only if index == 2\n\tbreakpoint already hit 1 time") {
		t.Errorf("info breakpoints:\n%s", got)
	}
	h.s.Send(Continue{})
	s := h.stop("conditional breakpoint")
	if f := top(s); f.Function != "measure" {
		t.Fatalf("stopped in %+v", f)
	}
	if got := h.output("display 1").Text; got != "1: index = 2" {
		t.Errorf("display after the stop: %q", got)
	}
	if got := h.output("display 2").Text; got != "2: /x scale = 0x3" {
		t.Errorf("display/x after the stop: %q", got)
	}
	// advance to main.c:25 (return sum): measure returns first, into measure_all
	h.s.Send(parse("undisplay"))
	h.s.Send(parse("disable 1"))
	h.until("disabled", 30*time.Second, func(e Event) bool {
		b, ok := e.(BreakpointsEvent)
		return ok && len(b.List) == 1 && !b.List[0].Enabled
	})
	h.s.Send(parse("advance 25"))
	s = h.stop("advance")
	if f := top(s); f.Function != "measure_all" {
		t.Fatalf("advance stopped in %+v (%s)", f, s.Detail)
	}
	h.s.Send(parse("enable"))
	h.until("enabled", 30*time.Second, func(e Event) bool {
		b, ok := e.(BreakpointsEvent)
		return ok && len(b.List) == 1 && b.List[0].Enabled
	})
}

// TestUntil: at the end of measure_all's loop body, next goes to the for
// line and until then runs the loop out to `return sum` (line 25), as gdb
// 13 does on the same build (21, then 25 at measure_all+121).
func TestUntil(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"main.c:23"}})
	h.stop("break main.c:23")
	h.s.Send(Delete{})
	h.s.Send(Next{})
	if s := h.stop("next"); top(s).Line != 21 {
		t.Fatalf("next went to line %d, want 21", top(s).Line)
	}
	h.s.Send(Until{})
	if s := h.stop("until"); top(s).Line != 25 || top(s).Function != "measure_all" {
		t.Fatalf("until stopped at %+v, want measure_all line 25", top(s))
	}
}

// TestJump: `jump 25` from the start of measure_all skips its loop: the
// guest prints result 0 and exits 0 instead of 32.
func TestJump(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure_all"}})
	h.stop("break measure_all")
	h.s.Send(Delete{})
	c, err := ParseCommand("jump 25")
	if err != nil {
		t.Fatal(err)
	}
	h.s.Send(c)
	if out := h.output("jump").Text; !strings.HasPrefix(out, "Continuing at 0x") {
		t.Fatalf("jump said %q", out)
	}
	e := h.until("exit", 60*time.Second, func(e Event) bool { _, ok := e.(ExitEvent); return ok }).(ExitEvent)
	if e.Exit.Status != 0 {
		t.Fatalf("exit status %d, want 0 (the loop skipped)", e.Exit.Status)
	}
}
