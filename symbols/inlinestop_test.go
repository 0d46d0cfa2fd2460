package symbols

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// buildInlineMain compiles testdata/symbols/inline_main.c.
func buildInlineMain(t *testing.T, flags string) string {
	t.Helper()
	testenv.Tool(t, "gcc")
	out := filepath.Join(t.TempDir(), "inline_main")
	args := append([]string{"-g", "-no-pie", "-o", out}, strings.Fields(flags)...)
	args = append(args, filepath.Join(srcDir(t), "inline_main.c"))
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return out
}

// TestInlineFramesAtStopMatchGDB: main begins with an inlined call.
// `break main` stops on the inlined body's first instruction and gdb
// hides the inlined frame (bt: main at the call's line); `break *ADDR`
// at the same address, `break setup` and `break inline_main.c:8` stop
// there showing setup as frame #0 and main as #1. Unwind's inline chain
// without the frames HiddenInlineFrames names must be gdb's bt in each
// case.
func TestInlineFramesAtStopMatchGDB(t *testing.T) {
	for _, lvl := range []string{"-O1", "-O2", "-Og"} {
		t.Run(lvl, func(t *testing.T) {
			exe := buildInlineMain(t, lvl)
			f, err := Open(exe)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			mainBP, err := f.Breakpoints("main")
			if err != nil || len(mainBP) != 1 {
				t.Fatalf("break main: %v %v", mainBP, err)
			}
			entry := mainBP[0].Addr
			inlined := len(f.LookupGDB(entry).Frames) > 1
			hidden := 0
			for _, spec := range []string{"main", fmt.Sprintf("*%#x", entry), "setup", "inline_main.c:8"} {
				bps, err := f.Breakpoints(spec)
				if err != nil || len(bps) == 0 {
					if spec == "setup" && !inlined {
						continue // -Og may keep setup out of line
					}
					t.Fatalf("break %s: %v %v", spec, bps, err)
				}
				stops := runGDB(t, exe, []string{spec}, 1)
				s := &stops[0]
				pc := s.Regs[RegRIP]
				var bp *BreakLoc
				for i := range bps {
					if bps[i].Addr == pc {
						bp = &bps[i]
					}
				}
				if bp == nil {
					t.Fatalf("break %s: gdb stopped at %#x, not at one of %+v", spec, pc, bps)
				}
				n := f.HiddenInlineFrames(pc, bp)
				bt := f.Unwind(s.regs(), s.memory(t, f))
				var got []btLine
				for k, fr := range bt.Frames {
					chain := fr.Loc.Frames
					if k == 0 {
						chain = chain[n:]
					}
					for _, sf := range chain {
						got = append(got, btLine{sf.Func, sf.File, sf.Line})
					}
					if len(chain) > 0 && chain[len(chain)-1].Func == "main" {
						break
					}
				}
				want := parseBT(t, s.BT)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("break %s (stop at %#x, %d inline frames hidden):\ngdb bt:\n%s\nukw: %v", spec, pc, n, s.BT, got)
				}
				if spec == "main" {
					hidden = n
				}
			}
			if lvl != "-Og" && (!inlined || hidden != 1) {
				t.Fatalf("%s: break main at %#x: inlined %v, %d frames hidden: the program no longer exercises an inlined call at main's start", lvl, entry, inlined, hidden)
			}
		})
	}
}

// TestHiddenInlineFramesWithoutBreakpoint: a stop at an inlined entry
// that no breakpoint caused (an interrupt, a fault) hides every inlined
// frame beginning there; elsewhere in the inlined body nothing is hidden.
func TestHiddenInlineFramesWithoutBreakpoint(t *testing.T) {
	exe := buildInlineMain(t, "-O2")
	f, err := Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bps, err := f.Breakpoints("setup")
	if err != nil || len(bps) != 1 {
		t.Fatalf("break setup: %v %v", bps, err)
	}
	entry := bps[0].Addr
	if n := f.HiddenInlineFrames(entry, nil); n != 1 {
		t.Errorf("at setup's entry %#x: %d frames hidden, want 1", entry, n)
	}
	li, ok := f.LineAt(entry)
	if !ok || li.Hi <= entry+1 {
		t.Fatalf("no line range after %#x", entry)
	}
	if n := f.HiddenInlineFrames(entry+1, nil); n != 0 {
		t.Errorf("inside setup at %#x: %d frames hidden, want 0", entry+1, n)
	}
}
