package trace

import (
	"sort"
	"strings"
)

// What a workbench pane needs, as plain data: a bounded live tail of
// events with filtering (the Trace pane) and per-function totals (the
// Profile view, and a trace's own top functions).

// Filter selects events for a tail view. The zero Filter matches all.
type Filter struct {
	// Name matches events whose name contains it, case-insensitively.
	Name string
	// PointsOnly hides function entries and exits.
	PointsOnly bool
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	if f.PointsOnly && e.Type != RecPoint {
		return false
	}
	return f.Name == "" || strings.Contains(strings.ToLower(e.Name()), strings.ToLower(f.Name))
}

// Source is where a pane jumps for e: the tracepoint's line, or the
// function's first line ("" when unknown).
func (e Event) Source() (file string, line int) {
	if e.Type == RecPoint {
		return e.Point.File, e.Point.Line
	}
	return e.Func.File, e.Func.Line
}

// Tail keeps the last events of a trace, at most Max of them.
type Tail struct {
	max  int
	buf  []Event // circular once full
	next int
	seen uint64
}

// NewTail returns a tail of at most max events (1024 when max <= 0).
func NewTail(max int) *Tail {
	if max <= 0 {
		max = 1024
	}
	return &Tail{max: max}
}

// Add appends events (in record order).
func (t *Tail) Add(evs []Event) {
	for _, e := range evs {
		t.seen++
		if len(t.buf) < t.max {
			t.buf = append(t.buf, e)
			continue
		}
		t.buf[t.next] = e
		t.next = (t.next + 1) % t.max
	}
}

// Seen counts every event ever added.
func (t *Tail) Seen() uint64 { return t.seen }

// Last returns up to n of the newest events that match f, oldest first
// (all kept matches when n <= 0).
func (t *Tail) Last(f Filter, n int) []Event {
	var out []Event
	for k := len(t.buf) - 1; k >= 0; k-- {
		e := t.buf[(t.next+k)%len(t.buf)]
		if !f.Match(e) {
			continue
		}
		out = append(out, e)
		if n > 0 && len(out) == n {
			break
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// FuncTime is one function's totals in a call tree.
type FuncTime struct {
	Func  Func
	Calls int
	// Self is the exclusive time; Total the inclusive time counted once
	// per outermost activation (recursion is not counted twice). Ticks.
	Self, Total uint64
}

// TopFuncs folds a call tree into per-function totals, sorted by self
// time (then total, then name); n <= 0 returns all.
func TopFuncs(root *Node, n int) []FuncTime {
	by := map[uint64]*FuncTime{}
	var walk func(nd *Node, active map[uint64]bool)
	walk = func(nd *Node, active map[uint64]bool) {
		ft := by[nd.Func.Addr]
		if ft == nil {
			ft = &FuncTime{Func: nd.Func}
			by[nd.Func.Addr] = ft
		}
		ft.Calls += nd.Calls
		ft.Self += nd.Excl
		rec := active[nd.Func.Addr]
		if !rec {
			ft.Total += nd.Incl
			active[nd.Func.Addr] = true
		}
		for _, c := range nd.Children {
			walk(c, active)
		}
		if !rec {
			delete(active, nd.Func.Addr)
		}
	}
	for _, c := range root.Children {
		walk(c, map[uint64]bool{})
	}
	out := make([]FuncTime, 0, len(by))
	for _, ft := range by {
		out = append(out, *ft)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Self != b.Self {
			return a.Self > b.Self
		}
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Func.Name < b.Func.Name
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
