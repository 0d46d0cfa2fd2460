package session

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"
)

// PlainOptions configure RunPlain.
type PlainOptions struct {
	// JSON prints one JSON object per event ({"type": "stop", ...}) instead of text lines.
	JSON bool
	// Quiet hides breakpoint lists and source/disassembly answers.
	Quiet bool
}

// RunPlain is the headless front end (`ukw dev --plain`): it prints every
// event to out and reads commands, one per line in gdb syntax, from in.
// Like gdb in batch mode it paces the input: it reads the first command
// once the first guest has stopped or ended, a run command (continue, step,
// next, finish, …) waits for the next stop or end, and any other command
// for its answer. At the end of a script the session quits; without any
// command (stdin at /dev/null) it runs on, watching and reloading. It
// returns when the session's events end, with an error if it failed.
func RunPlain(s *Session, in io.Reader, out io.Writer, o PlainOptions) error {
	var mu sync.Mutex
	pw := &plainWriter{w: bufio.NewWriter(out), o: o}
	settled := make(chan struct{}, 1)  // a stop, exit, fault or failure
	answered := make(chan struct{}, 1) // an answer to a non-run command
	refused := make(chan struct{}, 1)  // an error answer
	started := make(chan struct{}, 1)  // running with no breakpoint to wait for
	if in != nil {
		go func() {
			select { // the first command waits for the first stop, unless nothing will stop the guest
			case <-settled:
			case <-started:
			}
			sc := bufio.NewScanner(in)
			ran := 0
			for sc.Scan() {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				c, err := ParseCommand(line)
				if err != nil {
					mu.Lock()
					pw.write(OutputEvent{Text: err.Error(), Error: true})
					pw.w.Flush()
					mu.Unlock()
					continue
				}
				drain(settled)
				drain(answered)
				drain(refused)
				s.Send(c)
				if _, quit := c.(Quit); quit {
					return
				}
				if isRun(c) {
					select {
					case <-settled:
					case <-refused:
					}
				} else if _, silent := c.(Undisplay); !silent {
					wait(answered, 5*time.Second)
				}
				ran++
			}
			// A script ends the session when it ends, as gdb's batch mode
			// does; with no command at all (stdin at /dev/null) the loop
			// keeps watching and reloading headless.
			if ran > 0 {
				s.Send(Quit{})
			}
		}()
	}
	var last StateEvent
	breakpoints := 0
	for e := range s.Events() {
		mu.Lock()
		pw.write(e)
		pw.w.Flush()
		mu.Unlock()
		switch e := e.(type) {
		case StateEvent:
			last = e
			switch e.State {
			case StateStopped, StateExited, StateFaulted, StateFailed:
				signal(settled)
			case StateRunning:
				if breakpoints == 0 {
					signal(started)
				}
			}
		case BreakpointsEvent:
			breakpoints = len(e.List)
			signal(answered)
		case OutputEvent:
			signal(answered)
			if e.Error {
				signal(refused)
			}
		case FrameEvent, MemoryEvent, LayersEvent, SourceEvent, LocationEvent, DisasmEvent, ProfileEvent:
			signal(answered)
		}
	}
	if last.State == StateFailed {
		return fmt.Errorf("session failed: %s", last.Detail)
	}
	return nil
}

