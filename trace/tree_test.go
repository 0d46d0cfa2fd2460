package trace

import (
	"fmt"
	"testing"
)

// mapSym names functions by a fixed table, for tests without an ELF.
type mapSym struct {
	funcs  map[uint64]string
	points map[uint64]Tracepoint
}

func (m mapSym) Func(addr uint64) Func {
	if n, ok := m.funcs[addr]; ok {
		return Func{Addr: addr, Name: n, File: "main.c", Line: int(addr & 0xff)}
	}
	return Func{Addr: addr, Name: fmt.Sprintf("%#x", addr)}
}

func (m mapSym) Tracepoint(addr uint64) (Tracepoint, bool) {
	tp, ok := m.points[addr]
	return tp, ok
}

var testSym = mapSym{
	funcs: map[uint64]string{0x10: "main", 0x20: "work", 0x30: "leaf", 0x40: "fib"},
	points: map[uint64]Tracepoint{
		0x900: {Addr: 0x900, Name: "work", Format: "i=%d", File: "main.c", Line: 45, NArgs: 1},
	},
}

// recorder builds a record stream as lib/ftrace would emit it.
type recorder struct {
	recs []Record
	tsc  uint64
}

func (r *recorder) at(tsc uint64) *recorder { r.tsc = tsc; return r }

func (r *recorder) add(typ RecordType, id uint64, args ...uint64) *recorder {
	rec := Record{Seq: uint64(len(r.recs) + 1), TSC: r.tsc, Type: typ, ID: id, NArgs: len(args)}
	copy(rec.Args[:], args)
	r.recs = append(r.recs, rec)
	return r
}

func (r *recorder) enter(tsc, fn uint64) *recorder { return r.at(tsc).add(RecEnter, fn, 0x1234) }
func (r *recorder) exit(tsc, fn uint64) *recorder  { return r.at(tsc).add(RecExit, fn, 0x1234) }

func TestTreeDurationsAndNesting(t *testing.T) {
	var r recorder
	r.enter(100, 0x10).
		enter(110, 0x20).enter(120, 0x30).exit(130, 0x30).enter(140, 0x30).exit(160, 0x30).exit(200, 0x20).
		at(210).add(RecPoint, 0x900, 7).
		enter(220, 0x20).enter(230, 0x30).exit(235, 0x30).exit(250, 0x20).
		enter(260, 0x40).enter(270, 0x40).exit(280, 0x40).exit(300, 0x40).
		exit(400, 0x10)
	tr := NewTrace(testSym)
	evs := tr.Add(r.recs)
	root := tr.Tree()
	want := "main 1\n  work 2\n    leaf 3\n  fib 1\n    fib 1\n"
	if got := TreeShape(root); got != want {
		t.Fatalf("shape:\n%s\nwant:\n%s", got, want)
	}
	main := root.Children[0]
	work, leaf, fib := main.Children[0], main.Children[0].Children[0], main.Children[1]
	check := func(name string, n *Node, incl, excl uint64) {
		t.Helper()
		if n.Incl != incl || n.Excl != excl {
			t.Errorf("%s: incl %d excl %d, want %d %d", name, n.Incl, n.Excl, incl, excl)
		}
	}
	check("main", main, 300, 300-(90+30)-40)
	check("work", work, 90+30, 120-(10+20+5))
	check("leaf", leaf, 35, 35)
	check("fib", fib, 40, 30)
	check("fib/fib", fib.Children[0], 10, 10)
	if root.Incl != 300 {
		t.Errorf("root incl %d", root.Incl)
	}
	if len(tr.Points) != 1 || tr.Points[0].Text != "i=7" || tr.Points[0].Depth != 1 || tr.Points[0].In != "main" {
		t.Fatalf("points %+v", tr.Points)
	}
	if evs[2].Depth != 2 || evs[3].Depth != 2 || evs[3].Type != RecExit {
		t.Fatalf("depths: enter leaf %d, exit leaf %d", evs[2].Depth, evs[3].Depth)
	}
	if tr.FirstTSC != 100 || tr.LastTSC != 400 || tr.Records != len(r.recs) {
		t.Fatalf("bounds %d..%d, %d records", tr.FirstTSC, tr.LastTSC, tr.Records)
	}
	spans := tr.AllSpans()
	if len(spans) != 8 || spans[0].Func.Name != "main" || spans[0].Start != 100 || spans[0].End != 400 {
		t.Fatalf("spans %+v", spans)
	}
}

