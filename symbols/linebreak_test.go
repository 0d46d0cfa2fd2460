package symbols

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"ukw/internal/testenv"
)

// gdbBreakAllScript sets each spec as a breakpoint and records the
// addresses of its locations (gdb 13's Breakpoint.locations).
const gdbBreakAllScript = `
import gdb, json
gdb.execute("set breakpoint pending off")
res = {}
for s in SPECS:
    try:
        b = gdb.Breakpoint(s)
        res[s] = sorted(l.address for l in b.locations)
        b.delete()
    except Exception:
        res[s] = []
json.dump(res, open(OUT, "w"))
`

// gdbBreakAll asks one gdb run where `break SPEC` stops for every spec.
func gdbBreakAll(t *testing.T, exe string, specs []string) map[string][]uint64 {
	testenv.Tool(t, "gdb")
	dir := t.TempDir()
	out := filepath.Join(dir, "bps.json")
	sl, _ := json.Marshal(specs)
	py := filepath.Join(dir, "bps.py")
	if err := os.WriteFile(py, []byte(fmt.Sprintf("SPECS = %s\nOUT = %q\n", sl, out)+gdbBreakAllScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("gdb", "-nx", "-batch", "-x", py, exe).CombinedOutput(); err != nil {
		t.Fatalf("gdb: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string][]uint64{}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestLineBreakpointsEveryLine: `break FILE:LINE` for every line of both
// source files and the header, at three optimisation levels, gives the
// locations gdb gives (several where gdb splits a line).
func TestLineBreakpointsEveryLine(t *testing.T) {
	files := map[string]int{"prog.c": 90, "util.c": 30, "prog.h": 40}
	var specs []string
	for file, n := range files {
		for l := 1; l <= n; l++ {
			specs = append(specs, fmt.Sprintf("%s:%d", file, l))
		}
	}
	sort.Strings(specs)
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			want := gdbBreakAll(t, exe, specs)
			bad := 0
			for _, spec := range specs {
				bps, _ := f.Breakpoints(spec)
				var got []uint64
				for _, b := range bps {
					got = append(got, b.Addr)
				}
				if fmt.Sprintf("%x", got) != fmt.Sprintf("%x", want[spec]) {
					if bad++; bad <= 40 {
						t.Errorf("break %s: gdb %x, ukw %x", spec, want[spec], got)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d specs differ", bad, len(specs))
			}
		})
	}
}
