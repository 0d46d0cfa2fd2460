package vmm

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// buildGuest assembles testdata/vmm/<src> with the given -D flags and
// links it with testdata/vmm/link.ld; format "elf64", "elf32" or "binary".
func buildGuest(t testing.TB, src string, format string, defs ...string) string {
	t.Helper()
	cc := testenv.Tool(t, "gcc", "ld")
	dir := t.TempDir()
	obj := filepath.Join(dir, "g.o")
	args := []string{"-c", "-o", obj}
	ldArgs := []string{"-T", "../testdata/vmm/link.ld", "-z", "noexecstack", "--no-warn-rwx-segments"}
	switch format {
	case "elf32":
		args = append(args, "-m32")
		ldArgs = append(ldArgs, "-m", "elf_i386")
	case "binary":
		args = append(args, "-m32")
		ldArgs = append(ldArgs, "-m", "elf_i386", "--oformat", "binary")
	}
	for _, d := range defs {
		args = append(args, "-D"+d)
	}
	args = append(args, filepath.Join("../testdata/vmm", src))
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, out)
	}
	img := filepath.Join(dir, strings.TrimSuffix(src, ".S")+"."+format)
	ldArgs = append(ldArgs, "-o", img, obj)
	if out, err := exec.Command("ld", ldArgs...).CombinedOutput(); err != nil {
		t.Fatalf("ld %v: %v\n%s", ldArgs, err, out)
	}
	return img
}

// result is everything a run published.
type result struct {
	console string
	logs    []string
	stops   []guest.Stop
	exit    *guest.Exit
	fault   *guest.Fault
	traces  []guest.TraceRing
}

// newMachine boots cfg and closes it at the end of the test.
func newMachine(t testing.TB, cfg guest.Config) *Machine {
	t.Helper()
	testenv.KVM(t)
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// runToEnd continues m and collects events until the run ends (a stop,
// exit or fault).
func runToEnd(t testing.TB, m guest.Machine, step bool) result {
	t.Helper()
	ev, cancel := m.Subscribe()
	defer cancel()
	var err error
	if step {
		err = m.Step(0)
	} else {
		err = m.Continue()
	}
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, ev)
}

func collect(t testing.TB, ev <-chan guest.Event) result {
	t.Helper()
	var r result
	deadline := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				t.Fatal("event channel closed before the run ended")
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				r.console += string(e.Data)
			case guest.LogEvent:
				r.logs = append(r.logs, e.Msg)
			case guest.TraceEvent:
				r.traces = append(r.traces, e.Ring)
			case guest.StopEvent:
				r.stops = append(r.stops, e.Stop)
				return r
			case guest.ExitEvent:
				r.exit = &e.Exit
				return r
			case guest.FaultEvent:
				r.fault = &e.Fault
				return r
			}
		case <-deadline:
			t.Fatalf("run did not end within 60 s; console so far %q", r.console)
		}
	}
}

// boot builds nothing: it boots img with cmdline and runs it to its end.
func boot(t testing.TB, img, cmdline string, mod func(*guest.Config)) result {
	t.Helper()
	cfg := guest.Config{Image: img, Cmdline: cmdline, Timeout: 30 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	return runToEnd(t, newMachine(t, cfg), false)
}

func wantExit(t testing.TB, r result, how guest.ExitHow, status int) {
	t.Helper()
	if r.exit == nil {
		t.Fatalf("want exit %v %d, got fault %+v stops %+v (console %q)", how, status, r.fault, r.stops, r.console)
	}
	if r.exit.How != how || r.exit.Status != status {
		t.Fatalf("exit %v status %d, want %v %d (console %q)", r.exit.How, r.exit.Status, how, status, r.console)
	}
}
