package symbols

import (
	"fmt"
	"testing"
)

// TestUnwindPCsMatchesUnwind: at every gdb stop of the test program
// (three optimisation levels), UnwindPCs finds Unwind's frames (pc, CFA,
// why it stopped) and LookupGDB(LookupPC) names each one like Unwind's
// Loc, which TestUnwindMatchesGDB compares with gdb's bt.
func TestUnwindPCsMatchesUnwind(t *testing.T) {
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			stops := runGDB(t, exe, stopBreaks, 14)
			deep := 0
			for i := range stops {
				s := &stops[i]
				bt := f.Unwind(s.regs(), s.memory(t, f))
				pcs, reason := f.UnwindPCs(s.regs(), s.memory(t, f), UnwindMaxDepth, nil)
				if reason != bt.Reason || len(pcs) != len(bt.Frames) {
					t.Fatalf("stop %d: UnwindPCs %d frames (%s), Unwind %d (%s)", i, len(pcs), reason, len(bt.Frames), bt.Reason)
				}
				for k, p := range pcs {
					fr := bt.Frames[k]
					loc := f.LookupGDB(p.LookupPC())
					if p.PC != fr.PC || p.CFA != fr.CFA || fmt.Sprint(loc.Frames) != fmt.Sprint(fr.Loc.Frames) {
						t.Errorf("stop %d frame %d: UnwindPCs %+v %v, Unwind pc %#x cfa %#x %v", i, k, p, loc.Frames, fr.PC, fr.CFA, fr.Loc.Frames)
					}
				}
				deep = max(deep, len(pcs))
			}
			if deep < 4 {
				t.Fatalf("the deepest stop has %d frames: the comparison needs deeper stacks", deep)
			}
		})
	}
}

// unwindFixture is a gdb stop at the deepest frame of the -O2 test
// program (leaf called from a recursive walk), for the benchmarks.
func unwindFixture(b *testing.B) (*File, Regs, Memory) {
	exe := buildProg(b, "-O2 -fomit-frame-pointer")
	f, err := Open(exe)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	stops := runGDB(b, exe, []string{"leaf"}, 3)
	s := &stops[len(stops)-1]
	return f, s.regs(), s.memory(b, f)
}

// BenchmarkUnwind: a full Unwind (frames symbolized with inline chains)
// at a stop, in a warm File. Compare BenchmarkUnwindPCs.
func BenchmarkUnwind(b *testing.B) {
	f, regs, mem := unwindFixture(b)
	n := len(f.Unwind(regs, mem).Frames)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Unwind(regs, mem)
	}
	b.ReportMetric(float64(n), "frames")
}

// BenchmarkUnwindPCs: the same stack with UnwindPCs (pcs and CFAs only),
// as the sampling profiler takes it.
func BenchmarkUnwindPCs(b *testing.B) {
	f, regs, mem := unwindFixture(b)
	var buf []PCFrame
	buf, _ = f.UnwindPCs(regs, mem, UnwindMaxDepth, buf)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = f.UnwindPCs(regs, mem, UnwindMaxDepth, buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "frames")
}
