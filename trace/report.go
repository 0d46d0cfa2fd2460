package trace

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"ukw/guest"
)

// WriteCollection prints what `ukw trace` shows: how the ring was read,
// the call tree, time per function, the tracepoint log and how the guest
// ended; perfetto names the trace-event file written beside it ("" none).
func WriteCollection(w io.Writer, col *Collection, clock Clock, perfetto string) {
	t := col.Trace
	calls := 0
	root := t.Tree()
	root.Walk(func(n *Node, d int) {
		if d > 0 {
			calls += n.Calls
		}
	})
	fmt.Fprintln(w)
	if col.Ring == 0 {
		fmt.Fprintln(w, "trace: the image has no trace ring (add layers lib/trace, lib/ftrace)")
	} else {
		how := fmt.Sprintf("read at stops and at the end (%d reads)", col.Polls)
		if col.Live {
			how = fmt.Sprintf("read live (%d reads)", col.Polls)
		}
		fmt.Fprintf(w, "trace: %d records (%d calls, %d tracepoints), %d dropped, ring at %#x %s\n",
			t.Records, calls, len(t.Points), col.Dropped, col.Ring, how)
	}
	if len(root.Children) > 0 {
		fmt.Fprintln(w, "\ncall tree:")
		WriteTree(w, root, clock)
		fmt.Fprintln(w, "\nby function (self time):")
		fmt.Fprintf(w, "%8s %12s %12s  %s\n", "calls", "self", "total", "function")
		for _, f := range TopFuncs(root, 10) {
			fmt.Fprintf(w, "%8d %12s %12s  %s\n", f.Calls, clock.Format(f.Self), clock.Format(f.Total), f.Func.Name)
		}
	}
	if len(t.Points) > 0 {
		fmt.Fprintln(w, "\ntracepoints:")
		WriteLog(w, t.Points, t.FirstTSC, clock)
	}
	if t.Unmatched > 0 || t.Truncated > 0 {
		fmt.Fprintf(w, "\n%d exits without an entry, %d calls/tracepoints not kept\n", t.Unmatched, t.Truncated)
	}
	if perfetto != "" {
		fmt.Fprintf(w, "\nperfetto: %s (open in ui.perfetto.dev or chrome://tracing)\n", perfetto)
	}
	fmt.Fprintf(w, "\nguest: %s\n", col.Outcome.String())
}

type jsonNode struct {
	Func       string      `json:"func"`
	Addr       string      `json:"addr"`
	File       string      `json:"file,omitempty"`
	Line       int         `json:"line,omitempty"`
	Calls      int         `json:"calls"`
	Unfinished int         `json:"unfinished,omitempty"`
	InclTicks  uint64      `json:"incl_ticks"`
	ExclTicks  uint64      `json:"excl_ticks"`
	InclNS     int64       `json:"incl_ns,omitempty"`
	ExclNS     int64       `json:"excl_ns,omitempty"`
	Children   []*jsonNode `json:"children,omitempty"`
}

type jsonPoint struct {
	Name  string   `json:"name"`
	Text  string   `json:"text"`
	Args  []uint64 `json:"args"`
	File  string   `json:"file,omitempty"`
	Line  int      `json:"line,omitempty"`
	In    string   `json:"in,omitempty"`
	Ticks uint64   `json:"ticks"`
	NS    int64    `json:"ns,omitempty"`
}

func toJSONNode(n *Node, c Clock) *jsonNode {
	j := &jsonNode{Func: n.Func.Name, Addr: fmt.Sprintf("%#x", n.Func.Addr), File: n.Func.File, Line: n.Func.Line,
		Calls: n.Calls, Unfinished: n.Unfinished, InclTicks: n.Incl, ExclTicks: n.Excl,
		InclNS: c.Duration(n.Incl).Nanoseconds(), ExclNS: c.Duration(n.Excl).Nanoseconds()}
	for _, ch := range n.Children {
		j.Children = append(j.Children, toJSONNode(ch, c))
	}
	return j
}

