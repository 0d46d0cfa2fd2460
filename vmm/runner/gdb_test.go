package runner

// Tier 3: `ukw run --gdb` as a user runs it: the real ukw binary, and
// Debian's gdb started with the very command ukw printed.

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ukw/internal/testenv"
)

var (
	ukwOnce sync.Once
	ukwBin  string
	ukwErr  error
)

// ukwBinary builds cmd/ukw once per test binary.
func ukwBinary(t *testing.T) string {
	t.Helper()
	gotool := testenv.Tool(t, "go")
	ukwOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ukw-bin-")
		if err != nil {
			ukwErr = err
			return
		}
		ukwBin = filepath.Join(dir, "ukw")
		cmd := exec.Command(gotool, "build", "-o", ukwBin, "ukw/cmd/ukw")
		if out, err := cmd.CombinedOutput(); err != nil {
			ukwErr = err
			ukwBin = string(out)
		}
	})
	if ukwErr != nil {
		t.Fatalf("go build ukw/cmd/ukw: %v\n%s", ukwErr, ukwBin)
	}
	return ukwBin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ukwRun is a running `ukw run` process.
type ukwRun struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	mu     sync.Mutex
	stderr strings.Builder
	gdbCmd chan string
	done   chan struct{}
}

// startRun starts ukw with args (from the repository root) and returns
// once it printed the gdb command line.
func startRun(t *testing.T, args ...string) (*ukwRun, string) {
	t.Helper()
	testenv.KVM(t)
	bin := ukwBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	r := &ukwRun{cmd: exec.CommandContext(ctx, bin, args...), gdbCmd: make(chan string, 1), done: make(chan struct{})}
	r.cmd.Dir = repoRoot(t)
	r.cmd.Stdout = &r.stdout
	pr, pw := io.Pipe()
	r.cmd.Stderr = pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "gdb -q ") {
				r.gdbCmd <- sc.Text()
			}
		}
	}()
	go func() { r.cmd.Wait(); pw.Close(); close(r.done) }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		cancel()
	})
	select {
	case c := <-r.gdbCmd:
		return r, c
	case <-r.done:
		t.Fatalf("ukw %q ended without printing a gdb command:\n%s", args, r.errText())
	case <-time.After(90 * time.Second):
		t.Fatalf("ukw %q printed no gdb command within 90 s:\n%s", args, r.errText())
	}
	return nil, ""
}

// syncBuffer is a bytes.Buffer the process's output copier and the test
// may use at the same time.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (r *ukwRun) errText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// wait returns ukw's exit status.
func (r *ukwRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("ukw did not exit within 60 s:\n%s", r.errText())
	}
	return r.cmd.ProcessState.ExitCode()
}

