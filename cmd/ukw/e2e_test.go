package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"ukw/internal/testenv"
	"ukw/session"
	"ukw/tui"
)

// buildUKW builds the real ukw binary into a temporary directory, the way
// a user gets it (`go build ./cmd/ukw`).
func buildUKW(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ukw")
	gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gocmd, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/ukw: %v\n%s", err, out)
	}
	return bin
}

// terminal is a detached tmux session on a private server, driven as a
// person drives a terminal: keys in (send-keys), screen out (capture-pane).
type terminal struct {
	t    *testing.T
	tmux string
	sock string
}

func newTerminal(t *testing.T, tmux string, w, h int, command string) *terminal {
	t.Helper()
	tm := &terminal{t: t, tmux: tmux, sock: fmt.Sprintf("ukw-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { exec.Command(tm.tmux, "-L", tm.sock, "kill-server").Run() })
	tm.run("new-session", "-d", "-s", "w", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), command)
	tm.run("set-option", "-t", "w", "remain-on-exit", "on")
	return tm
}

func (m *terminal) run(args ...string) string {
	m.t.Helper()
	out, err := exec.Command(m.tmux, append([]string{"-L", m.sock}, args...)...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (m *terminal) screen() string { return m.run("capture-pane", "-p", "-t", "w") }

// keys sends tmux key names (Enter, Escape, F5, C-c) one call at a time, so
// an Escape is never read together with the next key as alt+key.
func (m *terminal) keys(names ...string) {
	m.t.Helper()
	for _, k := range names {
		m.run("send-keys", "-t", "w", k)
	}
}

// typeText types literal text.
func (m *terminal) typeText(s string) { m.t.Helper(); m.run("send-keys", "-t", "w", "-l", s) }

// check is one condition on the screen, with a name for the failure message.
type check struct {
	what string
	ok   func(screen string) bool
}

func contains(s string) check {
	return check{fmt.Sprintf("%q", s), func(sc string) bool { return strings.Contains(sc, s) }}
}

func matches(re string) check {
	r := regexp.MustCompile(re)
	return check{"/" + re + "/", r.MatchString}
}

// waitFor polls the screen until every check holds, failing at the deadline
// with the checks that did not hold and the last screen.
func (m *terminal) waitFor(timeout time.Duration, checks ...check) string {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sc := m.screen()
		var missing []string
		for _, c := range checks {
			if !c.ok(sc) {
				missing = append(missing, c.what)
			}
		}
		if len(missing) == 0 {
			return sc
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("after %s the screen still lacks %s:\n%s", timeout, strings.Join(missing, ", "), sc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// paneDead reports whether the program in the pane has ended.
func (m *terminal) paneDead() bool {
	return strings.TrimSpace(m.run("display-message", "-p", "-t", "w", "#{pane_dead}")) == "1"
}

var ripRE = regexp.MustCompile(`rip\s+0x([0-9a-f]{16})`)

func rip(t *testing.T, screen string) string {
	t.Helper()
	m := ripRE.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no rip in the Registers pane:\n%s", screen)
	}
	return m[1]
}

// TestDevWorkbenchInTmux drives the real `ukw dev` binary in a terminal as
// a person would: breakpoint set on the command line, continue, the line
// marked and the console shown; then an edit on disk that changes a printed
// string and moves the code, and the rebuild, reboot and breakpoint hit in
// the new code, all read back from the screen.
func TestDevWorkbenchInTmux(t *testing.T) {
	testenv.KVM(t)
	tmux := testenv.Tool(t, "tmux")
	testenv.Tool(t, "gcc", "ld", "objcopy")
	bin := buildUKW(t)
	dir := testenv.CopyApp(t, "../../examples/hello")
	main := filepath.Join(dir, "main.c")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	// The breakpoint goes on the line printing the exit status; the edit
	// keeps every line number and moves that line's code.
	lines := strings.Split(string(src), "\n")
	bpLine := 0
	for i, l := range lines {
		if strings.Contains(l, `printf("exit status %d\n", status);`) {
			bpLine = i + 1
		}
	}
	if bpLine == 0 || !strings.Contains(string(src), "\tint status = 0;\n") || !strings.Contains(string(src), `"allocated %zu bytes`) {
		t.Fatalf("examples/hello/main.c changed; update this test:\n%s", src)
	}

	// A fresh object cache makes the first build a cold one, as on a new machine.
	cmd := fmt.Sprintf("cd %q && exec env XDG_CACHE_HOME=%q %q dev -b main", dir, t.TempDir(), bin)
	tm := newTerminal(t, tmux, 160, 45, cmd)
	const slow = 3 * time.Minute // a cold build and boot on a loaded 2-core machine
	tm.waitFor(slow, contains(" STOPPED "), contains("Breakpoint 1, main at"), matches(`●=> +\d+ +printf\("Hello from ukw!`))

	tm.keys(":")
	tm.typeText(fmt.Sprintf("b main.c:%d", bpLine))
	tm.keys("Enter")
	tm.waitFor(30*time.Second, matches(fmt.Sprintf(`Breakpoint 2 at 0x[0-9a-f]+: main at \S*main.c:%d`, bpLine)))
	tm.typeText("delete 1") // so the reload runs straight to line bpLine
	tm.keys("Enter", "Escape")
	tm.waitFor(30*time.Second, contains("(ukw) press : for commands"))
	tm.keys("c")
	marker := matches(fmt.Sprintf(`●=> +%d +printf\("exit status`, bpLine))
	sc := tm.waitFor(slow, contains("Breakpoint 2, main at"), marker,
		contains("Hello from ukw! argc=2 argv[1]=world"), contains("allocated 21 bytes at"),
		contains(fmt.Sprintf("═ Source ═ main.c:%d", bpLine)))
	before := rip(t, sc)

	// Edit as an editor would, on disk: a new printed string, and a new call
	// at the top of main on an existing line so every later address moves.
	edited := strings.Replace(string(src), "\tint status = 0;\n", "\tint status = 0; printf(\"edited on disk\\n\");\n", 1)
	edited = strings.Replace(edited, `"allocated %zu bytes`, `"REALLOCATED %zu bytes`, 1)
	if err := os.WriteFile(main, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	// The registers are only repainted at the new stop: until then rip
	// shows the old address.
	moved := check{"rip other than " + before, func(sc string) bool {
		m := ripRE.FindStringSubmatch(sc)
		return m != nil && m[1] != before
	}}
	sc = tm.waitFor(slow, contains("save→running"), contains("1 compiled"),
		contains("edited on disk"), contains("REALLOCATED 21 bytes at"),
		contains("Breakpoint 2, main at"), marker, contains(" STOPPED "), moved)
	after := rip(t, sc)
	t.Logf("breakpoint 2 at main.c:%d: rip %s before the edit, %s after", bpLine, before, after)

	tm.keys("q")
	deadline := time.Now().Add(30 * time.Second)
	for !tm.paneDead() {
		if time.Now().After(deadline) {
			t.Fatalf("ukw dev did not exit after q:\n%s", tm.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countingBackend hands the session's events to the workbench and counts
// the console bytes among them.
type countingBackend struct {
	s       *session.Session
	ch      chan session.Event
	console atomic.Int64
}

func newCountingBackend(s *session.Session) *countingBackend {
	c := &countingBackend{s: s, ch: make(chan session.Event)}
	go func() {
		defer close(c.ch)
		for e := range s.Events() {
			if ce, ok := e.(session.ConsoleEvent); ok {
				c.console.Add(int64(len(ce.Data)))
			}
			c.ch <- e
		}
	}()
	return c
}

func (c *countingBackend) Events() <-chan session.Event { return c.ch }
func (c *countingBackend) Send(cmd session.Command)     { c.s.Send(cmd) }

// BenchmarkKeyLatencyRealSession measures keypress-to-frame latency in the
// workbench (the real Bubble Tea program and renderer, 160x45) on a real
// session: the testdata/guests/flood guest booted on KVM printing to its
// console as fast as it can ("flood"), and the same guest after it exited
// ("idle"). A key is a character typed on the command line; its latency
// runs until the frame showing it is written. tui's
// BenchmarkKeyLatencyUnderConsoleFlood does the same with synthetic events
// at 10 MB/s.
func BenchmarkKeyLatencyRealSession(b *testing.B) {
	testenv.KVM(b)
	testenv.Tool(b, "gcc", "ld", "objcopy")
	b.Setenv("XDG_CACHE_HOME", b.TempDir())
	dir := testenv.CopyApp(b, "../../testdata/guests/flood")
	b.Run("flood", func(b *testing.B) { benchKeys(b, dir, "flood", "the guest is printing as fast") })
	b.Run("idle", func(b *testing.B) { benchKeys(b, dir, "flood 1", " EXITED ") })
}

func benchKeys(b *testing.B, dir, cmdline, ready string) {
	s, err := session.New(session.Config{Dir: dir, NoWatch: true, Cmdline: cmdline})
	if err != nil {
		b.Fatal(err)
	}
	be := newCountingBackend(s)
	defer func() {
		s.Close()
		for range be.Events() {
		}
	}()
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	scr := testenv.NewScreen()
	scr.Expect(ready)
	p := tea.NewProgram(tui.New(be, tui.Options{Renderer: r}), tea.WithInput(nil), tea.WithOutput(scr), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	defer func() {
		p.Quit()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	p.Send(tea.WindowSizeMsg{Width: 160, Height: 45})
	scr.Await(b, fmt.Sprintf("%q (build and boot)", ready), 3*time.Minute)
	p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{':'}})

	typed := ""
	lat := make([]time.Duration, 0, b.N)
	bytes0, start := be.console.Load(), time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(typed) >= 60 {
			typed = ""
			p.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
		}
		// a person's keys fall at any phase of the renderer's frame clock
		time.Sleep(time.Duration(rand.IntN(int(17 * time.Millisecond))))
		c := rune('a' + i%26)
		typed += string(c)
		scr.Expect("(ukw) " + typed)
		t0 := time.Now()
		p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
		lat = append(lat, scr.Await(b, fmt.Sprintf("the key %q", c), 30*time.Second).Sub(t0))
	}
	b.StopTimer()
	rate := float64(be.console.Load()-bytes0) / time.Since(start).Seconds()
	if cmdline == "flood" && rate == 0 {
		b.Fatal("the guest printed nothing while the keys were measured")
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)*95/100, len(lat)-1)]), "p95-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(rate/1024, "console-KiB/s")
}
