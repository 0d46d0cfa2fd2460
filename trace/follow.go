package trace

import "ukw/guest"

// Follower follows a guest's trace ring for whoever drives the machine (a
// session, or Collect): feed it the machine's events with Handle and call
// Poll periodically while the guest runs. It owns the Reader and the
// Trace; it is not safe for concurrent use.
type Follower struct {
	// Trace accumulates everything read.
	Trace *Trace
	// Warnings are ring problems that stopped reading (a corrupt header).
	Warnings []string
	// Polls counts ring reads; Announced reports a TRACE_RING hypercall.
	Polls     int
	Announced bool

	mem    Memory
	live   bool
	rd     *Reader
	broken bool
}

// NewFollower prepares to read the ring of m, found at first by im's ELF
// symbol and later by the guest's TRACE_RING announcement. m's memory is
// read while it runs when it offers guest.LiveMemory, else only when it is
// stopped or finished.
func NewFollower(im *Image, m guest.Machine) *Follower {
	f := &Follower{Trace: NewTrace(im), mem: MachineMemory(m)}
	if lm, ok := m.(guest.LiveMemory); ok {
		if pm, err := lm.LiveMemory(); err == nil {
			f.mem, f.live = pm, true
		}
	}
	if addr, ok := im.Ring(); ok {
		f.rd = NewReader(f.mem, addr, f.live)
	}
	return f
}

// Live reports whether the ring can be read while the guest runs.
func (f *Follower) Live() bool { return f.live }

// Ring is the ring's guest-physical address (0 when there is none).
func (f *Follower) Ring() uint64 {
	if f.rd == nil {
		return 0
	}
	return f.rd.Addr()
}

// Dropped is what the guest or the reader lost.
func (f *Follower) Dropped() uint64 {
	if f.rd == nil {
		return 0
	}
	return f.rd.Dropped()
}

// Poll reads what a running guest committed since the last read. It does
// nothing when the memory cannot be read while the guest runs.
func (f *Follower) Poll() []Event {
	if !f.live {
		return nil
	}
	return f.poll(false, true)
}

// Handle takes one machine event: a TRACE_RING announcement (re)starts
// the reader at the announced address; a stop reads everything committed
// so far; an exit or fault reads the rest, skipping slots that will never
// be committed. It returns the events read.
func (f *Follower) Handle(e guest.Event) []Event {
	switch e := e.(type) {
	case guest.TraceEvent:
		f.Announced = true
		if f.rd == nil || f.rd.Addr() != e.Ring.Addr {
			f.rd, f.broken = NewReader(f.mem, e.Ring.Addr, f.live), false
		}
	case guest.StopEvent:
		return f.poll(false, false)
	case guest.ExitEvent, guest.FaultEvent:
		return f.poll(true, false)
	}
	return nil
}

// poll reads the ring; running says whether the guest may be running
// (slot by slot, commit word first) or not (in bulk).
func (f *Follower) poll(final, running bool) []Event {
	if f.rd == nil || f.broken {
		return nil
	}
	f.Polls++
	f.rd.SetLive(running)
	var recs []Record
	var err error
	if final {
		recs, err = f.rd.PollFinal()
	} else {
		recs, err = f.rd.Poll()
	}
	var evs []Event
	if len(recs) > 0 {
		evs = f.Trace.Add(recs)
	}
	if err != nil {
		f.Warnings = append(f.Warnings, err.Error())
		f.broken = true
	}
	return evs
}
