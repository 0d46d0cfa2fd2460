package gdbstub_test

// Tier 3: Debian's real gdb against ukw's stub (Serve), over every backend
// that runs here: the native VMM (package vmm) and QEMU (package qemu,
// reached through gdbstub.Client and QEMU's own stub). Scripts and expected
// outputs live in testdata/gdb.

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ukw/gdbstub"
	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/qemu"
	"ukw/vmm"
)

const gdbData = "../testdata/gdb"

// backend boots the test guest on one implementation of guest.Machine.
type backend struct {
	name string
	need func(t *testing.T)
	boot func(cfg guest.Config) (guest.Machine, error)
}

var backends = []backend{
	{"vmm", func(t *testing.T) { testenv.KVM(t) }, func(cfg guest.Config) (guest.Machine, error) { return vmm.New(cfg) }},
	{"qemu", func(t *testing.T) { testenv.Tool(t, "qemu-system-x86_64") }, func(cfg guest.Config) (guest.Machine, error) {
		return qemu.NewOptions(cfg, qemu.Options{Accel: "tcg"})
	}},
}

var (
	guestOnce sync.Once
	guestDir  string
	guestErr  error
)

// testGuest builds testdata/gdb/guest once per test binary.
func testGuest(t testing.TB) (elfPath string) {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	guestOnce.Do(func() {
		guestDir, guestErr = os.MkdirTemp("", "ukw-gdb-guest-")
		if guestErr != nil {
			return
		}
		out, err := exec.Command("sh", filepath.Join(gdbData, "guest/build.sh"), guestDir).CombinedOutput()
		if err != nil {
			guestErr = fmt.Errorf("building the test guest: %v\n%s", err, out)
		}
	})
	if guestErr != nil {
		t.Fatal(guestErr)
	}
	return filepath.Join(guestDir, "guest.elf")
}

// marks maps the "mark:NAME" comments of main.c to their line numbers.
func marks(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(gdbData, "guest/main.c"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for i, line := range strings.Split(string(src), "\n") {
		if _, after, ok := strings.Cut(line, "mark:"); ok {
			m[strings.Fields(strings.TrimSuffix(after, "*/"))[0]] = i + 1
		}
	}
	return m
}

var markRE = regexp.MustCompile(`@([a-z-]+)@`)

// expand replaces @NAME@ with the line of mark NAME.
func expand(t *testing.T, text string) string {
	t.Helper()
	mk := marks(t)
	return markRE.ReplaceAllStringFunc(text, func(s string) string {
		n, ok := mk[strings.Trim(s, "@")]
		if !ok {
			t.Fatalf("no mark %s in main.c", s)
		}
		return strconv.Itoa(n)
	})
}

// script returns testdata/gdb/NAME.gdb with marks expanded, written to a file.
func script(t *testing.T, name, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(gdbData, name+".gdb"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".gdb")
	if err := os.WriteFile(p, []byte(prefix+expand(t, string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runGDB runs gdb in batch mode against addr; during, if set, runs while gdb does.
func runGDB(t *testing.T, elfPath, addr, scriptPath string, during func(p *os.Process)) string {
	t.Helper()
	gdb := testenv.Tool(t, "gdb")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gdb, "-batch", "-nx", "-q",
		"-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set width 0",
		"-ex", "target remote "+addr, "-x", scriptPath, elfPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // stdin stays /dev/null: gdb needs that in batch mode
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(cmd.Process)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("gdb did not finish within 60 s:\n%s", out.String())
	}
	if err != nil {
		t.Logf("gdb: %v", err)
	}
	return out.String()
}

// want checks that each regexp of testdata/gdb/NAME.want matches a line of
// out, in order.
func want(t *testing.T, name, out string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(gdbData, name+".want"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	i := 0
	sc := bufio.NewScanner(strings.NewReader(expand(t, string(b))))
	for sc.Scan() {
		pat := sc.Text()
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			t.Fatalf("%s.want: %v", name, err)
		}
		found := false
		for ; i < len(lines); i++ {
			if re.MatchString(lines[i]) {
				found = true
				i++
				break
			}
		}
		if !found {
			t.Fatalf("gdb output lacks (in order) %q\n--- output ---\n%s", pat, out)
		}
	}
}

// machine boots the guest on b and serves it; it returns the stub and a
// channel of the machine's events.
func machine(t *testing.T, b backend, elfPath string) (guest.Machine, *gdbstub.Stub, <-chan guest.Event) {
	t.Helper()
	b.need(t)
	m, err := b.boot(guest.Config{Image: elfPath, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ev, cancel := m.Subscribe()
	stub, err := gdbstub.ListenAndServe(context.Background(), "127.0.0.1:0", m, gdbstub.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stub.Close()
		cancel()
		m.Close()
	})
	return m, stub, ev
}

// final waits for the machine's exit or fault.
func final(t *testing.T, ev <-chan guest.Event) guest.Event {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				t.Fatal("events closed before the guest ended")
			}
			switch e.(type) {
			case guest.ExitEvent, guest.FaultEvent:
				return e
			}
		case <-timeout:
			t.Fatal("the guest did not end within 60 s")
		}
	}
}

func wantExit(t *testing.T, ev <-chan guest.Event, status int, how guest.ExitHow) {
	t.Helper()
	e := final(t, ev)
	ex, ok := e.(guest.ExitEvent)
	if !ok || ex.Exit.How != how || (how == guest.ExitPort && ex.Exit.Status != status) {
		t.Fatalf("guest ended with %#v, want %v status %d", e, how, status)
	}
}

// forEach runs fn as a subtest per backend.
func forEach(t *testing.T, fn func(t *testing.T, b backend, elfPath string)) {
	elfPath := testGuest(t)
	testenv.Tool(t, "gdb")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b, elfPath) })
	}
}

