package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// phases are the event types of the trace-event format ("Trace Event
// Format", Google: Duration B/E, Complete X, Instant i/I, Counter C,
// Async b/n/e, Flow s/t/f, Sample P, Object N/O/D, Metadata M, Mark R).
const phases = "BEXiICbnestfPNODMR"

// ValidateTraceEvents checks data against the trace-event format the way
// a viewer needs it: well-formed JSON (the object form with traceEvents,
// or a bare array); every event has a known ph, a name (E may omit it),
// numeric pid and tid, and a numeric ts (metadata excepted); X events
// have dur >= 0; instant scopes are g, p or t; on each thread B/E events
// pair up (same name when E has one) and X events nest without partial
// overlap. Times are compared in nanoseconds.
func ValidateTraceEvents(data []byte) error {
	var evs []map[string]any
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &evs); err != nil {
			return fmt.Errorf("trace events: %w", err)
		}
	} else {
		var f struct {
			TraceEvents *[]map[string]any `json:"traceEvents"`
		}
		if err := json.Unmarshal(trimmed, &f); err != nil {
			return fmt.Errorf("trace events: %w", err)
		}
		if f.TraceEvents == nil {
			return fmt.Errorf("trace events: no traceEvents array")
		}
		evs = *f.TraceEvents
	}
	type thread struct{ pid, tid int64 }
	type span struct{ start, end int64 }
	opens := map[thread][]string{}
	spans := map[thread][]span{}
	num := func(e map[string]any, k string) (float64, bool) {
		v, ok := e[k].(float64)
		return v, ok
	}
	for i, e := range evs {
		ph, ok := e["ph"].(string)
		if !ok || len(ph) != 1 || !bytes.ContainsAny([]byte(phases), ph) {
			return fmt.Errorf("event %d: ph %v is not an event type", i, e["ph"])
		}
		name, hasName := e["name"].(string)
		if !hasName && ph != "E" {
			return fmt.Errorf("event %d (%s): no name", i, ph)
		}
		pid, okP := num(e, "pid")
		tid, okT := num(e, "tid")
		if !okP || (!okT && ph != "M") {
			return fmt.Errorf("event %d (%s %q): pid and tid must be numbers", i, ph, name)
		}
		th := thread{int64(pid), int64(tid)}
		if ph == "M" {
			continue
		}
		ts, ok := num(e, "ts")
		if !ok || math.IsNaN(ts) || math.IsInf(ts, 0) {
			return fmt.Errorf("event %d (%s %q): ts must be a number", i, ph, name)
		}
		tsNS := int64(math.Round(ts * 1000))
		switch ph {
		case "X":
			dur, ok := num(e, "dur")
			if !ok || dur < 0 {
				return fmt.Errorf("event %d (X %q): dur must be a number >= 0", i, name)
			}
			spans[th] = append(spans[th], span{tsNS, tsNS + int64(math.Round(dur*1000))})
		case "B":
			opens[th] = append(opens[th], name)
		case "E":
			st := opens[th]
			if len(st) == 0 {
				return fmt.Errorf("event %d: E %q without a B on pid %d tid %d", i, name, th.pid, th.tid)
			}
			if hasName && name != st[len(st)-1] {
				return fmt.Errorf("event %d: E %q closes B %q", i, name, st[len(st)-1])
			}
			opens[th] = st[:len(st)-1]
		case "i", "I":
			if s, ok := e["s"]; ok && s != "g" && s != "p" && s != "t" {
				return fmt.Errorf("event %d (%s %q): scope %v, want g, p or t", i, ph, name, s)
			}
		}
	}
	for th, st := range opens {
		if len(st) > 0 {
			return fmt.Errorf("pid %d tid %d: %d B events without an E (first %q)", th.pid, th.tid, len(st), st[0])
		}
	}
	for th, ss := range spans {
		sort.SliceStable(ss, func(i, j int) bool {
			if ss[i].start != ss[j].start {
				return ss[i].start < ss[j].start
			}
			return ss[i].end > ss[j].end
		})
		var stack []int64 // ends of the enclosing spans
		for _, s := range ss {
			for len(stack) > 0 && stack[len(stack)-1] <= s.start {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && s.end > stack[len(stack)-1] {
				return fmt.Errorf("pid %d tid %d: X event [%d, %d] ns overlaps its enclosing one ending at %d", th.pid, th.tid, s.start, s.end, stack[len(stack)-1])
			}
			stack = append(stack, s.end)
		}
	}
	return nil
}
