package session

import (
	"errors"
	"sync"
	"time"

	"ukw/guest"
	"ukw/trace"
)

// Tracing and profiling in the dev loop, off the loop goroutine where it
// can be.
//
// A guest with a trace ring (the ELF symbol ukw_trace_ring, or a
// TRACE_RING announcement) gets a trace.Follower. When the backend's RAM
// can be read while the guest runs (guest.LiveMemory, the native VMM) a
// goroutine polls the ring every tracePollPeriod and emits each batch as a
// TraceEvent itself; the loop never waits for it (beyond one poll in
// progress, when the two meet). At a stop the loop reports, and at the
// exit or fault, the loop reads the ring itself, so the TraceEvent that
// completes the trace follows the StopEvent (or ExitEvent, FaultEvent)
// directly. Backends whose memory can only be read while stopped are read
// at those moments only.
//
// A Profile command starts a goroutine that samples the running guest with
// a trace.StackSampler (the vCPU is held only to copy registers and stack)
// and emits ProfileEvent snapshots.

// tracePollPeriod is how often a running guest's ring is read.
const tracePollPeriod = 50 * time.Millisecond

// traceKeep bounds the spans and tracepoints a session's trace.Trace keeps
// (the records themselves go out in TraceEvents; the tree is complete anyway).
const traceKeep = 1024

// Profile defaults and bounds.
const (
	defaultProfileHz       = 250
	maxProfileHz           = 10000
	defaultProfileDuration = 5 * time.Second
	maxProfileDuration     = 10 * time.Minute
	profileSnapshotEvery   = 250 * time.Millisecond
	profileTop             = 30
)

// traceState is the loop's tracing and profiling state (loop.tr).
type traceState struct {
	tscHz func() float64 // the host TSC rate, measured once per session
	f     *follower      // nil when the guest has no ring (yet)
	prof  *profiler      // nil unless a profile runs
}

// follower drives a trace.Follower for one guest. mu serialises the
// polling goroutine and the loop.
type follower struct {
	mu     sync.Mutex
	emit   func(Event)
	f      *trace.Follower
	tscHz  func() float64
	first  uint64 // TSC of the guest's first record
	total  uint64
	final  bool // the final batch was sent
	warned bool

	quit chan struct{} // live mode: ends the polling goroutine
	done chan struct{}
}

// traceAdopt starts following a new guest's ring when its ELF names one.
func (l *loop) traceAdopt() {
	if l.tr.tscHz == nil {
		l.tr.tscHz = sync.OnceValue(trace.HostTSCHz)
	}
	l.startFollower(false)
}

// startFollower creates the follower for l.m; announced says a TRACE_RING
// hypercall told where the ring is (without it, only an ELF symbol does).
func (l *loop) startFollower(announced bool) {
	if l.tr.f != nil || l.m == nil || l.sym == nil {
		return
	}
	im, err := trace.NewImage(l.sym)
	if err != nil {
		l.emit(LogEvent{Msg: "trace: " + err.Error()})
		return
	}
	if _, ok := im.Ring(); !ok && !announced {
		return
	}
	tf := trace.NewFollower(im, l.m)
	tf.Trace.Keep = traceKeep
	fw := &follower{emit: l.emit, f: tf, tscHz: l.tr.tscHz}
	l.tr.f = fw
	go l.tr.tscHz() // measured while the guest starts
	if tf.Live() {
		fw.quit, fw.done = make(chan struct{}), make(chan struct{})
		go fw.poll()
	}
}

// traceMachineEvent reads the ring for the machine events that need it:
// the ring announcement, stops the loop reported (not those of a step or
// a pause it continues by itself), the end.
func (l *loop) traceMachineEvent(ev guest.Event) {
	switch ev.(type) {
	case guest.TraceEvent:
		l.startFollower(true)
	case guest.StopEvent:
		if l.stop == nil {
			return
		}
	case guest.ExitEvent, guest.FaultEvent:
		if l.tr.prof != nil {
			l.tr.prof.end()
		}
	default:
		return
	}
	if fw := l.tr.f; fw != nil {
		fw.mu.Lock()
		defer fw.mu.Unlock()
		if fw.final {
			return
		}
		_, end := ev.(guest.ExitEvent)
		if _, fault := ev.(guest.FaultEvent); fault {
			end = true
		}
		fw.send(fw.f.Handle(ev), end)
	}
}

// traceClose is called before the machine is closed: the profiler stops,
// the follower reads what is left and sends its final batch.
func (l *loop) traceClose() {
	if p := l.tr.prof; p != nil {
		p.stop()
		l.tr.prof = nil
	}
	if fw := l.tr.f; fw != nil {
		if fw.quit != nil {
			close(fw.quit)
			<-fw.done
		}
		if !fw.final {
			fw.send(fw.f.Poll(), true)
		}
		l.tr.f = nil
	}
}

// traceCommand runs the tracing commands; it reports whether c was one.
func (l *loop) traceCommand(c Command) bool {
	switch c := c.(type) {
	case Profile:
		l.startProfile(c)
	case StopProfile:
		if l.tr.prof == nil {
			l.s.errorf("no profile is running")
		} else {
			l.tr.prof.end()
		}
	default:
		return false
	}
	return true
}

