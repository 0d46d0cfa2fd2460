package symbols

import (
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

var bpAddrRe = regexp.MustCompile(`0x([0-9a-f]{16})`)

// gdbBreakAddrs asks gdb where `break spec` would stop.
func gdbBreakAddrs(t *testing.T, exe, spec string) []uint64 {
	out, err := exec.Command("gdb", "-nx", "-batch", "-ex", "break "+spec, "-ex", "info breakpoints", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	var addrs []uint64
	for _, l := range strings.Split(string(out), "\n") {
		if m := bpAddrRe.FindStringSubmatch(l); m != nil && !strings.Contains(l, "<MULTIPLE>") {
			a, _ := strconv.ParseUint(m[1], 16, 64)
			addrs = append(addrs, a)
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	return addrs
}

// TestBreakpointsMatchGDB: function names (including a static name that
// exists in two files) and file:line specs resolve to the addresses gdb
// picks.
func TestBreakpointsMatchGDB(t *testing.T) {
	testenv.Tool(t, "gdb")
	// The lines the previous version got wrong (gdb splits them into
	// several locations or skips a prologue): prog.c:37 at -O0, prog.c:47
	// and util.c:25 at -O2. TestLineBreakpointsEveryLine covers every line.
	specs := []string{"main", "leaf", "walk", "fib", "stop", "helper", "helper_local", "hook", "util_entry",
		"prog.c:82", "util.c:8", "prog.c:30", "prog.c:37", "prog.c:47", "util.c:25", "prog.c:40", "prog.h:34"}
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			for _, spec := range specs {
				want := gdbBreakAddrs(t, exe, spec)
				bps, err := f.Breakpoints(spec)
				var got []uint64
				for _, b := range bps {
					got = append(got, b.Addr)
				}
				if err != nil && len(want) > 0 {
					t.Errorf("%s: %v (gdb: %x)", spec, err, want)
					continue
				}
				if fmt.Sprintf("%x", got) != fmt.Sprintf("%x", want) {
					t.Errorf("break %s: gdb %x, ukw %x", spec, want, got)
				}
			}
			// The static helper_local exists in two units: both listed.
			bps, _ := f.Breakpoints("helper_local")
			if len(bps) != 2 || bps[0].Bind != BindLocal {
				t.Errorf("helper_local: want 2 local definitions, got %+v", bps)
			}
		})
	}
}
