package symbols

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// gdbScript drives real gdb over a host executable: at each breakpoint
// stop it records the registers, the stack and writable data memory, `bt`,
// and `info args` / `info locals` of every frame up to main.
const gdbScript = `
import gdb, json
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set width 0")
gdb.execute("set startup-with-shell off")
for b in BREAKS:
    gdb.execute("break " + b)
gdb.execute("run")
stops = []
regnames = ["rax","rdx","rcx","rbx","rsi","rdi","rbp","rsp","r8","r9","r10","r11","r12","r13","r14","r15","rip"]
while len(stops) < MAXSTOPS:
    inf = gdb.selected_inferior()
    if inf.pid == 0 or gdb.selected_thread() is None:
        break
    fr = gdb.newest_frame()
    regs = [int(fr.read_register(r)) & 0xffffffffffffffff for r in regnames]
    sp = regs[7]
    mems = []
    for line in open("/proc/%d/maps" % inf.pid):
        parts = line.split()
        lo, hi = [int(x, 16) for x in parts[0].split("-")]
        name = parts[5] if len(parts) > 5 else ""
        if lo <= sp < hi:
            start = max(lo, sp - 8192)
            mems.append([start, inf.read_memory(start, hi - start).tobytes().hex()])
        elif parts[1].startswith("rw") and (name == EXE or name == "[heap]" or name == ""):
            if hi - lo <= (1 << 20):
                mems.append([lo, inf.read_memory(lo, hi - lo).tobytes().hex()])
    bt = gdb.execute("bt", to_string=True)
    frames = []
    f = fr
    while f is not None:
        f.select()
        prints = []
        for e in EXPRS:
            try:
                o = gdb.execute(("whatis " + e[1:]) if e.startswith("@") else ("print " + e), to_string=True).strip()
                o = o.split(" = ", 1)[1] if " = " in o else o
            except gdb.error as x:
                o = "ERR " + str(x)
            prints.append(o)
        frames.append({"name": f.name() or "", "pc": f.pc(),
            "args": gdb.execute("info args", to_string=True),
            "locals": gdb.execute("info locals", to_string=True), "prints": prints})
        if f.name() == "main":
            break
        f = f.older()
    stops.append({"regs": regs, "mem": mems, "bt": bt, "frames": frames})
    gdb.execute("continue")
json.dump(stops, open(OUT, "w"))
`

type gdbFrame struct {
	Name   string   `json:"name"`
	PC     uint64   `json:"pc"`
	Args   string   `json:"args"`
	Locals string   `json:"locals"`
	Prints []string `json:"prints"`
}

type gdbStop struct {
	Regs   []uint64    `json:"regs"`
	Mem    [][2]any    `json:"mem"`
	BT     string      `json:"bt"`
	Frames []gdbFrame  `json:"frames"`
	mem    *regionsMem `json:"-"`
}

// regionsMem is Memory over the regions gdb dumped, then the ELF image.
type regionsMem struct {
	regs []region
	f    *File
}

type region struct {
	addr uint64
	b    []byte
}

func (m *regionsMem) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	for _, r := range m.regs {
		if a >= r.addr && a+uint64(len(p)) <= r.addr+uint64(len(r.b)) {
			return copy(p, r.b[a-r.addr:]), nil
		}
	}
	return m.f.ReadAt(p, off)
}

// runGDB runs gdb over exe with breakpoints and returns up to maxStops stops.
func runGDB(t testing.TB, exe string, breaks []string, maxStops int) []gdbStop {
	t.Helper()
	return runGDBPrint(t, exe, breaks, maxStops, nil)
}

// runGDBPrint is runGDB that also records, in every frame, gdb's `print
// EXPR` for each expression ("@EXPR": `whatis EXPR`), or "ERR message".
func runGDBPrint(t testing.TB, exe string, breaks []string, maxStops int, exprs []string) []gdbStop {
	t.Helper()
	testenv.Tool(t, "gdb")
	dir := t.TempDir()
	out := filepath.Join(dir, "stops.json")
	bl, _ := json.Marshal(breaks)
	if exprs == nil {
		exprs = []string{}
	}
	el, _ := json.Marshal(exprs)
	script := fmt.Sprintf("BREAKS = %s\nMAXSTOPS = %d\nEXE = %q\nOUT = %q\nEXPRS = %s\n", bl, maxStops, exe, out, el) + gdbScript
	py := filepath.Join(dir, "drive.py")
	if err := os.WriteFile(py, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gdb", "-nx", "-batch", "-x", py, exe)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("gdb wrote no stops: %v\n%s", err, b)
	}
	var stops []gdbStop
	if err := json.Unmarshal(raw, &stops); err != nil {
		t.Fatal(err)
	}
	if len(stops) == 0 {
		t.Fatalf("gdb stopped nowhere:\n%s", b)
	}
	return stops
}