// WriteCollectionJSON prints the same as one JSON object (`ukw trace --json`).
func WriteCollectionJSON(w io.Writer, col *Collection, c Clock) error {
	t := col.Trace
	out := struct {
		Records   int          `json:"records"`
		Dropped   uint64       `json:"dropped"`
		Unmatched int          `json:"unmatched_exits"`
		Ring      string       `json:"ring,omitempty"`
		Live      bool         `json:"live"`
		Polls     int          `json:"polls"`
		TSCHz     float64      `json:"tsc_hz"`
		Tree      []*jsonNode  `json:"tree"`
		Points    []jsonPoint  `json:"tracepoints"`
		Outcome   string       `json:"outcome"`
		Exit      *guest.Exit  `json:"exit,omitempty"`
		Fault     *guest.Fault `json:"-"`
		ElapsedNS int64        `json:"guest_elapsed_ns,omitempty"`
		WallNS    int64        `json:"wall_ns"`
	}{Records: t.Records, Dropped: col.Dropped, Unmatched: t.Unmatched, Live: col.Live, Polls: col.Polls,
		TSCHz: c.Hz, Tree: []*jsonNode{}, Points: []jsonPoint{}, Outcome: col.Outcome.String(),
		Exit: col.Outcome.Exit, WallNS: col.Outcome.Wall.Nanoseconds()}
	if col.Ring != 0 {
		out.Ring = fmt.Sprintf("%#x", col.Ring)
	}
	if col.Outcome.Exit != nil {
		out.ElapsedNS = col.Outcome.Exit.Elapsed.Nanoseconds()
	}
	for _, ch := range t.Tree().Children {
		out.Tree = append(out.Tree, toJSONNode(ch, c))
	}
	for _, e := range t.Points {
		out.Points = append(out.Points, jsonPoint{Name: e.Point.Name, Text: e.Text, Args: e.Args, File: e.Point.File,
			Line: e.Point.Line, In: e.In, Ticks: e.TSC - t.FirstTSC, NS: c.Duration(e.TSC - t.FirstTSC).Nanoseconds()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// String says how a traced or profiled guest ended, in one line.
func (o Outcome) String() string {
	switch {
	case o.Fault != nil:
		return "crashed: " + o.Fault.Summary()
	case o.Killed:
		return fmt.Sprintf("stopped by ukw after %v", o.Wall.Round(time.Millisecond))
	case o.Exit != nil:
		return fmt.Sprintf("exit status %d (%v) after %v", o.Exit.Status, o.Exit.How, o.Exit.Elapsed.Round(time.Microsecond))
	}
	return "unknown"
}

// HeldPct is the share of the run the guest spent held for samples, in percent.
func (run *ProfileRun) HeldPct() float64 {
	if run.Outcome.Wall <= 0 {
		return 0
	}
	return 100 * float64(run.HoldTime) / float64(run.Outcome.Wall)
}

// WriteProfileJSON prints a profile run as one JSON object (`ukw profile
// --json`): counts, latencies, the top functions and the files written.
func WriteProfileJSON(w io.Writer, run *ProfileRun, top int, folded, svg string) error {
	type fn struct {
		Name  string `json:"name"`
		Self  int    `json:"self"`
		Total int    `json:"total"`
	}
	out := struct {
		Samples      int      `json:"samples"`
		Failed       int      `json:"failed"`
		Errors       []string `json:"errors,omitempty"`
		Hz           int      `json:"hz"`
		Method       string   `json:"method"`
		WallNS       int64    `json:"wall_ns"`
		GuestNS      int64    `json:"guest_elapsed_ns,omitempty"`
		MeanSampleNS int64    `json:"mean_sample_ns"`
		MaxSampleNS  int64    `json:"max_sample_ns"`
		MeanHoldNS   int64    `json:"mean_hold_ns"`
		HeldPct      float64  `json:"held_pct"`
		Top          []fn     `json:"top"`
		Folded       string   `json:"folded,omitempty"`
		SVG          string   `json:"svg,omitempty"`
		Outcome      string   `json:"outcome"`
	}{Samples: run.Profile.Samples, Failed: run.Failed, Errors: run.Errors, Hz: run.Hz, Method: run.Method,
		WallNS: run.Outcome.Wall.Nanoseconds(), MeanSampleNS: run.MeanSample().Nanoseconds(),
		MaxSampleNS: run.MaxSample.Nanoseconds(), MeanHoldNS: run.MeanHold().Nanoseconds(), HeldPct: run.HeldPct(), Top: []fn{},
		Folded: folded, SVG: svg, Outcome: run.Outcome.String()}
	if run.Outcome.Exit != nil {
		out.GuestNS = run.Outcome.Exit.Elapsed.Nanoseconds()
	}
	for _, s := range run.Profile.Top(top) {
		out.Top = append(out.Top, fn{s.Name, s.Self, s.Total})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteProfileReport prints what `ukw profile` shows: the sample count and
// latency, how long the guest was held, the top functions and, when
// files is set, the folded-stack and flame-graph files written.
func WriteProfileReport(w io.Writer, run *ProfileRun, top int, folded, svg string, files bool) {
	fmt.Fprintf(w, "\nprofile: %d samples at %d Hz over %v (method %s), %d failed\n",
		run.Profile.Samples, run.Hz, run.Outcome.Wall.Round(time.Millisecond), run.Method, run.Failed)
	for _, e := range run.Errors {
		fmt.Fprintln(w, "  sample failed:", e)
	}
	fmt.Fprintf(w, "latency: %v from tick to stack on average, %v at most; the guest was held %v per sample, %.2f%% of the run\n\n",
		run.MeanSample().Round(time.Microsecond), run.MaxSample.Round(time.Microsecond), run.MeanHold().Round(time.Microsecond), run.HeldPct())
	WriteTop(w, run.Profile.Top(top), run.Profile.Samples)
	if files {
		fmt.Fprintf(w, "\nfolded: %s\nflame graph: %s\n", folded, svg)
	}
	fmt.Fprintf(w, "guest: %s\n", run.Outcome.String())
}
