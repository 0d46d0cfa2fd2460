package session

import (
	"os"
	"path/filepath"
	"testing"
)

// At `break main` where main begins with an inlined call, gdb hides the
// inlined frame (main at the call's line); at `break setup` on the same
// address it shows setup inlined into main (symbols.HiddenInlineFrames).
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
	// the same address by another name: only setup's breakpoint, from a fresh boot
	h.s.Send(Delete{})
	h.s.Send(Break{Spec: "setup"})
	h.s.Send(Reboot{})
	s = h.stop("break setup")
	if len(s.Frames) < 2 || s.Frames[0].Function != "setup" || !s.Frames[0].Inlined || s.Frames[1].Function != "main" {
		t.Fatalf("break setup: frames %+v, want setup inlined into main", s.Frames)
	}
}
