package build

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// A boot case: the app, its arguments after argv[0] (nil: the manifest's),
// what the console must show (regexps, in order) and QEMU's exit status.
type bootCase struct {
	app    string
	args   *string
	want   []string
	status int // QEMU's: (v<<1)|1; -1 = still running at the deadline
	accels []string
}

func str(s string) *string { return &s }

const crashTail = `(?s)backtrace: 0x[0-9a-f]+( 0x[0-9a-f]+)+\nukw: exit status 0x7f \(no ukw VMM took the crash record\)\n$`

func bootCases() []bootCase {
	both := []string{"tcg", "kvm"}
	tcg := []string{"tcg"}
	c := []bootCase{
		{"examples/hello", nil, []string{`^Hello from ukw! argc=2 argv\[1\]=world\nallocated \d+ bytes at 0x[0-9a-f]+: .*hello.img has 1 argument\nexit status 0\n$`}, 1, both},
		{"examples/hello", str("--exit=5 two"), []string{`^Hello from ukw! argc=3 argv\[1\]=--exit=5 argv\[2\]=two\n`, `has 2 arguments\nexit status 5\n$`}, 11, tcg},
		{"examples/crash", nil, []string{`^crash: applying verbose = 1\ncrash: applying missing = 2\n\n\*\*\* CRASH: page fault \(#PF\), vector 14, error code 0x2\n`, `\ncr2 0000000000000000 `, crashTail}, 255, both},
		{"examples/threads", nil, []string{`^A0 B0 C0 A1 B1 C1 A2 B2 C2 \nsleeper: slept at least 5 ms\nthreads: joined 4 threads, 9 rounds\n$`}, 1, both},
		{"testdata/guests/calls", nil, []string{`^calls: 0 triangle \(red\) perimeter 14\ncalls: 1 square \(green\) perimeter 8\ncalls: 2 line \(blue\) perimeter 10\ncalls: result 32, visits 9\n$`}, 65, both},
		{"testdata/guests/loop", str("3000"), []string{`^loop: counting \(limit 3000\)\nloop: stopped at 3000\n$`}, 1, both},
		{"testdata/guests/loop", nil, []string{`^loop: counting \(limit 0\)\n$`}, -1, tcg},
		{"testdata/guests/libc", nil, []string{`^libc: 130 checks, 0 failed\n$`}, 1, both},
		{"testdata/guests/external", nil, []string{`^external: hello from a make-built kernel\n$`}, 67, both},
	}
	faults := []struct {
		mode string
		want []string
		st   int
	}{
		{"pf", []string{`CRASH: page fault \(#PF\), vector 14, error code 0x0\n`, `\ncr2 0000000040000000 `, crashTail}, 255},
		{"null", []string{`CRASH: page fault \(#PF\), vector 14, error code 0x2\n`, `\ncr2 0000000000000000 `, crashTail}, 255},
		{"gp", []string{`CRASH: general protection \(#GP\), vector 13, error code 0x0\n`, crashTail}, 255},
		{"ud", []string{`CRASH: invalid opcode \(#UD\), vector 6, `, crashTail}, 255},
		{"de", []string{`CRASH: divide error \(#DE\), vector 0, `, crashTail}, 255},
		{"bp", []string{`CRASH: breakpoint \(#BP\), vector 3, `, crashTail}, 255},
		{"db", []string{`CRASH: debug \(#DB\), vector 1, `, crashTail}, 255},
		{"watch", []string{`CRASH: debug \(#DB\), vector 1, `, crashTail}, 255},
		{"stack", []string{`CRASH: double fault \(#DF\), vector 8, error code 0x0\n`, crashTail}, 255},
		{"abort", []string{`abort\(\) called\n\n\*\*\* CRASH: invalid opcode \(#UD\)`, crashTail}, 255},
		{"assert", []string{`assertion failed: 1 \+ 1 == 3 \(.*faults/main.c:\d+, main\)\n`, crashTail}, 255},
		{"triple", []string{`^faults: mode triple\n$`}, 0},
		{"hang", []string{`^faults: mode hang\nfaults: hanging\n$`}, -1},
		{"port", []string{`faults: port 0x1234 reads 0xff\n$`}, 1},
		{"mmio", []string{`faults: mmio 0x3ff00000 reads 0x[0-9a-f]+\n$`}, 1},
		{"badhc", []string{`badhc: bad magic -> status 0xffffffff\nbadhc: misaligned block sent\nbadhc: block outside RAM sent\nbadhc: oversized block -> status 0xffffffff\nbadhc: unknown nr -> status 0xffffffff\n$`}, 1},
		{"exit 9", []string{`^faults: mode exit\n$`}, 19},
		{"nonsense", []string{`faults: usage: `}, 5},
	}
	for _, f := range faults {
		accels := tcg
		switch f.mode {
		case "pf", "gp", "stack", "triple", "port", "badhc":
			accels = both
		}
		c = append(c, bootCase{"testdata/guests/faults", str(f.mode), append([]string{`^faults: mode ` + strings.Fields(f.mode)[0] + `\n`}, f.want...), f.st, accels})
	}
	return c
}

// Every example and test guest boots under QEMU and prints what it should
// with the right exit status. TCG runs every case (a faithful x86); KVM
// runs those that do not hit kvm-pvm's gaps (int3 and guest data
// watchpoints; see testdata/guests/README.md).
func TestBootUnderQEMU(t *testing.T) {
	needToolchain(t)
	testenv.Tool(t, "qemu-system-x86_64", "make")
	cache := testCacheDir(t)
	images := map[string]*Result{}
	covered := map[string]bool{}
	for _, c := range bootCases() {
		r := images[c.app]
		if r == nil {
			r = mustBuild(t, copyApp(t, filepath.Join(repoRoot(t), c.app)), Options{CacheDir: cache})
			images[c.app] = r
		}
		covered[c.app] = true
		args := qemuAppend(r.Cmdline)
		if c.args != nil {
			args = *c.args
		}
		for _, accel := range c.accels {
			t.Run(strings.ReplaceAll(c.app+"/"+args, " ", "_")+"/"+accel, func(t *testing.T) {
				timeout := 20 * time.Second
				if c.status == -1 {
					timeout = 2 * time.Second
				}
				out, status := qemuRun(t, r.Image, args, accel, timeout)
				if status != c.status {
					t.Errorf("QEMU exit status %d, want %d; console:\n%s", status, c.status, out)
				}
				rest := out
				for _, w := range c.want {
					re := regexp.MustCompile(w)
					loc := re.FindStringIndex(rest)
					if loc == nil {
						t.Errorf("console does not match %q (in order); console:\n%s", w, out)
						break
					}
					if !strings.HasPrefix(w, "^") && !strings.HasPrefix(w, "(?s)") {
						rest = rest[loc[1]:]
					}
				}
			})
		}
	}
	// Every example must have a case; guests other packages add have
	// their own tests.
	for _, dir := range appDirs(t) {
		rel, _ := filepath.Rel(repoRoot(t), dir)
		if rel = filepath.ToSlash(rel); !covered[rel] {
			if strings.HasPrefix(rel, "examples/") {
				t.Errorf("%s has no boot case", rel)
			} else {
				t.Logf("%s has no boot case here", rel)
			}
		}
	}
}
