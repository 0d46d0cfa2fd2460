package tui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// fakeDevEnv makes the test binary run the workbench on the fixture session
// instead of the tests; its value is the file the commands are logged to.
const fakeDevEnv = "UKW_TUI_FAKEDEV"

func TestMain(m *testing.M) {
	if log := os.Getenv(fakeDevEnv); log != "" {
		os.Exit(fakeDev(log))
	}
	os.Exit(m.Run())
}

// fakeDev runs the real workbench (tui.Run, alternate screen, mouse) on the
// terminal against the scripted fixture session.
func fakeDev(logPath string) int {
	f, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	b := newFakeBackend(true)
	b.log = f
	for _, ev := range fixtureSession() {
		b.ch <- ev
	}
	if err := Run(context.Background(), b, Options{}); err != nil {
		fmt.Fprintln(f, "error:", err)
		return 1
	}
	fmt.Fprintln(f, "exited")
	return 0
}

// tmuxTerm drives a program in a detached tmux session as a person would.
type tmuxTerm struct {
	t    *testing.T
	tmux string
	sock string
}

func (m *tmuxTerm) run(args ...string) string {
	m.t.Helper()
	out, err := exec.Command(m.tmux, append([]string{"-L", m.sock}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (m *tmuxTerm) screen() string { return m.run("capture-pane", "-p", "-t", "w") }

// waitFor waits until the screen (or, with file set, that file) contains all of wants.
func (m *tmuxTerm) waitFor(file string, wants ...string) string {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if file != "" {
			b, _ := os.ReadFile(file)
			got = string(b)
		} else {
			got = m.screen()
		}
		ok := true
		for _, w := range wants {
			ok = ok && strings.Contains(got, w)
		}
		if ok {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatalf("waited 10 s for %q; have:\n%s", wants, got)
	return ""
}

// TestTmuxWorkbench runs the workbench in a real terminal (tmux): keys
// arrive as escape sequences (F5, F9, Tab), the screen is read back with
// capture-pane, and a resize re-lays it out.
func TestTmuxWorkbench(t *testing.T) {
	tm := &tmuxTerm{t: t, tmux: testenv.Tool(t, "tmux"), sock: fmt.Sprintf("ukw-tui-test-%d", os.Getpid())}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := t.TempDir() + "/commands"
	t.Cleanup(func() { exec.Command(tm.tmux, "-L", tm.sock, "kill-server").Run() })
	tm.run("new-session", "-d", "-s", "w", "-x", "80", "-y", "24",
		fmt.Sprintf("%s=%q %q -test.run='^$'", fakeDevEnv, log, exe))
	tm.run("set-option", "-t", "w", "remain-on-exit", "on")

	s := tm.waitFor("", "═ Source ═ hello.c:8", "●=>  8", "[Registers]", "hello, world: 25", " STOPPED ")
	if !strings.Contains(s, "save→running 180 ms") {
		t.Errorf("no reload timeline in the status line:\n%s", s)
	}
	tm.waitFor(log, "session.ListLayers", "session.LoadSource{File:"+helloPath+"}")

	tm.run("send-keys", "-t", "w", "F5")
	tm.waitFor(log, "session.Continue{}")
	tm.run("send-keys", "-t", "w", "F9") // on line 8, where breakpoint 1 is
	tm.waitFor(log, "session.Delete{ID:1}")
	tm.run("send-keys", "-t", "w", "Tab", "Tab")
	tm.waitFor("", "═ Registers [Backtrace] Locals", "=>#0  [inline] square+4")
	tm.run("send-keys", "-t", "w", ":")
	tm.run("send-keys", "-t", "w", "-l", "b hello.c:14")
	tm.run("send-keys", "-t", "w", "Enter")
	tm.waitFor(log, "session.Break{Spec:hello.c:14")
	tm.run("send-keys", "-t", "w", "-l", "bogus")
	tm.run("send-keys", "-t", "w", "Enter")
	tm.waitFor("", `(ukw) bogus  ✗ unknown command "bogus"`)
	tm.run("send-keys", "-t", "w", "Escape")

	tm.run("resize-window", "-t", "w", "-x", "200", "-y", "50")
	tm.waitFor("", "─ Source ─ hello.c:8", "═ Backtrace", "─ Locals", "─ Registers", "─ [Memory] Trace Profile", "─ Build", "─ Layers", "→ main+20", "[x] boot64")

	tm.run("send-keys", "-t", "w", "q")
	tm.waitFor(log, "session.Quit{}", "exited")
}
