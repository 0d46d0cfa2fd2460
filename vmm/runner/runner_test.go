package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// A run case: app dir (from the repo root), command line (nil: the app's),
// flags, and what stdout and stderr must match, and the exit status.
type runCase struct {
	name    string
	app     string
	cmdline *string
	strict  bool
	timeout time.Duration
	stdout  []string
	stderr  []string
	status  int
}

func str(s string) *string { return &s }

// repoRoot is the module root, two levels up from vmm/runner.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

const crashBT = `(?s)backtrace:\n  #0  0x[0-9a-f]{16} in \w+ at .*testdata/guests/faults/main\.c:\d+\n.*in ukw_plat_entry at .*plat/kvm/entry\.c:\d+`

func cases() []runCase {
	f := func(mode string, status int, stderr ...string) runCase {
		return runCase{name: "faults-" + mode, app: "testdata/guests/faults", cmdline: str("faults " + mode), stderr: stderr, status: status}
	}
	cs := []runCase{
		{name: "hello", app: "examples/hello", stdout: []string{`^Hello from ukw! argc=2 argv\[1\]=world\nallocated \d+ bytes at 0x[0-9a-f]+: hello has 1 argument\nexit status 0\n$`}},
		{name: "hello-exit5", app: "examples/hello", cmdline: str("hello --exit=5"), stdout: []string{`exit status 5\n$`}, status: 5},
		{name: "crash", app: "examples/crash", status: StatusFault,
			stdout: []string{`^crash: applying verbose = 1\ncrash: applying missing = 2\n`},
			stderr: []string{`#PF page fault \(error 0x2\) accessing 0x0 at rip 0x[0-9a-f]+\n  in store_value at .*examples/crash/main\.c:13\n`,
				`#1  0x[0-9a-f]+ in apply_setting at .*main\.c:19\n`, `#3  0x[0-9a-f]+ in main at .*main\.c:\d+\n`, `->    13\t`, `cr2 0x0 `}},
		{name: "threads", app: "examples/threads", stdout: []string{`^A0 B0 C0 A1 B1 C1 A2 B2 C2 \nsleeper: slept at least 5 ms\nthreads: joined 4 threads, 9 rounds\n$`}},
		{name: "calls", app: "testdata/guests/calls", stdout: []string{`calls: result 32, visits 9\n$`}, status: 32},
		{name: "loop-3000", app: "testdata/guests/loop", cmdline: str("loop 3000"), stdout: []string{`^loop: counting \(limit 3000\)\nloop: stopped at 3000\n$`}},
		{name: "loop-timeout", app: "testdata/guests/loop", timeout: 500 * time.Millisecond, status: StatusTimeout,
			stderr: []string{`timeout: ran past the 500ms timeout`, `in main at .*loop/main\.c:\d+`}},
		{name: "libc", app: "testdata/guests/libc", stdout: []string{`libc: \d+ checks, 0 failed\n$`}},
		{name: "tracetree", app: "testdata/guests/tracetree", stdout: []string{`tracetree: total \d+\n$`}, stderr: []string{`trace ring at 0x`}},
		{name: "external", app: "testdata/guests/external", stdout: []string{`^external: hello from a make-built kernel\n$`}, status: 0x21},
		f("pf", StatusFault, `#PF page fault \(error 0x0\) accessing 0x40000000 at rip`, crashBT),
		f("null", StatusFault, `#PF page fault \(error 0x2\) accessing 0x0 at rip`, crashBT),
		f("gp", StatusFault, `#GP general protection \(error 0x0\) at rip`, crashBT),
		f("ud", StatusFault, `#UD invalid opcode at rip`, crashBT),
		f("de", StatusFault, `#DE divide error at rip`, crashBT),
		f("bp", StatusFault, `#BP breakpoint at rip`, crashBT),
		f("db", StatusFault, `#DB debug at rip`, crashBT),
		f("stack", StatusFault, `#DF double fault \(error 0x0\) at rip`),
		f("abort", StatusFault, `#UD invalid opcode at rip`, `in abort at `),
		f("assert", StatusFault, `#UD invalid opcode at rip`),
		f("triple", StatusFault, `ukw: guest crashed \(triple fault\)`, `triple fault: the vCPU shut down`, crashBT),
		f("port", 0, `unknown I/O port 0x1234 \(outb 0x5a\): ignored`),
		f("mmio", 0, `unknown MMIO write of 4 bytes at 0x3ff00000`),
		f("badhc", 0, `has magic 0x12345678`, `is not 8-byte aligned`, `lies outside guest RAM`, `has size 1048576`),
		f("exit 9", 9),
	}
	hang := f("hang", StatusTimeout, `timeout: ran past the 1s timeout`, crashBT)
	hang.timeout = time.Second
	port := f("port", StatusFault, `unknown I/O: unknown I/O port 0x1234`, crashBT)
	port.name, port.strict = "faults-port-strict", true
	mmio := f("mmio", StatusFault, `unknown I/O: unknown MMIO write of 4 bytes at 0x3ff00000`, crashBT)
	mmio.name, mmio.strict = "faults-mmio-strict", true
	badhc := f("badhc", StatusFault, `bad hypercall: hypercall block 0x[0-9a-f]+ has magic 0x12345678`, crashBT)
	badhc.name, badhc.strict = "faults-badhc-strict", true
	return append(cs, hang, port, mmio, badhc)
}

