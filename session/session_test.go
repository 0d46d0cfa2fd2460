package session

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// harness drives a real session and remembers every event it saw.
type harness struct {
	t   *testing.T
	s   *Session
	all []Event
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, s: s}
	t.Cleanup(func() {
		s.Close()
		for range s.Events() {
		}
	})
	return h
}

// until returns the first event (after those already seen) for which
// match is true, failing after timeout.
func (h *harness) until(what string, timeout time.Duration, match func(Event) bool) Event {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-h.s.Events():
			if !ok {
				h.t.Fatalf("session ended while waiting for %s; saw:\n%s", what, h.log())
			}
			h.all = append(h.all, e)
			if f, ok := e.(BuildEvent); ok && f.Phase == BuildFailed && what != "build failure" {
				h.t.Logf("build failed: %s %v", f.Error, f.Diagnostics)
			}
			if match(e) {
				return e
			}
		case <-deadline:
			h.t.Fatalf("no %s within %s; saw:\n%s", what, timeout, h.log())
		}
	}
}

func (h *harness) log() string {
	var b strings.Builder
	for _, e := range h.all {
		if l := PlainLine(e, true); l != "" {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func (h *harness) stop(what string) Snapshot {
	h.t.Helper()
	e := h.until(what, 60*time.Second, func(e Event) bool {
		switch e.(type) {
		case StopEvent, ExitEvent, FaultEvent:
			return true
		}
		return false
	})
	st, ok := e.(StopEvent)
	if !ok {
		h.t.Fatalf("wanted a stop (%s), got %s; saw:\n%s", what, PlainLine(e, true), h.log())
	}
	return st.Snap
}

func (h *harness) output(what string) OutputEvent {
	h.t.Helper()
	return h.until(what, 30*time.Second, func(e Event) bool { _, ok := e.(OutputEvent); return ok }).(OutputEvent)
}

func top(s Snapshot) Frame {
	if len(s.Frames) == 0 {
		return Frame{}
	}
	return s.Frames[0]
}

func TestStepNextFinishOnCalls(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure_all"}})
	s := h.stop("breakpoint at measure_all")
	if f := top(s); f.Function != "measure_all" || s.Reason != guest.StopBreakpoint {
		t.Fatalf("first stop %+v (%s)", f, s.Detail)
	}
	// next over the loop header until measure() is the next call, then step into it
	h.s.Send(Next{})
	line := top(h.stop("next")).Line
	for i := 0; i < 5 && top(s).Function != "measure"; i++ {
		h.s.Send(Step{})
		s = h.stop("step")
	}
	if f := top(s); f.Function != "measure" {
		t.Fatalf("step did not enter measure: %+v (after line %d)", f, line)
	}
	if len(s.Frames) < 3 || s.Frames[1].Function != "measure_all" || s.Frames[2].Function != "main" {
		t.Fatalf("backtrace in measure: %+v", s.Frames)
	}
	var index string
	for _, v := range s.Vars {
		if v.Name == "index" {
			index = v.Value
		}
	}
	if index != "0" {
		t.Fatalf("measure's index = %q, want 0; vars %+v", index, s.Vars)
	}
	h.s.Send(Finish{})
	ret := h.output("finish announcement")
	if !strings.Contains(ret.Text, "Run till exit") {
		t.Fatalf("finish said %q", ret.Text)
	}
	s = h.stop("finish")
	if f := top(s); f.Function != "measure_all" {
		t.Fatalf("finish stopped in %+v", f)
	}
	h.s.Send(Continue{})
	e := h.until("exit", 60*time.Second, func(e Event) bool { _, ok := e.(ExitEvent); return ok }).(ExitEvent)
	if e.Exit.Status != 32 {
		t.Fatalf("exit status %d, want 32", e.Exit.Status)
	}
}

func TestBreakpointSurvivesAnEditThatMovesIt(t *testing.T) {
	dir := testenv.CopyApp(t, "../examples/hello")
	h := start(t, Config{Dir: dir, Breakpoints: []string{"main"}})
	first := h.stop("breakpoint at main")
	if top(first).Function != "main" {
		t.Fatalf("first stop at %+v", top(first))
	}
	main := filepath.Join(dir, "main.c")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	// New code above main moves it to another address (and another line).
	edited := "static int ukw_test_pad(int x) { return x * 3 + 1; }\nint ukw_test_use(int x) { return ukw_test_pad(x); }\n" + string(src)
	if err := os.WriteFile(main, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	h.until("reload", 120*time.Second, func(e Event) bool { _, ok := e.(ReloadEvent); return ok })
	second := h.stop("breakpoint at main after the reload")
	if top(second).Function != "main" {
		t.Fatalf("after reload stopped at %+v", top(second))
	}
	if second.PC == first.PC || top(second).Line != top(first).Line+2 {
		t.Fatalf("breakpoint did not move with main: before %#x line %d, after %#x line %d",
			first.PC, top(first).Line, second.PC, top(second).Line)
	}
}

func TestBrokenEditKeepsTheGuestAndShowsTheError(t *testing.T) {
	dir := testenv.CopyApp(t, "../examples/hello")
	h := start(t, Config{Dir: dir, Breakpoints: []string{"main"}})
	first := h.stop("breakpoint at main")
	main := filepath.Join(dir, "main.c")
	good, _ := os.ReadFile(main)
	lines := strings.Split(string(good), "\n")
	bad := append(append([]string{}, lines[:3]...), append([]string{"int broken(void) { return undefined_thing; }"}, lines[3:]...)...)
	if err := os.WriteFile(main, []byte(strings.Join(bad, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	fail := h.until("build failure", 120*time.Second, func(e Event) bool {
		b, ok := e.(BuildEvent)
		return ok && b.Phase == BuildFailed
	}).(BuildEvent)
	found := false
	for _, d := range fail.Diagnostics {
		if d.Severity == "error" && strings.HasSuffix(d.File, "main.c") && d.Line == 4 && strings.Contains(d.Message, "undefined_thing") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no error at main.c:4 naming undefined_thing: %+v (%s)", fail.Diagnostics, fail.Error)
	}
	// The old guest is still there and still stopped at main.
	h.s.Send(Info{What: "frame"})
	if out := h.output("info frame"); out.Error || !strings.Contains(out.Text, "main") {
		t.Fatalf("old guest gone after a broken build: %q", out.Text)
	}
	if err := os.WriteFile(main, good, 0o644); err != nil {
		t.Fatal(err)
	}
	h.until("successful rebuild", 120*time.Second, func(e Event) bool {
		b, ok := e.(BuildEvent)
		return ok && b.Phase == BuildOK
	})
	again := h.stop("breakpoint at main after the fix")
	if again.PC != first.PC || top(again).Function != "main" {
		t.Fatalf("after the fix stopped at %#x %+v, want main at %#x", again.PC, top(again), first.PC)
	}
	if again.Seq <= first.Seq {
		t.Fatal(fmt.Sprint("stop sequence did not advance: ", again.Seq))
	}
}

// TestList resolves gdb `list` arguments on a real guest: the selected
// frame, a function, FILE:LINE (even a line without code), a layer's file
// the symbols name, and the errors.
func TestList(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure_all"}})
	s := h.stop("breakpoint at measure_all")
	list := func(spec string) LocationEvent {
		t.Helper()
		h.s.Send(List{Spec: spec})
		return h.until("list "+spec, 30*time.Second, func(e Event) bool { _, ok := e.(LocationEvent); return ok }).(LocationEvent)
	}
	main := filepath.Join(dir, "main.c")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	check := func(ev LocationEvent, file string, line int) {
		t.Helper()
		if ev.Err != "" || filepath.Base(ev.File) != filepath.Base(file) || ev.Line != line {
			t.Fatalf("list %q = %s:%d (err %q), want %s:%d", ev.Spec, ev.File, ev.Line, ev.Err, file, line)
		}
		from := max(line-5, 1)
		if len(ev.Listing) == 0 || ev.Listing[0] != fmt.Sprintf("%d\t%s", from, lines[from-1]) {
			t.Fatalf("list %q listing starts %q, want line %d of %s", ev.Spec, ev.Listing, from, file)
		}
	}
	check(list(""), main, top(s).Line)
	check(list("measure"), main, 12) // where `break measure` stops: after the prologue
	check(list("main.c:3"), main, 3) // a comment line: no code
	check(list(fmt.Sprintf("*%#x", top(s).PC)), main, top(s).Line)
	if ev := list("printf.c"); ev.Err != "" || filepath.Base(ev.File) != "printf.c" || ev.Line != 1 || len(ev.Listing) != 10 {
		t.Fatalf("list printf.c = %+v", ev)
	}
	// an assembly label of arch/x86_64 (assembled with line information)
	if ev := list("common64"); ev.Err != "" || filepath.Base(ev.File) != "boot.S" || ev.Line < 1 {
		t.Fatalf("list common64 = %+v, want a line of boot.S", ev)
	}
	if ev := list("no_such_function"); ev.Err == "" {
		t.Fatalf("list no_such_function = %+v, want an error", ev)
	}
	if ev := list("main.c:99999"); !strings.Contains(ev.Err, "out of range") {
		t.Fatalf("list main.c:99999 = %+v, want out of range", ev)
	}
	if got := PlainLine(list("measure"), false); !strings.Contains(got, "12\t") {
		t.Fatalf("plain listing:\n%s", got)
	}
}

// TestInfoFrame: `info frame` as gdb lays it out, with the figures of the
// stop's own frames (CFA, caller's pc, the frames around it, the args).
func TestInfoFrame(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure"}})
	s := h.stop("breakpoint at measure")
	if len(s.Frames) < 3 {
		t.Fatalf("frames %+v", s.Frames)
	}
	f0, f1 := s.Frames[0], s.Frames[1]
	h.s.Send(Info{What: "frame"})
	out := h.output("info frame").Text
	for _, want := range []string{
		fmt.Sprintf("Stack level 0, frame at %#x:", f0.CFA),
		fmt.Sprintf(" rip = %#x in measure (", f0.PC),
		fmt.Sprintf("main.c:%d); saved rip = %#x", f0.Line, f1.PC),
		fmt.Sprintf(" called by frame at %#x", f1.CFA),
		" source language c.",
		" args: s=",
		", index=0",
		fmt.Sprintf("  rip at %#x", f0.CFA-8),
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("info frame lacks %q:\n%s", want, out)
		}
	}
	h.s.Send(SelectFrame{Index: 1})
	h.until("frame 1", 30*time.Second, func(e Event) bool { _, ok := e.(FrameEvent); return ok })
	h.s.Send(Info{What: "frame"})
	out = h.output("info frame 1").Text
	for _, want := range []string{
		fmt.Sprintf("Stack level 1, frame at %#x:", f1.CFA),
		fmt.Sprintf(" caller of frame at %#x", f0.CFA),
		" args: n=3",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("info frame (level 1) lacks %q:\n%s", want, out)
		}
	}
}

// TestFaultCarriesLocals: at a crash the session reads frame #0's
// arguments from the crash record (store_value(slot=0x0, value=2) in
// examples/crash, -O1) for the Locals pane.
func TestFaultCarriesLocals(t *testing.T) {
	dir := testenv.CopyApp(t, "../examples/crash")
	h := start(t, Config{Dir: dir, NoWatch: true})
	e := h.until("fault", 60*time.Second, func(e Event) bool { _, ok := e.(FaultEvent); return ok }).(FaultEvent)
	got := map[string]string{}
	for _, v := range e.Vars {
		got[v.Name] = v.Value
	}
	if got["slot"] != "0x0" || got["value"] != "2" {
		t.Fatalf("vars at the fault %+v, want slot = 0x0 and value = 2", e.Vars)
	}
}

// TestNextStaysInItsThread: `next` over ukw_thread_yield in
// examples/threads returns in the same worker, although the other workers
// reach the same return address first on their own stacks (gdb checks
// the frame at its step-resume breakpoint; so does the session).
func TestNextStaysInItsThread(t *testing.T) {
	dir := testenv.CopyApp(t, "../examples/threads")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"worker"}})
	s := h.stop("break worker")
	cfa := top(s).CFA
	h.s.Send(Delete{})
	for i := 0; i < 8; i++ {
		h.s.Send(Next{})
		s = h.stop("next")
		if f := top(s); f.Function != "worker" {
			break // the worker returned
		} else if f.CFA != cfa {
			t.Fatalf("next %d stopped in another thread's worker: CFA %#x, want %#x (line %d)", i, f.CFA, cfa, f.Line)
		}
	}
}

// TestCoopThreads: `info threads` and `thread N` read lib/sched-coop's
// thread table in examples/threads: at the first stop in a worker, main
// waits in ukw_thread_join, worker A runs, B and C have not started.
func TestCoopThreads(t *testing.T) {
	dir := testenv.CopyApp(t, "../examples/threads")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"worker"}})
	h.stop("break worker")
	h.s.Send(Info{What: "threads"})
	out := h.output("info threads").Text
	for _, want := range []string{"  0   runnable  main at ", "* 1   running   worker at ", "  2   runnable  ukw_thread_start at ", "  3   runnable  ukw_thread_start at "} {
		if !strings.Contains(out, want) {
			t.Fatalf("info threads lacks %q:\n%s", want, out)
		}
	}
	h.s.Send(Thread{ID: 0})
	if out := h.output("thread 0").Text; !strings.HasPrefix(out, "[Thread 0 (runnable)]\n#0  ukw_thread_join () at ") || !strings.Contains(out, " in main () at ") {
		t.Fatalf("thread 0:\n%s", out)
	}
	// threads carry on: the selection stays on the stopped thread
	h.s.Send(Continue{})
	if s := h.stop("next worker"); top(s).Function != "worker" {
		t.Fatalf("continue stopped in %+v", top(s))
	}
	h.s.Send(Info{What: "threads"})
	if out := h.output("info threads").Text; !strings.Contains(out, "* 2   running   worker at ") || !strings.Contains(out, "  1   runnable  worker at ") {
		t.Fatalf("second stop:\n%s", out)
	}
}
