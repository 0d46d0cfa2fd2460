package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// At `break main` where main begins with an inlined call, gdb hides the
// inlined frame (main at the call's line) and `step` then shows it without
// running; at `break setup` on the same address it shows setup inlined
// into main (symbols.HiddenInlineFrames). The figures are gdb 13's on this
// very program (0x102940 <main>, then 0x102949 <main+9> at line 9).
func TestInlineFramesAtABreakpointAsGDB(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../testdata/symbols/inline_main.c")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "main.c"), src, 0o644)
	os.WriteFile(filepath.Join(dir, "ukw.yaml"), []byte("name: inl\nlayers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/panic]\nsources: [main.c]\nopt: \"2\"\ncmdline: inl\n"), 0o644)

	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"main"}})
	s := h.stop("break main")
	if f := top(s); f.Function != "main" || f.Inlined || f.Line != 14 {
		t.Fatalf("break main: frame #0 %+v, want main (not the inlined setup) at line 14", f)
	}
	if !strings.Contains(s.Detail, "main at ") || !strings.HasSuffix(s.Detail, "main.c:14") {
		t.Fatalf("break main: detail %q, want the shown frame (main at main.c:14)", s.Detail)
	}
	// gdb's `step` there enters the inlined setup without running: same
	// pc, setup at line 8 inlined into main; the next step runs to line 9
	pc := s.PC
	h.s.Send(Step{})
	s = h.stop("step into the inlined setup")
	if len(s.Frames) < 2 || s.PC != pc || top(s).Function != "setup" || !top(s).Inlined || top(s).Line != 8 || s.Frames[1].Function != "main" {
		t.Fatalf("step at a hidden inline frame: pc %#x (was %#x), frames %+v; want setup at line 8 inlined into main, pc unchanged", s.PC, pc, s.Frames)
	}
	h.s.Send(Step{})
	s = h.stop("step in setup")
	if top(s).Function != "setup" || top(s).Line != 9 || s.PC == pc {
		t.Fatalf("second step: pc %#x, frames %+v; want setup at line 9", s.PC, s.Frames)
	}
	// the same address by another name: only setup's breakpoint, from a fresh boot
	h.s.Send(Delete{})
	h.s.Send(Break{Spec: "setup"})
	h.s.Send(Reboot{})
	s = h.stop("break setup")
	if len(s.Frames) < 2 || s.Frames[0].Function != "setup" || !s.Frames[0].Inlined || s.Frames[1].Function != "main" {
		t.Fatalf("break setup: frames %+v, want setup inlined into main", s.Frames)
	}
}
