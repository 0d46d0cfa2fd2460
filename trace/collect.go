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
// reads its trace ring: periodically while it runs when m offers
// guest.LiveMemory, at every stop (continuing after it) and once more at
// the end. ctx ending kills the guest.
func Collect(ctx context.Context, m guest.Machine, o CollectOptions) (*Collection, error) {
	if o.Image == nil {
		return nil, errors.New("trace: Collect needs an Image")
	}
	period := o.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	c := &Collection{Trace: NewTrace(o.Image)}
	var mem Memory = MachineMemory(m)
	if lm, ok := m.(guest.LiveMemory); ok {
		if pm, err := lm.LiveMemory(); err == nil {
			mem, c.Live = pm, true
		}
	}
	var rd *Reader
	if addr, ok := o.Image.Ring(); ok {
		rd, c.Ring = NewReader(mem, addr, c.Live), addr
	}
	broken := false
	poll := func(final bool) {
		if rd == nil || broken {
			return
		}
		c.Polls++
		var recs []Record
		var err error
		if final {
			recs, err = rd.PollFinal()
		} else {
			recs, err = rd.Poll()
		}
		if len(recs) > 0 {
			evs := c.Trace.Add(recs)
			if o.OnEvents != nil {
				o.OnEvents(evs)
			}
		}
		if err != nil {
			c.Warnings = append(c.Warnings, err.Error())
			broken = true
		}
		c.Dropped = rd.Dropped()
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
			if c.Live {
				poll(false) // what the guest wrote before it was killed
			}
			m.Kill()
		}
	}
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				return c, errors.New("trace: machine closed before the guest ended")
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				if o.Console != nil {
					o.Console.Write(e.Data)
				}
			case guest.TraceEvent:
				c.Announced = true
				if rd == nil || rd.Addr() != e.Ring.Addr {
					rd, c.Ring, broken = NewReader(mem, e.Ring.Addr, c.Live), e.Ring.Addr, false
				}
			case guest.StopEvent:
				if rd != nil {
					rd.SetLive(false)
				}
				poll(false)
				if rd != nil {
					rd.SetLive(c.Live)
				}
				if c.Outcome.Killed {
					continue
				}
				if err := m.Continue(); err != nil {
					return c, fmt.Errorf("trace: continue after %v stop: %w", e.Stop.Reason, err)
				}
			case guest.ExitEvent:
				c.Outcome.Exit = &e.Exit
				return c.finish(rd, poll, start), nil
			case guest.FaultEvent:
				c.Outcome.Fault = &e.Fault
				return c.finish(rd, poll, start), nil
			}
		case <-tick.C:
			if c.Live && m.State() == guest.Running {
				poll(false)
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

func (c *Collection) finish(rd *Reader, poll func(bool), start time.Time) *Collection {
	c.Outcome.Wall = time.Since(start)
	if rd != nil {
		rd.SetLive(false)
	}
	poll(true)
	return c
}