// isRun reports whether c runs the guest (and so waits for the next stop).
func isRun(c Command) bool {
	switch c.(type) {
	case Continue, Step, Next, Until, StepInstr, NextInstr, Finish, Advance, Jump, Reboot, Rebuild, Start:
		return true
	}
	return false
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func drain(c chan struct{}) {
	select {
	case <-c:
	default:
	}
}

// wait blocks until c is signalled, or for at most d when d > 0.
func wait(c chan struct{}, d time.Duration) {
	if d <= 0 {
		<-c
		return
	}
	select {
	case <-c:
	case <-time.After(d):
	}
}

// plainWriter prints events as lines and console output as it comes,
// starting a new line before an event when the console left one open.
type plainWriter struct {
	w       *bufio.Writer
	o       PlainOptions
	midLine bool
}

func (p *plainWriter) write(e Event) {
	if p.o.JSON {
		if b, err := MarshalEvent(e); err == nil {
			p.w.Write(append(b, '\n'))
		}
		return
	}
	if c, ok := e.(ConsoleEvent); ok {
		if len(c.Data) > 0 {
			p.w.Write(c.Data)
			p.midLine = c.Data[len(c.Data)-1] != '\n'
		}
		return
	}
	line := PlainLine(e, p.o.Quiet)
	if line == "" {
		return
	}
	if p.midLine {
		p.w.WriteByte('\n')
		p.midLine = false
	}
	fmt.Fprintln(p.w, line)
}

// eventTypes names each event type in JSON output.
func eventType(e Event) string {
	name := reflect.TypeOf(e).Name()
	return strings.ToLower(strings.TrimSuffix(name, "Event"))
}

// MarshalEvent encodes an event as one JSON object with a "type" field
// ("state", "build", "console", "stop", ...) beside the event's fields.
func MarshalEvent(e Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	typ, _ := json.Marshal(eventType(e))
	if string(body) == "{}" {
		return []byte(`{"type":` + string(typ) + `}`), nil
	}
	return append([]byte(`{"type":`+string(typ)+`,`), body[1:]...), nil
}

// PlainLine renders an event as text for a terminal log ("" to skip).
func PlainLine(e Event, quiet bool) string {
	switch e := e.(type) {
	case StateEvent:
		if e.Detail != "" {
			return fmt.Sprintf("[%s] %s", e.State, e.Detail)
		}
		return fmt.Sprintf("[%s]", e.State)
	case BuildEvent:
		switch e.Phase {
		case BuildStarted:
			if len(e.Trigger) > 0 {
				return fmt.Sprintf("[build] %s changed: building", shortList(e.Trigger))
			}
			return "[build] building"
		case BuildOK:
			return fmt.Sprintf("[build] ok in %s: %d compiled, %d cached, %d bytes%s", ms(e.Duration), e.Compiled, e.Cached, e.ImageBytes, diagSummary(e.Diagnostics))
		default:
			var b strings.Builder
			fmt.Fprintf(&b, "[build] FAILED in %s", ms(e.Duration))
			if e.Error != "" {
				b.WriteString(": " + e.Error)
			}
			for _, d := range e.Diagnostics {
				fmt.Fprintf(&b, "\n  %s:%d:%d: %s: %s", d.File, d.Line, d.Col, d.Severity, d.Message)
			}
			return b.String()
		}
	case ConsoleEvent:
		return strings.TrimSuffix(string(e.Data), "\n")
	case StopEvent:
		var b strings.Builder
		fmt.Fprintf(&b, "[stop] %s", e.Snap.Detail)
		for _, f := range e.Snap.Frames {
			fmt.Fprintf(&b, "\n  #%-2d %s", f.Index, formatFrame(f))
		}
		for _, v := range e.Snap.Vars {
			fmt.Fprintf(&b, "\n  %s = %s", v.Name, v.Value)
		}
		return b.String()
	case FrameEvent:
		var b strings.Builder
		fmt.Fprintf(&b, "[frame] #%d %s", e.Index, formatFrame(e.Frame))
		for _, v := range e.Vars {
			fmt.Fprintf(&b, "\n  %s = %s", v.Name, v.Value)
		}
		return b.String()
	case ExitEvent:
		return fmt.Sprintf("[exit] status %d (%s)", e.Exit.Status, e.Exit.How)
	case FaultEvent:
		return "[fault] " + strings.TrimRight(e.Report, "\n")
	case BreakpointsEvent:
		if quiet {
			return ""
		}
		var parts []string
		for _, bp := range e.List {
			s := fmt.Sprintf("%d:%s", bp.ID, bp.Spec)
			if len(bp.Addrs) > 0 {
				s += fmt.Sprintf("@%#x", bp.Addrs[0])
			} else {
				s += "(pending)"
			}
			parts = append(parts, s)
		}
		return "[breakpoints] " + strings.Join(parts, " ")
	case ReloadEvent:
		t := e.Timeline
		return fmt.Sprintf("[reload] save→running %s: detect %s, build %s, boot %s, attach %s", ms(t.Total), ms(t.Detect), ms(t.Build), ms(t.Boot), ms(t.Attach))
	case OutputEvent:
		if e.Error {
			return "error: " + e.Text
		}
		return e.Text
	case LogEvent:
		return "[log] " + e.Msg
	case TraceEvent:
		var b strings.Builder
		for _, r := range e.Records {
			var what string
			switch r.Kind {
			case TraceEnter:
				what = "→ " + r.Name
			case TraceExit:
				what = "← " + r.Name
			default:
				what = "• " + r.Name
				if r.Text != "" {
					what += " " + r.Text
				}
			}
			fmt.Fprintf(&b, "[trace] %10s %s%s\n", r.At.Round(time.Microsecond), strings.Repeat("  ", max(r.Depth, 0)), what)
		}
		if e.Warning != "" {
			b.WriteString("[trace] warning: " + e.Warning + "\n")
		}
		if e.Final {
			fmt.Fprintf(&b, "[trace] %d records, %d dropped\n", e.Total, e.Dropped)
		}
		return strings.TrimRight(b.String(), "\n")
	case ProfileEvent:
		if e.Err != "" {
			return "[profile] " + e.Err
		}
		if e.Running {
			return ""
		}
		var b strings.Builder
		fmt.Fprintf(&b, "[profile] %d samples at %d Hz in %s", e.Samples, e.Hz, e.Elapsed.Round(time.Millisecond))
		for _, f := range e.Top {
			fmt.Fprintf(&b, "\n  %5.1f%% self %5.1f%% total  %s", f.SelfPct, f.TotalPct, f.Name)
		}
		return b.String()
	case LayersEvent:
		if quiet {
			return ""
		}
		var b strings.Builder
		b.WriteString("[layers]")
		for _, ly := range e.Layers {
			mark := " "
			if ly.Selected {
				mark = "*"
			}
			fmt.Fprintf(&b, "\n  %s %s", mark, ly.Name)
		}
		if e.Problem != "" {
			b.WriteString("\n  problem: " + e.Problem)
		}
		return b.String()
	case MemoryEvent:
		if e.Err != "" {
			return "error: " + e.Err
		}
		return fmt.Sprintf("[memory] %d bytes at %#x", len(e.Data), e.Addr)
	case LocationEvent:
		if e.Err != "" {
			return "error: " + e.Err
		}
		return strings.Join(e.Listing, "\n")
	case SourceEvent, DisasmEvent:
		if quiet {
			return ""
		}
		if d, ok := e.(DisasmEvent); ok {
			var b strings.Builder
			for _, a := range d.Lines {
				fmt.Fprintf(&b, "%#x: %s\n", a.Addr, a.Text)
			}
			return strings.TrimRight(b.String(), "\n")
		}
		return ""
	}
	return ""
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func shortList(files []string) string {
	var out []string
	for i, f := range files {
		if i == 3 {
			out = append(out, fmt.Sprintf("+%d", len(files)-3))
			break
		}
		out = append(out, shortPath(f))
	}
	return strings.Join(out, ", ")
}

func diagSummary(ds []Diagnostic) string {
	n := 0
	for _, d := range ds {
		if d.Severity == "warning" {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d warning%s", n, plural(n))
}