// poll is the live follower's goroutine: it reads the ring of the running
// guest every tracePollPeriod until the final batch or quit.
func (fw *follower) poll() {
	defer close(fw.done)
	tick := time.NewTicker(tracePollPeriod)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fw.mu.Lock()
			final := fw.final
			if !final {
				fw.send(fw.f.Poll(), false)
			}
			fw.mu.Unlock()
			if final {
				return
			}
		case <-fw.quit:
			return
		}
	}
}

// send emits a batch (an empty one only when final or with a warning).
func (fw *follower) send(evs []trace.Event, final bool) {
	warning := ""
	if n := len(fw.f.Warnings); n > 0 && !fw.warned {
		fw.warned, warning = true, fw.f.Warnings[n-1]
	}
	if len(evs) == 0 && !final && warning == "" {
		return
	}
	if fw.first == 0 {
		fw.first = fw.f.Trace.FirstTSC
	}
	recs := make([]TraceRecord, len(evs))
	clock := trace.Clock{Hz: fw.tscHz()}
	for i, e := range evs {
		recs[i] = fw.record(e, clock)
	}
	fw.total += uint64(len(evs))
	fw.final = final
	fw.emit(TraceEvent{Records: recs, Total: fw.total, Dropped: fw.f.Dropped(), Final: final, Warning: warning})
}

// record converts a decoded trace event into the session's immutable form.
func (fw *follower) record(e trace.Event, clock trace.Clock) TraceRecord {
	r := TraceRecord{Index: e.Index, Name: e.Name(), Depth: e.Depth, In: e.In}
	if e.TSC > fw.first {
		r.Ticks = e.TSC - fw.first
	}
	r.At = clock.Duration(r.Ticks)
	switch e.Type {
	case trace.RecPoint:
		r.Kind, r.Text = TracePoint, e.Text
	case trace.RecEnter:
		r.Kind = TraceEnter
	case trace.RecExit:
		r.Kind = TraceExit
	}
	r.File, r.Line = e.Source()
	return r
}

// profiler samples one guest for one Profile command.
type profiler struct {
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// end asks the profiler to finish (its last snapshot follows); it never blocks.
func (p *profiler) end() { p.once.Do(func() { close(p.quit) }) }

// stop ends the profiler and waits for its last snapshot.
func (p *profiler) stop() {
	p.end()
	<-p.done
}

func (l *loop) startProfile(c Profile) {
	if p := l.tr.prof; p != nil {
		select {
		case <-p.done:
			l.tr.prof = nil
		default:
			l.s.errorf("a profile is already running (StopProfile ends it)")
			return
		}
	}
	fail := func(msg string) {
		l.emit(ProfileEvent{Err: msg})
		l.s.errorf("profile: %s", msg)
	}
	if l.m == nil || l.m.State() == guest.Finished {
		fail("no guest is running")
		return
	}
	if l.sym == nil {
		fail("no symbols to unwind with (no ELF)")
		return
	}
	ss, err := trace.NewStackSampler(l.m, l.sym)
	if err != nil {
		fail(err.Error())
		return
	}
	hz := c.Hz
	if hz <= 0 {
		hz = defaultProfileHz
	}
	hz = min(hz, maxProfileHz)
	d := c.Duration
	if d <= 0 {
		d = defaultProfileDuration
	}
	d = min(d, maxProfileDuration)
	p := &profiler{quit: make(chan struct{}), done: make(chan struct{})}
	l.tr.prof = p
	m, emit := l.m, l.emit
	go p.run(m, ss, hz, d, emit)
}

// run samples m until the duration is over, the guest ends or end is called.
func (p *profiler) run(m guest.Machine, ss *trace.StackSampler, hz int, d time.Duration, emit func(Event)) {
	defer close(p.done)
	prof := trace.NewProfile()
	failed := 0
	start := time.Now()
	snapshot := func(running bool) {
		ev := ProfileEvent{Running: running, Hz: hz, Duration: d, Elapsed: time.Since(start), Samples: prof.Samples, Failed: failed}
		for _, s := range prof.Top(profileTop) {
			ev.Top = append(ev.Top, ProfileFunc{Name: s.Name, Self: s.Self, Total: s.Total,
				SelfPct: pct(s.Self, prof.Samples), TotalPct: pct(s.Total, prof.Samples)})
		}
		emit(ev)
	}
	snapshot(true)
	tick := time.NewTicker(time.Second / time.Duration(hz))
	defer tick.Stop()
	snap := time.NewTicker(profileSnapshotEvery)
	defer snap.Stop()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case <-tick.C:
			switch m.State() {
			case guest.Finished:
				snapshot(false)
				return
			case guest.Running:
				stack, _, err := ss.Sample()
				if errors.Is(err, guest.ErrFinished) {
					snapshot(false)
					return
				}
				if err != nil {
					failed++
					continue
				}
				prof.Add(stack)
			}
		case <-snap.C:
			snapshot(true)
		case <-deadline.C:
			snapshot(false)
			return
		case <-p.quit:
			snapshot(false)
			return
		}
	}
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
