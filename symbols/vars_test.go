package symbols

import (
	"fmt"
	"strings"
	"testing"
)

// formatVars renders vars like gdb's `info args` / `info locals`.
func formatVars(vs []Var, none string) string {
	if len(vs) == 0 {
		return none + "\n"
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s = %s\n", v.Name, v.Value)
	}
	return b.String()
}

// TestFrameVarsMatchGDB: at every stop and every frame up to main, the
// parameters and locals formatted by this package equal gdb's `info args`
// and `info locals`.
func TestFrameVarsMatchGDB(t *testing.T) {
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			stops := runGDB(t, exe, stopBreaks, 14)
			checked, lenient := 0, 0
			for i := range stops {
				s := &stops[i]
				bt := f.Unwind(s.regs(), s.memory(t, f))
				k := 0
				for fi, fr := range bt.Frames {
					for inl := range fr.Loc.Frames {
						if k >= len(s.Frames) {
							break
						}
						g := s.Frames[k]
						k++
						params, locals, err := f.FrameVars(bt.Frames, fi, inl, s.memory(t, f))
						if err != nil {
							t.Errorf("stop %d frame %d (%s): %v", i, k-1, g.Name, err)
							continue
						}
						for _, c := range []struct{ what, gdb, ukw string }{
							{"info args", g.Args, formatVars(params, "No arguments.")},
							{"info locals", g.Locals, formatVars(locals, "No locals.")},
						} {
							if c.gdb == c.ukw {
								continue
							}
							if lvl.name == "O2nofp" && sameWhereBothKnown(c.gdb, c.ukw) {
								// docs/symbols.md: at -O2 gdb and ukw disagree on
								// some entry values; values both know must agree.
								lenient++
								t.Logf("stop %d frame %d (%s): %s availability differs:\ngdb:\n%sukw:\n%s", i, k-1, g.Name, c.what, c.gdb, c.ukw)
								continue
							}
							t.Errorf("stop %d frame %d (%s) %s: %s:\ngdb:\n%sukw:\n%s", i, k-1, g.Name, lvl.name, c.what, c.gdb, c.ukw)
						}
						checked++
					}
				}
			}
			if checked < 20 {
				t.Fatalf("only %d frames compared", checked)
			}
			if lenient*2 > checked { // see docs/symbols.md, "Known differences"
				t.Errorf("%d of %d frames differ in availability", lenient, checked)
			}
		})
	}
}

// sameWhereBothKnown reports whether two `info` outputs list the same
// variables with equal values wherever neither says <optimized out>.
func sameWhereBothKnown(a, b string) bool {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(al) != len(bl) {
		return false
	}
	for i := range al {
		if al[i] == bl[i] {
			continue
		}
		an, av, _ := strings.Cut(al[i], " = ")
		bn, bv, _ := strings.Cut(bl[i], " = ")
		if an != bn || (av != "<optimized out>" && bv != "<optimized out>") {
			return false
		}
	}
	return true
}
