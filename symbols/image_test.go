package symbols_test

// Tests on real ukw images: built from examples/ with package build, and
// booted with the native VMM. They live in an external test package so
// that package symbols itself imports neither build nor guest nor vmm.

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"ukw/build"
	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/symbols"
	"ukw/vmm"
)

// buildExample copies examples/NAME to a temp dir and builds it there.
func buildExample(t *testing.T, name string) *build.Result {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	_, file, _, _ := runtime.Caller(0)
	app, err := build.Load(testenv.CopyApp(t, filepath.Join(filepath.Dir(file), "..", "examples", name)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), app, build.Options{})
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return res
}

// TestRealImageMatchesAddr2line: every address of every function of the
// hello image (layers and app, ELF64 with DWARF 5) symbolizes exactly as
// addr2line -f -i prints it.
func TestRealImageMatchesAddr2line(t *testing.T) {
	testenv.Tool(t, "addr2line")
	res := buildExample(t, "hello")
	f, err := symbols.Open(res.ELF)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var in strings.Builder
	n := 0
	for _, s := range f.Symbols() {
		if s.Kind != symbols.SymFunc || s.Size == 0 {
			continue
		}
		for a := s.Addr; a < s.Addr+s.Size; a++ {
			fmt.Fprintf(&in, "%#x\n", a)
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("only %d function addresses in %s", n, res.ELF)
	}
	cmd := exec.Command("addr2line", "-f", "-i", "-e", res.ELF)
	cmd.Stdin = strings.NewReader(in.String())
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := f.Symbolize(&got, strings.NewReader(in.String()), nil, symbols.Addr2lineOptions{Functions: true, Inlines: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("line %d: addr2line %q, ukw %q", i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("addr2line %d lines, ukw %d", len(wl), len(gl))
	}
	t.Logf("%d addresses of %s identical", n, filepath.Base(res.ELF))
}

// stackMem is the crash record's stack copy over the image.
type stackMem struct {
	addr  uint64
	stack []byte
	f     *symbols.File
}

func (m stackMem) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a >= m.addr && a+uint64(len(p)) <= m.addr+uint64(len(m.stack)) {
		return copy(p, m.stack[a-m.addr:]), nil
	}
	return m.f.ReadAt(p, off)
}

// names lists the function of every source frame of a backtrace.
func names(bt symbols.Backtrace) []string {
	var out []string
	for _, fr := range bt.Frames {
		for _, sf := range fr.Loc.Frames {
			out = append(out, sf.Func)
		}
	}
	return out
}

// hasSeq reports whether want appears in got in order, consecutively.
func hasSeq(got, want []string) bool {
	return strings.Contains(" "+strings.Join(got, " ")+" ", " "+strings.Join(want, " ")+" ")
}

// TestUnwindThroughRealExceptionFrame boots examples/crash on the native
// VMM, stops in lib/panic's ukw_trap (called from the exception stub
// ukw_exc_common with the #PF's struct ukw_frame) and unwinds: the
// backtrace crosses the exception frame into store_value, apply_setting,
// parse_config and main. Then it lets the crash happen and unwinds the
// crash record's registers and stack copy the same way `ukw run` does.
func TestUnwindThroughRealExceptionFrame(t *testing.T) {
	testenv.KVM(t)
	res := buildExample(t, "crash")
	f, err := symbols.Open(res.ELF)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	traps := f.LookupSymbol("ukw_trap")
	var trap uint64
	for _, s := range traps {
		if s.Bind == symbols.BindGlobal {
			trap = s.Addr
		}
	}
	if trap == 0 {
		t.Fatalf("no global ukw_trap in %s: %+v", res.ELF, traps)
	}
	m, err := vmm.New(guest.Config{Image: res.Image, ELF: res.ELF, Cmdline: res.Cmdline, MemoryMiB: res.MemoryMiB, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	events, cancel := m.Subscribe()
	defer cancel()
	bp := guest.Breakpoint{Kind: guest.BreakHardware, Addr: f.AfterPrologue(trap), Len: 1}
	if err := m.SetBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	next := func() guest.Event {
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("event stream closed")
				}
				switch ev.(type) {
				case guest.StopEvent, guest.ExitEvent, guest.FaultEvent:
					return ev
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("no stop within 2 minutes")
			}
		}
	}
	ev := next()
	stop, ok := ev.(guest.StopEvent)
	if !ok {
		t.Fatalf("want a stop at ukw_trap, got %#v", ev)
	}
	regs, err := m.Regs(stop.Stop.CPU)
	if err != nil {
		t.Fatal(err)
	}
	bt := f.Unwind(symbols.AllRegs(regs.DWARF()), guest.VirtualMemory{M: m})
	got := names(bt)
	var exc *symbols.Exception
	for _, fr := range bt.Frames {
		if fr.How == "exception frame" && fr.Interrupted != nil {
			exc = fr.Interrupted
		}
	}
	if len(got) == 0 || got[0] != "ukw_trap" || !hasSeq(got, []string{"store_value", "apply_setting", "parse_config", "main"}) {
		t.Errorf("backtrace from ukw_trap: %v (%s)", got, bt.Reason)
	}
	if exc == nil || exc.Vector != 14 {
		t.Errorf("no #PF exception frame crossed: %+v", exc)
	}
	t.Logf("from ukw_trap: %v; exception %+v", got, exc)

	// The crash record: registers at the fault and a copy of the stack.
	if err := m.ClearBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	ev = next()
	fe, ok := ev.(guest.FaultEvent)
	if !ok {
		t.Fatalf("want the #PF crash, got %#v", ev)
	}
	if fe.Fault.Vector != 14 || len(fe.Fault.Stack) == 0 {
		t.Fatalf("crash record: vector %d, %d stack bytes", fe.Fault.Vector, len(fe.Fault.Stack))
	}
	bt = f.Unwind(symbols.AllRegs(fe.Fault.Regs.DWARF()), stackMem{fe.Fault.StackAddr, fe.Fault.Stack, f})
	got = names(bt)
	if !hasSeq(got, []string{"store_value", "apply_setting", "parse_config", "main"}) || got[0] != "store_value" {
		t.Errorf("backtrace from the crash record: %v (%s)", got, bt.Reason)
	}
}