// gdbBatch runs the printed gdb command line in batch mode with cmds.
func gdbBatch(t *testing.T, gdbCmd string, cmds ...string) string {
	t.Helper()
	testenv.Tool(t, "gdb")
	line := gdbCmd + " -batch -nx -ex 'set pagination off' -ex 'set confirm off'"
	for _, c := range cmds {
		line += " -ex " + shellQuote(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", line).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("gdb did not finish within 60 s:\n%s", out)
	}
	if err != nil {
		t.Logf("gdb: %v", err)
	}
	return string(out)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// inOrder checks that each pattern matches a line of out, in order.
func inOrder(t *testing.T, out string, pats ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range pats {
		re := regexp.MustCompile(p)
		for ; i < len(lines) && !re.MatchString(lines[i]); i++ {
		}
		if i == len(lines) {
			t.Fatalf("output lacks (in order) %q:\n%s", p, out)
		}
		i++
	}
}

// TestRunGDBWaitWatch: `ukw run --gdb ADDR --wait examples/hello` holds the
// guest at its first instruction; gdb, started with the command ukw
// printed, breaks in main, watches a global of lib/alloc-bump with a plain
// `watch` (a Z2 the VMM serves with read-only memslots on kvm-pvm), stops
// in malloc after the write with old and new values, and lets the guest
// run to its exit; ukw streams the console and exits with the guest's 0.
func TestRunGDBWaitWatch(t *testing.T) {
	addr := freePort(t)
	r, gdbCmd := startRun(t, "run", "--gdb", addr, "--wait", "examples/hello")
	if !strings.Contains(gdbCmd, "hello.elf") || !strings.Contains(gdbCmd, "target remote "+addr) {
		t.Fatalf("printed command %q", gdbCmd)
	}
	time.Sleep(200 * time.Millisecond)
	if r.stdout.String() != "" {
		t.Fatalf("the guest ran before a debugger continued it: %q", r.stdout.String())
	}
	out := gdbBatch(t, gdbCmd, "info registers rip", "break main", "continue", "watch 'bump.c'::next", "continue", "bt", "delete", "continue")
	inOrder(t, out,
		`^_start64 \(\) at .*boot\.S:\d+`,
		`^Breakpoint 1, main \(argc=2, `,
		`^Hardware watchpoint 2: 'bump\.c'::next$`,
		`^Old value = \d+$`,
		`^New value = \d+$`,
		`^malloc \(.*\) at .*alloc-bump/bump\.c:\d+`,
		`^#1  0x[0-9a-f]+ in main \(.*\) at .*examples/hello/main\.c:\d+`,
		`^\[Inferior 1 \(Remote target\) exited normally\]`)
	if st := r.wait(t); st != 0 {
		t.Fatalf("ukw exited %d:\n%s", st, r.errText())
	}
	if !strings.Contains(r.stdout.String(), "hello has 1 argument\nexit status 0\n") {
		t.Fatalf("console %q", r.stdout.String())
	}
	inOrder(t, r.errText(), `^ukw: GDB stub on `+regexp.QuoteMeta(addr), `^ukw: debugger attached from `, `^ukw: debugger .* detached`)
}

// TestRunGDBReadAccessWatch: Debian's gdb sets rwatch and awatch on
// globals of a ukw app through ukw's stub on the native VMM. On kvm-pvm
// (no data breakpoints) the VMM takes the variable's page out of guest RAM
// so that reads exit too; gdb sees hardware read and access watchpoints
// and stops after the reading or writing instruction.
func TestRunGDBReadAccessWatch(t *testing.T) {
	addr := freePort(t)
	app := testenv.CopyApp(t, filepath.Join(repoRoot(t), "testdata/guests/calls")) // other packages build it too
	r, gdbCmd := startRun(t, "run", "--gdb", addr, "--wait", app)
	out := gdbBatch(t, gdbCmd, "break measure_all", "continue", "rwatch scale", "continue", "delete",
		"awatch visits", "continue", "continue", "delete", "continue")
	inOrder(t, out,
		`^Hardware read watchpoint 2: scale$`,
		`^Value = 1$`,
		`^measure \(s=.*\) at .*calls/main\.c:12$`,
		`^Hardware access \(read/write\) watchpoint 3: visits$`,
		`^Value = 3$`,
		`^0x[0-9a-f]+ in manhattan \(.*\) at .*calls/shapes\.c:14$`,
		`^Old value = 3$`,
		`^New value = 4$`,
		`^manhattan \(.*\) at .*calls/shapes\.c:15$`,
		`^\[Inferior 1 \(Remote target\) exited with code 040\]`)
	if st := r.wait(t); st != 32 {
		t.Fatalf("ukw exited %d:\n%s", st, r.errText())
	}
}

// TestRunGDBAttachLater: without --wait the guest runs; gdb attaches to
// the spinning test guest later (which stops it), releases it with
// `set var`, and detaches; the guest runs to its exit status 37, ukw's own.
func TestRunGDBAttachLater(t *testing.T) {
	testenv.Tool(t, "gcc", "ld", "objcopy")
	dir := t.TempDir()
	if out, err := exec.Command("sh", filepath.Join(repoRoot(t), "testdata/gdb/guest/build.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("building the gdb test guest: %v\n%s", err, out)
	}
	addr := freePort(t)
	r, gdbCmd := startRun(t, "run", "--gdb="+addr, filepath.Join(dir, "guest.elf"))
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(r.stdout.String(), "bumped\n") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := gdbBatch(t, gdbCmd, "bt 1", "print watched", "set var release = 1", "detach")
	inOrder(t, out, `^#0  .*spin \(\) at .*main\.c:\d+`, `^\$1 = 7$`, `^\[Inferior 1 \(Remote target\) detached\]`)
	if st := r.wait(t); st != 37 {
		t.Fatalf("ukw exited %d, want the guest's 37:\n%s", st, r.errText())
	}
}

// TestRunGDBRemoteRefused: a non-loopback address needs --gdb-allow-remote,
// and ukw says so before building or booting anything.
func TestRunGDBRemoteRefused(t *testing.T) {
	bin := ukwBinary(t)
	cmd := exec.Command(bin, "run", "--gdb", "0.0.0.0:0", "examples/hello")
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--gdb-allow-remote") {
		t.Fatalf("ukw run --gdb 0.0.0.0:0: %v\n%s", err, out)
	}
}