func (s *gdbStop) memory(t testing.TB, f *File) *regionsMem {
	if s.mem != nil {
		return s.mem
	}
	m := &regionsMem{f: f}
	for _, r := range s.Mem {
		b, err := hex.DecodeString(r[1].(string))
		if err != nil {
			t.Fatal(err)
		}
		m.regs = append(m.regs, region{uint64(r[0].(float64)), b})
	}
	sort.Slice(m.regs, func(i, j int) bool { return m.regs[i].addr < m.regs[j].addr })
	s.mem = m
	return m
}

func (s *gdbStop) regs() Regs {
	var r Regs
	for i, v := range s.Regs {
		r.Set(i, v)
	}
	return r
}

// btLine is one parsed line of gdb's `bt`.
type btLine struct {
	fn, file string
	line     int
}

var btRe = regexp.MustCompile(`^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+) \(.*\) at (\S+):(\d+)$`)

func parseBT(t *testing.T, bt string) []btLine {
	var out []btLine
	for _, l := range strings.Split(strings.TrimSpace(bt), "\n") {
		m := btRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("cannot parse gdb bt line %q", l)
		}
		n, _ := strconv.Atoi(m[4])
		out = append(out, btLine{m[2], m[3], n})
	}
	return out
}

var stopBreaks = []string{"stop", "helper_local", "leaf", "fib"}

// TestUnwindMatchesGDB: at every stop, unwinding gdb's register and
// memory dump with this package gives gdb's `bt` (function, file, line of
// every frame, inline frames included, up to main).
func TestUnwindMatchesGDB(t *testing.T) {
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			stops := runGDB(t, exe, stopBreaks, 14)
			for i := range stops {
				s := &stops[i]
				want := parseBT(t, s.BT)
				bt := f.Unwind(s.regs(), s.memory(t, f))
				var got []btLine
				for _, fr := range bt.Frames {
					for _, sf := range fr.Loc.Frames {
						got = append(got, btLine{sf.Func, sf.File, sf.Line})
					}
					if len(fr.Loc.Frames) > 0 && fr.Loc.Frames[len(fr.Loc.Frames)-1].Func == "main" {
						break
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("stop %d at %#x:\ngdb bt:\n%s\nukw: %v\n(stopped: %s)", i, s.Regs[RegRIP], s.BT, got, bt.Reason)
				}
			}
		})
	}
}

// TestUnwindFramePointerMatchesGDB: with .eh_frame and .debug_frame
// removed, the rbp chain alone still gives gdb's bt on a
// -fno-omit-frame-pointer build.
func TestUnwindFramePointerMatchesGDB(t *testing.T) {
	testenv.Tool(t, "objcopy")
	exe := buildProg(t, "-O1 -fno-omit-frame-pointer")
	stripped := exe + ".nocfi"
	if b, err := exec.Command("objcopy", "--remove-section=.eh_frame", "--remove-section=.eh_frame_hdr", "--remove-section=.debug_frame", exe, stripped).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v %s", err, b)
	}
	f, err := Open(stripped)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.fdeTable().fdes) != 0 {
		t.Fatal("CFI left in the stripped copy")
	}
	stops := runGDB(t, exe, []string{"stop", "helper_local"}, 8)
	for i := range stops {
		s := &stops[i]
		want := parseBT(t, s.BT)
		bt := f.Unwind(s.regs(), s.memory(t, f))
		var got []btLine
		for _, fr := range bt.Frames {
			if len(got) > 0 && fr.How != "frame pointer" {
				t.Errorf("stop %d: frame found by %q", i, fr.How)
			}
			for _, sf := range fr.Loc.Frames {
				got = append(got, btLine{sf.Func, sf.File, sf.Line})
			}
			if len(fr.Loc.Frames) > 0 && fr.Loc.Frames[0].Func == "main" {
				break
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stop %d:\ngdb bt:\n%s\nukw: %v (%s)", i, s.BT, got, bt.Reason)
		}
	}
}
