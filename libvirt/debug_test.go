package libvirt

import (
	"strings"
	"testing"
	"time"

	"ukw/build"
	"ukw/guest"
	"ukw/symbols"
)

// breakAndBacktrace boots testdata/guests/calls, breaks in manhattan (by
// symbol, through symbols.Breakpoints), and checks the symbolized backtrace
// manhattan ← perimeter ← measure ← measure_all ← main; then it lets the
// guest finish with its status 32.
func breakAndBacktrace(t *testing.T, b backend, calls *build.Result) {
	f, err := symbols.Open(calls.ELF)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	locs, err := f.Breakpoints("manhattan")
	if err != nil || len(locs) != 1 {
		t.Fatalf("resolving manhattan: %v %v", locs, err)
	}
	m := b.boot(t, guest.Config{Image: calls.Image, ELF: calls.ELF, Cmdline: calls.Cmdline, MemoryMiB: calls.MemoryMiB})
	defer m.Close()
	ch, cancel := m.Subscribe()
	defer cancel()
	if err := m.SetBreakpoint(guest.Breakpoint{Kind: guest.BreakSoftware, Addr: locs[0].Addr, Len: 1}); err != nil {
		t.Fatalf("SetBreakpoint: %v", err)
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	st := waitStop(t, ch, 60*time.Second)
	if st.PC != locs[0].Addr {
		t.Fatalf("stopped at %#x (%v), want manhattan at %#x", st.PC, st.Reason, locs[0].Addr)
	}
	regs, err := m.Regs(st.CPU)
	if err != nil {
		t.Fatal(err)
	}
	bt := f.Unwind(symbols.AllRegs(regs.DWARF()), guest.VirtualMemory{M: m})
	var names []string
	for _, fr := range bt.Frames {
		if len(fr.Loc.Frames) > 0 {
			names = append(names, fr.Loc.Frames[0].Func)
		}
	}
	want := []string{"manhattan", "perimeter", "measure", "measure_all", "main"}
	if len(names) < len(want) || strings.Join(names[:len(want)], " ") != strings.Join(want, " ") {
		t.Fatalf("backtrace %q (stopped: %s), want it to start %q", names, bt.Reason, want)
	}
	t.Logf("backtrace: %s", strings.Join(names, " <- "))
	if err := m.ClearBreakpoint(guest.Breakpoint{Kind: guest.BreakSoftware, Addr: locs[0].Addr, Len: 1}); err != nil {
		t.Fatal(err)
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	console, final := collect(t, ch, 60*time.Second)
	if !strings.Contains(console, "result 32, visits 9") {
		t.Errorf("console %q", console)
	}
	if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitPort || ex.Exit.Status != 32 {
		t.Fatalf("final %#v, want exit status 32", final)
	}
}
