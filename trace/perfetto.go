package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// TraceEvent is one event of the Chrome/Perfetto trace-event format
// ("Trace Event Format", Google, the JSON Object Format that
// chrome://tracing and ui.perfetto.dev open). Times are microseconds.
type TraceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// TraceFile is the JSON Object Format's top level.
type TraceFile struct {
	TraceEvents     []TraceEvent   `json:"traceEvents"`
	DisplayTimeUnit string         `json:"displayTimeUnit"`
	OtherData       map[string]any `json:"otherData,omitempty"`
}

// PerfettoOptions name the process in the viewer.
type PerfettoOptions struct {
	Process string // e.g. the app's name; "guest" when empty
	Clock   Clock
}

// Perfetto converts t to trace-event JSON: one complete event ("X") per
// call, nested by construction, one thread-scoped instant event ("i") per
// tracepoint, and metadata ("M") naming the process and the vCPU thread.
// Timestamps count from the first record, rounded to nanoseconds.
func Perfetto(t *Trace, o PerfettoOptions) TraceFile {
	const pid, tid = 1, 1
	proc := o.Process
	if proc == "" {
		proc = "guest"
	}
	us := func(tsc uint64) float64 {
		return math.Round(o.Clock.Micros(sat(tsc, t.FirstTSC))*1000) / 1000
	}
	f := TraceFile{DisplayTimeUnit: "ns", OtherData: map[string]any{
		"records": t.Records, "unmatched_exits": t.Unmatched, "truncated": t.Truncated, "tsc_hz": o.Clock.Hz,
	}}
	f.TraceEvents = append(f.TraceEvents,
		TraceEvent{Name: "process_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": proc}},
		TraceEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": "vCPU 0"}},
	)
	for _, s := range t.AllSpans() {
		ts, end := us(s.Start), us(s.End)
		dur := math.Round((end-ts)*1000) / 1000
		args := map[string]any{"addr": fmt.Sprintf("%#x", s.Func.Addr)}
		if s.Func.File != "" {
			args["source"] = fmt.Sprintf("%s:%d", s.Func.File, s.Func.Line)
		}
		if s.Unfinished {
			args["unfinished"] = true
		}
		f.TraceEvents = append(f.TraceEvents, TraceEvent{Name: s.Func.Name, Cat: "function", Ph: "X", Ts: ts, Dur: &dur, Pid: pid, Tid: tid, Args: args})
	}
	for _, e := range t.Points {
		args := map[string]any{"msg": e.Text}
		if e.Point.File != "" {
			args["source"] = fmt.Sprintf("%s:%d", e.Point.File, e.Point.Line)
		}
		for i, a := range e.Args {
			args[fmt.Sprintf("arg%d", i)] = jsonArg(a)
		}
		f.TraceEvents = append(f.TraceEvents, TraceEvent{Name: e.Point.Name, Cat: "tracepoint", Ph: "i", S: "t", Ts: us(e.TSC), Pid: pid, Tid: tid, Args: args})
	}
	return f
}

// WritePerfetto writes Perfetto(t, o) as JSON to w.
func WritePerfetto(w io.Writer, t *Trace, o PerfettoOptions) error {
	bw := bufio.NewWriter(w)
	if err := json.NewEncoder(bw).Encode(Perfetto(t, o)); err != nil {
		return err
	}
	return bw.Flush()
}

// jsonArg keeps an argument exact in JSON: a number when a float64 (what
// the viewers parse numbers into) holds it exactly, else a hex string.
func jsonArg(a uint64) any {
	if a <= 1<<53 {
		return a
	}
	return fmt.Sprintf("%#x", a)
}