func TestTreeOpenCallsAndUnmatchedExits(t *testing.T) {
	var r recorder
	r.exit(90, 0x30) // an exit from before tracing began
	r.enter(100, 0x10).enter(110, 0x20).enter(120, 0x30)
	tr := NewTrace(testSym)
	tr.Add(r.recs)
	if tr.Unmatched != 1 {
		t.Fatalf("unmatched %d", tr.Unmatched)
	}
	r.recs = nil
	r.at(150).add(RecPoint, 0x900, 1)
	tr.Add(r.recs)
	root := tr.Tree()
	if got := TreeShape(root); got != "main 1\n  work 1\n    leaf 1\n" {
		t.Fatalf("shape %q", got)
	}
	leaf := root.Children[0].Children[0].Children[0]
	if leaf.Unfinished != 1 || leaf.Incl != 30 || root.Children[0].Incl != 50 || root.Children[0].Excl != 10 {
		t.Fatalf("open calls closed at the last record: leaf %+v main incl %d excl %d", leaf, root.Children[0].Incl, root.Children[0].Excl)
	}
	// Tree did not close anything for real: the calls finish later.
	r.recs = nil
	r.exit(160, 0x30).exit(170, 0x20).exit(180, 0x10)
	tr.Add(r.recs)
	root = tr.Tree()
	if n := root.Children[0]; n.Unfinished != 0 || n.Incl != 80 {
		t.Fatalf("after the exits: main %+v", n)
	}
	// An exit that skips frames (longjmp) closes the skipped ones as unfinished.
	tr = NewTrace(testSym)
	r.recs = nil
	r.enter(0, 0x10).enter(10, 0x20).enter(20, 0x30).exit(50, 0x10)
	tr.Add(r.recs)
	root = tr.Tree()
	if n := root.Children[0].Children[0]; n.Unfinished != 1 || n.Incl != 40 {
		t.Fatalf("skipped frame: %+v", n)
	}
	if n := root.Children[0]; n.Unfinished != 0 || n.Incl != 50 {
		t.Fatalf("outer frame: %+v", n)
	}
}

func TestTopFuncsCountsRecursionOnce(t *testing.T) {
	var r recorder
	r.enter(0, 0x10).enter(10, 0x40).enter(20, 0x40).enter(30, 0x40).exit(40, 0x40).exit(50, 0x40).exit(60, 0x40).exit(100, 0x10)
	tr := NewTrace(testSym)
	tr.Add(r.recs)
	top := TopFuncs(tr.Tree(), 0)
	if len(top) != 2 || top[0].Func.Name != "main" || top[1].Func.Name != "fib" {
		t.Fatalf("top %+v", top)
	}
	fib := top[1]
	if fib.Calls != 3 || fib.Total != 50 || fib.Self != 50 {
		t.Fatalf("fib %+v: want 3 calls, total 50 (outermost only), self 50", fib)
	}
	if top[0].Self != 50 || top[0].Total != 100 {
		t.Fatalf("main %+v", top[0])
	}
}

func TestTraceKeepBound(t *testing.T) {
	var r recorder
	for i := uint64(0); i < 10; i++ {
		r.enter(i*10, 0x20).exit(i*10+5, 0x20)
	}
	tr := NewTrace(testSym)
	tr.Keep = 4
	tr.Add(r.recs)
	if len(tr.Spans) != 4 || tr.Truncated != 6 || tr.Tree().Children[0].Calls != 10 {
		t.Fatalf("spans %d truncated %d calls %d", len(tr.Spans), tr.Truncated, tr.Tree().Children[0].Calls)
	}
}

func TestTailFilter(t *testing.T) {
	var r recorder
	r.enter(1, 0x10)
	for i := uint64(0); i < 5; i++ {
		r.at(10+i).add(RecPoint, 0x900, i)
		r.enter(20+i, 0x30).exit(21+i, 0x30)
	}
	tr := NewTrace(testSym)
	tl := NewTail(9)
	tl.Add(tr.Add(r.recs))
	if tl.Seen() != 16 {
		t.Fatalf("seen %d", tl.Seen())
	}
	all := tl.Last(Filter{}, 0)
	if len(all) != 9 || all[8].Type != RecExit || all[0].Type != RecPoint || all[0].Args[0] != 2 {
		t.Fatalf("last 9: %+v", all)
	}
	pts := tl.Last(Filter{PointsOnly: true}, 2)
	if len(pts) != 2 || pts[0].Args[0] != 3 || pts[1].Args[0] != 4 {
		t.Fatalf("points: %+v", pts)
	}
	leaf := tl.Last(Filter{Name: "LEA"}, 0)
	if len(leaf) != 6 {
		t.Fatalf("name filter: %d events", len(leaf))
	}
	if f, l := pts[0].Source(); f != "main.c" || l != 45 {
		t.Fatalf("point source %s:%d", f, l)
	}
	if f, l := leaf[0].Source(); f != "main.c" || l != 0x30 {
		t.Fatalf("function source %s:%d", f, l)
	}
}