// TestRunGuests boots every example and testdata guest through Run (build
// included) and checks console, report and status.
func TestRunGuests(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy", "make")
	root := repoRoot(t)
	known := map[string]bool{}
	for _, c := range cases() {
		known[c.app] = true
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, status := run(t, Options{Target: filepath.Join(root, c.app), Cmdline: c.cmdline, StrictIO: c.strict, Timeout: c.timeoutOr(20 * time.Second)})
			check(t, "stdout", stdout, c.stdout)
			check(t, "stderr", stderr, c.stderr)
			if status != c.status {
				t.Fatalf("status %d, want %d\nstdout:\n%s\nstderr:\n%s", status, c.status, stdout, stderr)
			}
		})
	}
	// A guest added later without an entry above must at least boot and end cleanly.
	dirs, _ := filepath.Glob(filepath.Join(root, "examples", "*", "ukw.yaml"))
	more, _ := filepath.Glob(filepath.Join(root, "testdata", "guests", "*", "ukw.yaml"))
	for _, y := range append(dirs, more...) {
		app, _ := filepath.Rel(root, filepath.Dir(y))
		if known[app] {
			continue
		}
		t.Run(app, func(t *testing.T) {
			stdout, stderr, status := run(t, Options{Target: filepath.Join(root, app), Timeout: 20 * time.Second})
			t.Logf("no expectations for %s: status %d\nstdout:\n%s\nstderr:\n%s", app, status, stdout, stderr)
			if strings.Contains(stderr, "internal error") || strings.Contains(stderr, "triple fault") {
				t.Fatalf("%s crashed the vCPU", app)
			}
		})
	}
}

func (c runCase) timeoutOr(d time.Duration) time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return d
}

func run(t *testing.T, o Options) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	o.Stdout, o.Stderr = &out, &errb
	status, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, errb.String())
	}
	return out.String(), errb.String(), status
}

func check(t *testing.T, what, got string, res []string) {
	t.Helper()
	for _, re := range res {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Fatalf("%s does not match %q:\n%s", what, re, got)
		}
	}
}

// TestRunImageAndStats boots a built image directly with --stats --json.
func TestRunImageAndStats(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	root := repoRoot(t)
	_, _, st := run(t, Options{Target: filepath.Join(root, "examples/hello")})
	if st != 0 {
		t.Fatalf("build+boot status %d", st)
	}
	img := filepath.Join(root, "examples/hello/.ukw/build/hello.img")
	testenv.File(t, img, "built by the run above")
	stdout, stderr, st := run(t, Options{Target: img, Cmdline: str("hello img"), Stats: true, JSON: true})
	if st != 0 || !strings.Contains(stdout, "argv[1]=img") {
		t.Fatalf("status %d stdout %q", st, stdout)
	}
	for _, k := range []string{`"name": "open"`, `"name": "load"`, `"name": "vcpu ready"`, `"name": "first instruction"`, `"name": "first console byte"`, `"name": "exit"`, `"outcome": "exit port"`} {
		if !strings.Contains(stderr, k) {
			t.Fatalf("stats lack %s:\n%s", k, stderr)
		}
	}
	var st2 Stats
	if err := json.Unmarshal([]byte(stderr), &st2); err != nil {
		t.Fatalf("stats JSON: %v\n%s", err, stderr)
	}
	// A ukw image: no irqchip mark, a handful of exits (HELLO, one CONSOLE
	// per printf, the exit port), guest RAM resident and less than the peak.
	for _, mk := range st2.Marks {
		if mk.Name == "irqchip" {
			t.Errorf("a ukw image got the in-kernel irqchip: %+v", st2.Marks)
		}
	}
	if st2.Exits == 0 || st2.Exits > 20 {
		t.Errorf("%d exits for hello, want a handful (one CONSOLE hypercall per printf)", st2.Exits)
	}
	if st2.GuestRSS == 0 || st2.PeakRSS <= st2.GuestRSS || st2.Teardown <= 0 || st2.Total < st2.Teardown {
		t.Errorf("stats: peak RSS %d KiB, guest RAM %d KiB, teardown %d µs, total %d µs", st2.PeakRSS, st2.GuestRSS, st2.Teardown, st2.Total)
	}
}

// TestRunThirdPartyVGA boots grub-invaders and prints its screen (--vga).
func TestRunThirdPartyVGA(t *testing.T) {
	testenv.KVM(t)
	img := testenv.File(t, "/boot/invaders.exec", "Debian package grub-invaders")
	_, stderr, st := run(t, Options{Target: img, VGA: true, Timeout: 1500 * time.Millisecond})
	if st != StatusTimeout || strings.Count(stderr, "-*-") < 8 || !strings.Contains(stderr, "---- VGA text screen (80x25) ----") {
		t.Fatalf("status %d, stderr:\n%s", st, stderr)
	}
}

func TestRunMissingImage(t *testing.T) {
	var out, errb bytes.Buffer
	_, err := Run(context.Background(), Options{Target: filepath.Join(t.TempDir(), "nope"), Stdout: &out, Stderr: &errb})
	if err == nil || !os.IsNotExist(err) {
		t.Fatalf("err %v, want not-exist", err)
	}
}

// TestRunFaultsWatch: the guest arms a data watchpoint in its own DR0/DR7.
// On VMX/SVM KVM the #DB reaches its handler (a crash report); on kvm-pvm
// no #DB comes at all (MACHINE.md, measured by the vmm probe) and the
// guest says it survived.
func TestRunFaultsWatch(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	stdout, stderr, st := run(t, Options{Target: filepath.Join(repoRoot(t), "testdata/guests/faults"), Cmdline: str("faults watch"), Timeout: 20 * time.Second})
	switch {
	case st == 3 && strings.Contains(stdout, "faults: survived mode watch"):
		t.Logf("no #DB for a guest-armed data watchpoint on this KVM (kvm-pvm)")
	case st == StatusFault && strings.Contains(stderr, "#DB debug"):
	default:
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", st, stdout, stderr)
	}
}
