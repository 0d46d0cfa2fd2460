package trace

import "sort"

// Event is one decoded record.
type Event struct {
	Index uint64
	TSC   uint64
	Type  RecordType
	// Func and Site are set for RecEnter and RecExit: the function and
	// its call site.
	Func Func
	Site uint64
	// Point, Args and Text are set for RecPoint: the tracepoint, its
	// arguments and its format rendered with them.
	Point Tracepoint
	Args  []uint64
	Text  string
	// Depth is the call depth when the event happened (the number of
	// functions entered and not yet left; an exit has its function's depth).
	Depth int
	// In is the innermost traced function the event happened in ("" at
	// the top level).
	In string
}

// Name is what a filter matches: the tracepoint or function name.
func (e Event) Name() string {
	if e.Type == RecPoint {
		return e.Point.Name
	}
	return e.Func.Name
}

// Node is one node of a calling-context tree: a function reached through
// one particular chain of callers. Durations are TSC ticks.
type Node struct {
	Func  Func
	Calls int
	// Incl is the time spent in the function and its callees, Excl the
	// time in the function itself, summed over its calls.
	Incl, Excl uint64
	// Unfinished counts calls without an exit record (still running when
	// the trace ended, left by longjmp, or recorded before tracing began).
	Unfinished int
	Children   []*Node
}

// child returns n's child for fn, creating it.
func (n *Node) child(fn Func) *Node {
	for _, c := range n.Children {
		if c.Func.Addr == fn.Addr {
			return c
		}
	}
	c := &Node{Func: fn}
	n.Children = append(n.Children, c)
	return c
}

// Walk calls visit for n and every node below it, depth first, in order,
// with the node's depth (n itself has depth 0).
func (n *Node) Walk(visit func(n *Node, depth int)) { n.walk(visit, 0) }

func (n *Node) walk(visit func(*Node, int), d int) {
	visit(n, d)
	for _, c := range n.Children {
		c.walk(visit, d+1)
	}
}

func (n *Node) clone() *Node {
	c := *n
	c.Children = make([]*Node, len(n.Children))
	for i, ch := range n.Children {
		c.Children[i] = ch.clone()
	}
	return &c
}

// Span is one call: a function's entry to its exit.
type Span struct {
	Func       Func
	Depth      int
	Start, End uint64 // TSC
	Unfinished bool   // no exit record: End is the last timestamp seen
}

// DefaultKeep is how many spans and tracepoint events a Trace keeps for
// export by default; the tree is complete regardless.
const DefaultKeep = 1 << 18

// Trace accumulates decoded records: the call tree, the calls (spans) and
// the tracepoint log. Feed it with Add in record order.
type Trace struct {
	sym Symbolizer
	// Keep bounds Spans and Points (DefaultKeep when 0); past it they are
	// counted in Truncated.
	Keep      int
	root      *Node
	Spans     []Span
	Points    []Event
	Truncated uint64
	// Records counts records added; Unmatched exits that had no entry.
	Records, Unmatched int
	// FirstTSC and LastTSC bound the records seen (0 before the first).
	FirstTSC, LastTSC uint64
	stack             []openCall
}

type openCall struct {
	node  *Node
	fn    Func
	start uint64
	child uint64 // ticks spent in completed callees
}

// NewTrace returns an empty trace that names things with sym.
func NewTrace(sym Symbolizer) *Trace {
	return &Trace{sym: sym, root: &Node{Func: Func{Name: "(root)"}}}
}

func (t *Trace) keep() int {
	if t.Keep > 0 {
		return t.Keep
	}
	return DefaultKeep
}

// Add decodes recs, adds them to the trace and returns them as events.
func (t *Trace) Add(recs []Record) []Event {
	evs := make([]Event, 0, len(recs))
	for _, r := range recs {
		evs = append(evs, t.add(r))
	}
	return evs
}

