package session

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// devRig is a real dev session on a copy of an app, with the helpers the
// reload benchmark and the soak test share: edit a source line, wait for
// the reload and for the new code's console output.
type devRig struct {
	tb   testing.TB
	s    *Session
	dir  string
	file string // the source file edited
	src  string // its original text
}

func newDevRig(tb testing.TB, app, file string) *devRig {
	tb.Helper()
	testenv.KVM(tb)
	testenv.Tool(tb, "gcc", "ld", "objcopy")
	tb.Setenv("XDG_CACHE_HOME", tb.TempDir())
	dir := testenv.CopyApp(tb, app)
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		tb.Fatal(err)
	}
	// A breakpoint the run never reaches: every reload re-resolves and
	// inserts it, as in a debugging session, and the guest runs through.
	s, err := New(Config{Dir: dir, Breakpoints: []string{"abort"}})
	if err != nil {
		tb.Fatal(err)
	}
	r := &devRig{tb: tb, s: s, dir: dir, file: filepath.Join(dir, file), src: string(src)}
	tb.Cleanup(func() { r.close() })
	return r
}

// close ends the session and drains its events.
func (r *devRig) close() {
	if r.s == nil {
		return
	}
	r.s.Close()
	for range r.s.Events() {
	}
	r.s = nil
}

// next returns the next event, failing after timeout.
func (r *devRig) next(what string, timeout <-chan time.Time) Event {
	r.tb.Helper()
	select {
	case e, ok := <-r.s.Events():
		if !ok {
			r.tb.Fatalf("session ended while waiting for %s", what)
		}
		if b, ok := e.(BuildEvent); ok && b.Phase == BuildFailed {
			r.tb.Fatalf("build failed while waiting for %s: %s", what, PlainLine(b, true))
		}
		if f, ok := e.(FaultEvent); ok {
			r.tb.Fatalf("guest faulted while waiting for %s: %s", what, f.Report)
		}
		return e
	case <-timeout:
		r.tb.Fatalf("no %s within the deadline", what)
		return nil
	}
}

// waitExit waits for the guest to exit with status 0.
func (r *devRig) waitExit() {
	r.tb.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		if e, ok := r.next("guest exit", timeout).(ExitEvent); ok {
			if e.Exit.Status != 0 {
				r.tb.Fatalf("guest exited with %d", e.Exit.Status)
			}
			return
		}
	}
}

// reload is one measured save→new code running.
type reload struct {
	tl      Timeline
	console time.Duration // save → the first console bytes of the new code arrive
}

// edit saves the source with old replaced by new (one line), then waits
// for the reload, for want on the console and for the guest's exit.
func (r *devRig) edit(old, new, want string) reload {
	r.tb.Helper()
	text := strings.Replace(r.src, old, new, 1)
	if text == r.src {
		r.tb.Fatalf("%q is not in %s", old, r.file)
	}
	timeout := time.After(2 * time.Minute)
	save := time.Now()
	if err := os.WriteFile(r.file, []byte(text), 0o644); err != nil {
		r.tb.Fatal(err)
	}
	var got reload
	var seen, exited bool
	var console []byte
	for !seen || !exited || got.tl.Total == 0 {
		switch e := r.next(fmt.Sprintf("reload showing %q", want), timeout).(type) {
		case ReloadEvent:
			got.tl = e.Timeline
			console = console[:0] // only the new guest's output counts
		case ConsoleEvent:
			if got.tl.Total == 0 {
				continue
			}
			console = append(console, e.Data...)
			if !seen && bytes.Contains(console, []byte(want)) {
				seen, got.console = true, time.Since(save)
			}
		case ExitEvent:
			if got.tl.Total != 0 {
				if !seen {
					r.tb.Fatalf("the new guest exited without printing %q: %q", want, console)
				}
				exited = true
			}
		}
	}
	return got
}

// BenchmarkReloadHello measures save → new code running for a one-line
// change in examples/hello, headless: each iteration edits the greeting,
// and the session rebuilds, reboots and runs it. Stages come from the
// session's ReloadEvent timeline (detect includes the watcher's debounce);
// "console" is save → the new greeting arriving as an event. Goal: total
// median at most 250 ms. `scripts/bench/reload.sh` runs it 50 times.
func BenchmarkReloadHello(b *testing.B) {
	r := newDevRig(b, "../examples/hello", "main.c")
	r.waitExit() // the first (cold) build and run
	const line = `printf("Hello from ukw! argc=%d", argc);`
	var runs []reload
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		greeting := fmt.Sprintf("Hello from edit %d!", i)
		runs = append(runs, r.edit(line, fmt.Sprintf(`printf("%s argc=%%d", argc);`, greeting), greeting))
	}
	b.StopTimer()
	stages := []struct {
		name string
		get  func(reload) time.Duration
	}{
		{"total", func(x reload) time.Duration { return x.tl.Total }},
		{"detect", func(x reload) time.Duration { return x.tl.Detect }},
		{"build", func(x reload) time.Duration { return x.tl.Build }},
		{"boot", func(x reload) time.Duration { return x.tl.Boot }},
		{"attach", func(x reload) time.Duration { return x.tl.Attach }},
		{"console", func(x reload) time.Duration { return x.console }},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "save→new code running, %d reloads of examples/hello (one-line edit):\n%-8s %9s %9s %9s\n", len(runs), "stage", "median", "p95", "max")
	for _, st := range stages {
		d := make([]time.Duration, len(runs))
		for i, x := range runs {
			d[i] = st.get(x)
		}
		slices.Sort(d)
		p50, p95, worst := d[len(d)/2], d[min(len(d)*95/100, len(d)-1)], d[len(d)-1]
		b.ReportMetric(msf(p50), st.name+"-p50-ms")
		b.ReportMetric(msf(p95), st.name+"-p95-ms")
		fmt.Fprintf(&table, "%-8s %6.1f ms %6.1f ms %6.1f ms\n", st.name, msf(p50), msf(p95), msf(worst))
	}
	// On stdout, not b.Log: the testing package cuts benchmark logs short.
	// (It runs the benchmark with b.N = 1 first: the last table counts.)
	fmt.Print("\n" + table.String())
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
