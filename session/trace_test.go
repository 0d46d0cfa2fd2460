package session

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"ukw/internal/testenv"
)

// traceCounts tallies records: "enter fib" → 9, "point work i=1" → 1.
func traceCounts(recs []TraceRecord) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		k := r.Kind.String() + " " + r.Name
		if r.Kind == TracePoint {
			k += " " + r.Text
		}
		n[k]++
	}
	return n
}

func showCounts(n map[string]int) string {
	var out []string
	for k, v := range n {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestTraceEventsCarryTheCallTree runs testdata/guests/tracetree (ftrace on
// its own functions, two tracepoints) in a session, stopped once at a
// breakpoint in fib: the records up to that stop arrive with it, and by
// the exit the TraceEvents carry exactly the known calls and tracepoints,
// located in main.c.
func TestTraceEventsCarryTheCallTree(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/tracetree")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"fib"}})
	var recs []TraceRecord
	collect := func(e Event) {
		if te, ok := e.(TraceEvent); ok {
			recs = append(recs, te.Records...)
			if te.Warning != "" {
				t.Errorf("trace warning: %s", te.Warning)
			}
		}
	}
	// Everything before the first fib call is in the trace at the stop:
	// the loop reads the ring before it answers the next command.
	h.until("stop at fib", 120*time.Second, func(e Event) bool {
		collect(e)
		_, ok := e.(StopEvent)
		return ok
	})
	h.s.Send(Info{What: "frame"})
	h.until("info frame", 30*time.Second, func(e Event) bool {
		collect(e)
		_, ok := e.(OutputEvent)
		return ok
	})
	at := traceCounts(recs)
	for _, want := range []string{"point work i=0", "point work i=1", "point work i=2"} {
		if at[want] != 1 {
			t.Errorf("at the stop in fib: %q seen %d times, want 1; have %s", want, at[want], showCounts(at))
		}
	}
	if at["enter square"] != 3 || at["exit square"] != 3 || at["enter work"] != 3 {
		t.Errorf("at the stop in fib: want 3 work and 3 square calls; have %s", showCounts(at))
	}
	if at["point done total=38 reps=1"] != 0 {
		t.Errorf("the done tracepoint arrived before it ran: %s", showCounts(at))
	}

	h.s.Send(Delete{})
	h.s.Send(Continue{})
	h.until("final trace batch", 120*time.Second, func(e Event) bool {
		collect(e)
		te, ok := e.(TraceEvent)
		return ok && te.Final
	})
	got := traceCounts(recs)
	want := map[string]int{
		"enter main": 1, "exit main": 1,
		"enter work": 3, "exit work": 3,
		"enter step": 3, "exit step": 3,
		"enter leaf": 8, "exit leaf": 8,
		"enter square": 3, "exit square": 3,
		"enter fib": 9, "exit fib": 9,
		"point work i=0": 1, "point work i=1": 1, "point work i=2": 1,
		"point done total=38 reps=1": 1,
	}
	if showCounts(got) != showCounts(want) {
		t.Fatalf("trace records:\n got  %s\n want %s", showCounts(got), showCounts(want))
	}
	for i, r := range recs {
		if i > 0 && r.Index != recs[i-1].Index+1 {
			t.Fatalf("record %d has index %d after %d: records lost or repeated", i, r.Index, recs[i-1].Index)
		}
		if filepath.Base(r.File) != "main.c" || r.Line <= 0 {
			t.Errorf("record %d (%s %s) located at %s:%d, want main.c", i, r.Kind, r.Name, r.File, r.Line)
		}
		if i > 0 && r.Ticks < recs[i-1].Ticks {
			t.Errorf("record %d goes back in time: %d < %d ticks", i, r.Ticks, recs[i-1].Ticks)
		}
		if r.Kind == TracePoint && r.Name == "work" && r.In != "work" {
			t.Errorf("work tracepoint in %q, want in work", r.In)
		}
	}
	// the "work" tracepoint's line is the UKW_TRACE line of main.c
	for _, r := range recs {
		if r.Kind == TracePoint && r.Name == "work" {
			src := readLines(t, filepath.Join(dir, "main.c"))
			if r.Line > len(src) || !strings.Contains(src[r.Line-1], `UKW_TRACE("work"`) {
				t.Errorf("work tracepoint at main.c:%d, which is not its UKW_TRACE line", r.Line)
			}
			break
		}
	}
}

// TestProfileHotSpin profiles testdata/guests/hot from its entry to its
// exit with the Profile command: at least 90% of the samples must be in
// hot_spin, the function the guest spends its time in.
func TestProfileHotSpin(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/hot")
	h := start(t, Config{Dir: dir, NoWatch: true, StopAtEntry: true})
	h.stop("entry")
	h.s.Send(Profile{Hz: 200, Duration: 2 * time.Minute})
	h.s.Send(Continue{})
	var last ProfileEvent
	snaps := 0
	h.until("final profile", 180*time.Second, func(e Event) bool {
		p, ok := e.(ProfileEvent)
		if !ok {
			return false
		}
		if p.Err != "" {
			t.Fatalf("profile: %s", p.Err)
		}
		snaps++
		last = p
		return !p.Running
	})
	if last.Samples < 50 {
		t.Fatalf("only %d samples (%d failed) in %s", last.Samples, last.Failed, last.Elapsed)
	}
	if len(last.Top) == 0 || last.Top[0].Name != "hot_spin" || last.Top[0].SelfPct < 90 {
		t.Fatalf("top functions %+v; want hot_spin with >= 90%% of %d samples", last.Top, last.Samples)
	}
	if snaps < 2 {
		t.Errorf("%d profile snapshots, want running ones before the last", snaps)
	}
	t.Logf("%d samples at %d Hz in %s: hot_spin %.1f%% self (%d failed, %d snapshots)",
		last.Samples, last.Hz, last.Elapsed.Round(time.Millisecond), last.Top[0].SelfPct, last.Failed, snaps)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// TestTraceWhileRunningAndReboot follows a long tracetree run: records
// arrive while the guest runs (polled, no stop), a reboot ends the old
// guest's trace with a final batch before the new guest boots, and the
// new guest's records start again from the first.
func TestTraceWhileRunningAndReboot(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/tracetree")
	h := start(t, Config{Dir: dir, NoWatch: true, Cmdline: "tracetree 5000"})
	first := h.until("records while running", 120*time.Second, func(e Event) bool {
		te, ok := e.(TraceEvent)
		return ok && len(te.Records) > 0
	}).(TraceEvent)
	if first.Final {
		t.Fatalf("the first batch is final: the guest ended before it was polled (%d records)", first.Total)
	}
	if first.Records[0].Index != 0 || first.Records[0].Name != "main" || first.Records[0].Kind != TraceEnter {
		t.Fatalf("first record %+v, want the entry of main", first.Records[0])
	}
	running := false
	for _, e := range h.all {
		if st, ok := e.(StateEvent); ok {
			running = st.State == StateRunning
		}
	}
	if !running {
		t.Fatalf("records arrived while the session was not running")
	}
	// a second poll continues where the first ended
	next := first.Records[len(first.Records)-1].Index + 1
	second := h.until("a second batch while running", 60*time.Second, func(e Event) bool {
		te, ok := e.(TraceEvent)
		return ok && len(te.Records) > 0
	}).(TraceEvent)
	if second.Final || second.Records[0].Index != next {
		t.Fatalf("second batch starts at #%d (final %v), want #%d", second.Records[0].Index, second.Final, next)
	}
	h.s.Send(Reboot{})
	h.until("final batch of the old guest", 60*time.Second, func(e Event) bool {
		switch e := e.(type) {
		case StateEvent:
			if e.State == StateBooting {
				t.Fatalf("booting before the old guest's final trace batch")
			}
		case TraceEvent:
			return e.Final
		}
		return false
	})
	again := h.until("records of the new guest", 120*time.Second, func(e Event) bool {
		te, ok := e.(TraceEvent)
		return ok && len(te.Records) > 0
	}).(TraceEvent)
	if again.Records[0].Index != 0 || again.Records[0].Name != "main" {
		t.Fatalf("the new guest's first record is %+v, want #0, the entry of main", again.Records[0])
	}
	t.Logf("first poll: %d records, second: %d", len(first.Records), len(second.Records))
}
