package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"ukw/guest"
)

// DefaultPeriod is how often Collect reads the ring of a running guest.
const DefaultPeriod = 10 * time.Millisecond

// CollectOptions configure Collect.
type CollectOptions struct {
	// Image names functions and tracepoints and locates the ring.
	Image *Image
	// Period between reads of a running guest's ring (DefaultPeriod when 0).
	// Only backends with guest.LiveMemory are read while running; the
	// others are read at every stop and at the end.
	Period time.Duration
	// Duration ends the guest (Kill) after this long; 0 runs it to its end.
	Duration time.Duration
	// Console receives the guest's console output (nil discards it).
	Console io.Writer
	// OnEvents, when set, receives every batch of decoded events as it is
	// read, in order (a live tail).
	OnEvents func([]Event)
}

// Outcome is how a collected run ended.
type Outcome struct {
	Exit  *guest.Exit
	Fault *guest.Fault
	// Killed reports that Collect ended the guest (Duration or ctx).
	Killed bool
	// Wall is the wall time from Continue to the end.
	Wall time.Duration
}

// Collection is what Collect gathered.
type Collection struct {
	Trace   *Trace
	Outcome Outcome
	// Ring is the ring's guest-physical address (0 when the guest had none).
	Ring uint64
	// Announced reports that the guest announced the ring (TRACE_RING).
	Announced bool
	// Live reports that the ring was read while the guest ran.
	Live bool
	// Polls counts ring reads; Dropped is what the guest or the reader lost.
	Polls   int
	Dropped uint64
	// Warnings are ring problems that stopped reading (a corrupt header).
	Warnings []string
}

// Collect runs m (stopped at entry, or stopped anywhere) to its end and
// reads its trace ring through a Follower: periodically while it runs
// when m offers guest.LiveMemory, at every stop (continuing after it) and
// once more at the end. ctx ending kills the guest.
func Collect(ctx context.Context, m guest.Machine, o CollectOptions) (*Collection, error) {
	if o.Image == nil {
		return nil, errors.New("trace: Collect needs an Image")
	}
	period := o.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	f := NewFollower(o.Image, m)
	c := &Collection{Trace: f.Trace, Live: f.Live()}
	deliver := func(evs []Event) {
		if len(evs) > 0 && o.OnEvents != nil {
			o.OnEvents(evs)
		}
	}
	finish := func() *Collection {
		c.Ring, c.Announced, c.Polls, c.Dropped, c.Warnings = f.Ring(), f.Announced, f.Polls, f.Dropped(), f.Warnings
		return c
	}

	ev, cancel := m.Subscribe()
	defer cancel()
	start := time.Now()
	if err := m.Continue(); err != nil {
		return nil, fmt.Errorf("trace: continue: %w", err)
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	var deadline <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		deadline = t.C
	}
	done := ctx.Done()
	kill := func() {
		if !c.Outcome.Killed {
			c.Outcome.Killed = true
			deliver(f.Poll()) // what the guest wrote before it was killed
			m.Kill()
		}
	}
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				return finish(), errors.New("trace: machine closed before the guest ended")
			}
			if ce, ok := e.(guest.ConsoleEvent); ok && o.Console != nil {
				o.Console.Write(ce.Data)
			}
			deliver(f.Handle(e))
			switch e := e.(type) {
			case guest.StopEvent:
				if c.Outcome.Killed {
					continue
				}
				if err := m.Continue(); err != nil {
					return finish(), fmt.Errorf("trace: continue after %v stop: %w", e.Stop.Reason, err)
				}
			case guest.ExitEvent:
				c.Outcome.Exit, c.Outcome.Wall = &e.Exit, time.Since(start)
				return finish(), nil
			case guest.FaultEvent:
				c.Outcome.Fault, c.Outcome.Wall = &e.Fault, time.Since(start)
				return finish(), nil
			}
		case <-tick.C:
			if m.State() == guest.Running {
				deliver(f.Poll())
			}
		case <-deadline:
			deadline = nil
			kill()
		case <-done:
			done = nil
			kill()
		}
	}
}