func (t *Trace) add(r Record) Event {
	t.Records++
	if t.FirstTSC == 0 || r.TSC < t.FirstTSC {
		t.FirstTSC = r.TSC
	}
	if r.TSC > t.LastTSC {
		t.LastTSC = r.TSC
	}
	e := Event{Index: r.Index(), TSC: r.TSC, Type: r.Type}
	if len(t.stack) > 0 {
		e.In = t.stack[len(t.stack)-1].fn.Name
	}
	switch r.Type {
	case RecPoint:
		tp, ok := t.sym.Tracepoint(r.ID)
		if !ok {
			tp = Tracepoint{Addr: r.ID, Name: "?", NArgs: r.NArgs}
		}
		e.Point, e.Args, e.Depth = tp, append([]uint64(nil), r.Args[:r.NArgs]...), len(t.stack)
		e.Text = FormatPoint(tp.Format, e.Args, nil)
		if len(t.Points) < t.keep() {
			t.Points = append(t.Points, e)
		} else {
			t.Truncated++
		}
	case RecEnter:
		e.Func, e.Site, e.Depth = t.sym.Func(r.ID), r.Args[0], len(t.stack)
		parent := t.root
		if len(t.stack) > 0 {
			parent = t.stack[len(t.stack)-1].node
		}
		t.stack = append(t.stack, openCall{node: parent.child(e.Func), fn: e.Func, start: r.TSC})
	case RecExit:
		e.Func, e.Site = t.sym.Func(r.ID), r.Args[0]
		k := len(t.stack) - 1
		for k >= 0 && t.stack[k].fn.Addr != r.ID {
			k--
		}
		if k < 0 {
			t.Unmatched++
			e.Depth = 0
			break
		}
		e.Depth = k
		for len(t.stack) > k+1 {
			t.pop(r.TSC, true)
		}
		t.pop(r.TSC, false)
	}
	return e
}

// pop closes the innermost open call at tsc.
func (t *Trace) pop(tsc uint64, unfinished bool) {
	o := t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	closeCall(o, tsc, unfinished)
	if len(t.stack) > 0 {
		t.stack[len(t.stack)-1].child += sat(tsc, o.start)
	}
	if len(t.Spans) < t.keep() {
		t.Spans = append(t.Spans, Span{Func: o.fn, Depth: len(t.stack), Start: o.start, End: tsc, Unfinished: unfinished})
	} else {
		t.Truncated++
	}
}

func closeCall(o openCall, end uint64, unfinished bool) {
	incl := sat(end, o.start)
	o.node.Calls++
	o.node.Incl += incl
	o.node.Excl += sat(incl, o.child)
	if unfinished {
		o.node.Unfinished++
	}
}

func sat(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// Open reports the calls entered and not left, outermost first.
func (t *Trace) Open() []Func {
	out := make([]Func, len(t.stack))
	for i, o := range t.stack {
		out[i] = o.fn
	}
	return out
}

// Tree returns a copy of the call tree in which calls still open count as
// unfinished calls ending at LastTSC. The root is a synthetic node named
// "(root)" whose children are the outermost traced functions. The trace
// itself is not changed, so Tree may be called while records keep coming.
func (t *Trace) Tree() *Node {
	root := t.root.clone()
	// Close the open calls innermost first, on the copy.
	nodes := map[*Node]*Node{}
	mapNodes(t.root, root, nodes)
	child := uint64(0)
	for i := len(t.stack) - 1; i >= 0; i-- {
		o := t.stack[i]
		o.node = nodes[o.node]
		o.child += child
		closeCall(o, t.LastTSC, true)
		child = sat(t.LastTSC, o.start)
	}
	for _, c := range root.Children {
		root.Incl += c.Incl
	}
	return root
}

func mapNodes(orig, cp *Node, m map[*Node]*Node) {
	m[orig] = cp
	for i := range orig.Children {
		mapNodes(orig.Children[i], cp.Children[i], m)
	}
}

// AllSpans returns the completed spans plus the open calls as unfinished
// spans ending at LastTSC, sorted by start (outer before inner on ties).
func (t *Trace) AllSpans() []Span {
	out := append([]Span(nil), t.Spans...)
	for i, o := range t.stack {
		out = append(out, Span{Func: o.fn, Depth: i, Start: o.start, End: t.LastTSC, Unfinished: true})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Depth < out[j].Depth
	})
	return out
}
