package symbols

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// gdbLinesScript asks gdb, for every address in ADDRS, for its line
// (find_pc_line: file, line, [pc, last]) and its out-of-line function
// block (name, [start, end)).
const gdbLinesScript = `
import gdb, json
out = []
for a in ADDRS:
    s = gdb.find_pc_line(a)
    r = {"line": s.line, "file": s.symtab.filename if s.symtab else "", "pc": s.pc, "last": s.last or 0}
    try:
        b = gdb.block_for_pc(a)
    except RuntimeError:
        b = None
    while b is not None and b.superblock is not None and not b.superblock.is_static and not b.superblock.is_global:
        b = b.superblock
    if b is not None and b.function is not None:
        r["func"] = b.function.name
        r["lo"], r["hi"] = b.start, b.end
    out.append(r)
json.dump(out, open(OUT, "w"))
`

type gdbLine struct {
	Line int    `json:"line"`
	File string `json:"file"`
	PC   uint64 `json:"pc"`
	Last uint64 `json:"last"`
	Func string `json:"func"`
	Lo   uint64 `json:"lo"`
	Hi   uint64 `json:"hi"`
}

func gdbLines(t *testing.T, exe string, addrs []uint64) []gdbLine {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "lines.json")
	al, _ := json.Marshal(addrs)
	py := filepath.Join(dir, "lines.py")
	script := fmt.Sprintf("ADDRS = %s\nOUT = %q\n", al, out) + gdbLinesScript
	if err := os.WriteFile(py, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("gdb", "-nx", "-batch", "-x", py, exe).CombinedOutput(); err != nil {
		t.Fatalf("gdb: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res []gdbLine
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != len(addrs) {
		t.Fatalf("gdb answered %d of %d addresses", len(res), len(addrs))
	}
	return res
}

var ltRowRe = regexp.MustCompile(`^\d+\s+(\d+|END)\s+0x([0-9a-f]+)\s*(Y?)`)

// gdbStmtAddrs parses `maint info line-table`: the addresses where an
// is_stmt row of some line starts.
func gdbStmtAddrs(t *testing.T, exe string) map[uint64]bool {
	out, err := exec.Command("gdb", "-nx", "-batch", "-ex", "maint expand-symtabs", "-ex", "maint info line-table", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	m := map[uint64]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		g := ltRowRe.FindStringSubmatch(sc.Text())
		if g == nil || g[1] == "END" || g[1] == "0" || g[3] != "Y" {
			continue
		}
		a, _ := strconv.ParseUint(g[2], 16, 64)
		m[a] = true
	}
	if len(m) == 0 {
		t.Fatalf("no line-table rows in gdb's output:\n%s", out)
	}
	return m
}

// TestLineQueriesMatchGDB: for every address of every function at three
// optimisation levels, LineAt gives gdb's line (find_pc_line), its range
// is exactly the run of addresses gdb puts on that line, FuncAt gives
// gdb's function block, and IsStmtStart agrees with gdb's line table.
func TestLineQueriesMatchGDB(t *testing.T) {
	testenv.Tool(t, "gdb")
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			addrs := funcAddrs(t, f)
			want := gdbLines(t, exe, addrs)
			at := map[uint64]gdbLine{}
			for i, a := range addrs {
				at[a] = want[i]
			}
			stmts := gdbStmtAddrs(t, exe)
			bad := 0
			fail := func(format string, args ...any) {
				if bad++; bad <= 20 {
					t.Errorf(format, args...)
				}
			}
			for i, a := range addrs {
				g := want[i]
				li, ok := f.LineAt(a)
				if g.Line == 0 {
					if ok && li.Line != 0 {
						fail("%#x: gdb has no line, ukw %s:%d", a, li.File, li.Line)
					}
				} else if !ok || li.Line != g.Line || li.File != g.File {
					fail("%#x: gdb %s:%d, ukw %s:%d (%v)", a, g.File, g.Line, li.File, li.Line, ok)
				} else {
					// The range: every address in it is on gdb's line, and
					// the addresses just outside are not (when gdb knows them).
					for x := li.Lo; x < li.Hi; x++ {
						if gx, known := at[x]; known && (gx.Line != g.Line || gx.File != g.File) {
							fail("%#x: range [%#x,%#x) of %s:%d holds %#x on line %d", a, li.Lo, li.Hi, g.File, g.Line, x, gx.Line)
							break
						}
					}
					for _, x := range []uint64{li.Lo - 1, li.Hi} {
						if gx, known := at[x]; known && gx.Line == g.Line && gx.File == g.File && (gx.Func == g.Func) {
							fail("%#x: range [%#x,%#x) of line %d stops before %#x, still on it", a, li.Lo, li.Hi, g.Line, x)
						}
					}
					if g.PC < li.Lo || g.Last >= li.Hi {
						fail("%#x: gdb's row [%#x,%#x] is not inside [%#x,%#x)", a, g.PC, g.Last, li.Lo, li.Hi)
					}
				}
				if got := f.IsStmtStart(a); got != stmts[a] {
					fail("%#x: IsStmtStart %v, gdb's line table %v", a, got, stmts[a])
				}
				fn, ok := f.FuncAt(a)
				if g.Func != "" && (!ok || fn.Name != g.Func || fn.Lo != g.Lo || fn.Hi != g.Hi) {
					fail("%#x: gdb function %s [%#x,%#x), ukw %+v", a, g.Func, g.Lo, g.Hi, fn)
				}
			}
			if bad > 0 {
				t.Fatalf("%d differences in %d addresses", bad, len(addrs))
			}
		})
	}
}

// TestAfterPrologueMatchesGDB: AfterPrologue at each function's entry is
// where gdb's `break FUNC` stops.
func TestAfterPrologueMatchesGDB(t *testing.T) {
	testenv.Tool(t, "gdb")
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			for _, name := range []string{"main", "leaf", "walk", "fib", "stop", "helper", "hook", "util_entry"} {
				syms := f.LookupSymbol(name)
				if len(syms) != 1 {
					t.Fatalf("%s: %d symbols", name, len(syms))
				}
				got := f.AfterPrologue(syms[0].Addr)
				want := gdbBreakAddrs(t, exe, name)
				found := false
				for _, w := range want {
					found = found || w == got
				}
				if !found {
					t.Errorf("%s: gdb breaks at %x, AfterPrologue %#x", name, want, got)
				}
			}
		})
	}
}