func TestGDBBreakBacktraceRegistersMemory(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		_, stub, _ := machine(t, b, elfPath)
		out := runGDB(t, elfPath, stub.Addr, script(t, "break", ""), nil)
		want(t, "break", out)
	})
}

func TestGDBStepping(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		_, stub, _ := machine(t, b, elfPath)
		out := runGDB(t, elfPath, stub.Addr, script(t, "step", ""), nil)
		want(t, "step", out)
	})
}

func TestGDBHbreakAndWatchpoint(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		m, stub, _ := machine(t, b, elfPath)
		prefix := ""
		if !m.Caps().Watchpoints {
			// The backend refuses Z2; gdb must be told before `watch`.
			prefix = "set can-use-hw-watchpoints 0\n"
		}
		out := runGDB(t, elfPath, stub.Addr, script(t, "hbreak-watch", prefix), nil)
		want(t, "hbreak-watch", out)
		if prefix == "" && !strings.Contains(out, "Hardware watchpoint 2: watched") {
			// Caps says Z2 works (debug registers, QEMU's own, or the
			// VMM's read-only memslots on kvm-pvm): gdb's plain `watch`
			// must have used it, not its single-stepping fallback.
			t.Fatalf("gdb did not use a hardware watchpoint (caps %+v):\n%s", m.Caps(), out)
		}
		t.Logf("watch strategy %q", m.Caps().WatchStrategy)
	})
}

func TestGDBInterruptBusyLoop(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		m, stub, _ := machine(t, b, elfPath)
		out := runGDB(t, elfPath, stub.Addr, script(t, "interrupt", ""), func(p *os.Process) {
			// Wait until the guest has run for a while, then Ctrl-C gdb.
			deadline := time.Now().Add(30 * time.Second)
			for m.State() != guest.Running && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond)
			p.Signal(os.Interrupt)
		})
		want(t, "interrupt", out)
	})
}

func TestGDBDetachLeavesGuestRunning(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		_, stub, ev := machine(t, b, elfPath)
		out := runGDB(t, elfPath, stub.Addr, script(t, "detach", ""), nil)
		want(t, "detach", out)
		wantExit(t, ev, 37, guest.ExitPort)
	})
}

func TestGDBKill(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		_, stub, ev := machine(t, b, elfPath)
		out := runGDB(t, elfPath, stub.Addr, script(t, "kill", ""), nil)
		want(t, "kill", out)
		wantExit(t, ev, 0, guest.ExitKilled)
	})
}

func TestGDBTwoSessionsOneVM(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, elfPath string) {
		_, stub, ev := machine(t, b, elfPath)
		out := runGDB(t, elfPath, stub.Addr, script(t, "session1", ""), nil)
		want(t, "session1", out)
		time.Sleep(200 * time.Millisecond) // the guest spins on, undebugged
		out = runGDB(t, elfPath, stub.Addr, script(t, "session2", ""), nil)
		want(t, "session2", out)
		wantExit(t, ev, 37, guest.ExitPort)
	})
}

// symbolAddr looks a symbol up in the guest ELF.
func symbolAddr(t testing.TB, path, name string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, _ := f.Symbols()
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("no symbol %s", name)
	return 0
}

func startStub(m guest.Machine) (*gdbstub.Stub, error) {
	return gdbstub.ListenAndServe(context.Background(), "127.0.0.1:0", m, gdbstub.ListenOptions{})
}
