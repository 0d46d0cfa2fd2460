package tui

import (
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// Batch limits: one eventsMsg carries at most maxBatch events and about
// consoleBatch console bytes (a bigger ConsoleEvent is split across
// batches), so a single Update stays short and key presses interleave
// with a console flood.
const (
	maxBatch     = 512
	consoleBatch = 256 << 10
)

// eventsMsg is a batch of session events, read off the UI goroutine.
// Consecutive ConsoleEvents are coalesced into one.
type eventsMsg struct {
	events []session.Event
	closed bool // the session closed its event channel
}

// eventReader reads the session's events for the UI. Only one read is in
// flight at a time (the root model issues the next after handling a
// batch), so carry needs no lock: the message hand-off orders the accesses.
type eventReader struct {
	ch    <-chan session.Event
	carry []byte // console bytes split off a big event, delivered first
}

// next returns a command that waits (on its own goroutine) until the
// session has an event, then drains what is ready without blocking, up to
// the batch limits.
func (r *eventReader) next() tea.Cmd {
	return func() tea.Msg {
		var b batcher
		if len(r.carry) > 0 {
			b.add(session.ConsoleEvent{Data: r.carry})
			r.carry = nil
		} else {
			ev, ok := <-r.ch
			if !ok {
				return eventsMsg{closed: true}
			}
			b.add(ev)
		}
		for len(b.events) < maxBatch && b.console < consoleBatch {
			select {
			case ev, ok := <-r.ch:
				if !ok {
					return eventsMsg{events: b.events, closed: true}
				}
				b.add(ev)
				continue
			default:
			}
			break
		}
		r.carry = b.split()
		return eventsMsg{events: b.events}
	}
}

// batcher collects events, merging runs of console output into one event
// with a fresh buffer (events are immutable: their data is never appended to).
type batcher struct {
	events  []session.Event
	console int
	merged  bool // the last event is a ConsoleEvent this batcher owns
}

func (b *batcher) add(ev session.Event) {
	c, ok := ev.(session.ConsoleEvent)
	if !ok {
		b.events = append(b.events, ev)
		b.merged = false
		return
	}
	b.console += len(c.Data)
	n := len(b.events)
	if n > 0 {
		if last, ok := b.events[n-1].(session.ConsoleEvent); ok {
			if !b.merged {
				last.Data = append([]byte(nil), last.Data...)
				b.merged = true
			}
			last.Data = append(last.Data, c.Data...)
			b.events[n-1] = last
			return
		}
	}
	b.events = append(b.events, ev)
	b.merged = false
}

// split cuts a console event that ends the batch past consoleBatch bytes
// and returns the excess for the next batch. Only the last event can be
// cut, so the order of events is kept.
func (b *batcher) split() []byte {
	n := len(b.events)
	if n == 0 || b.console <= consoleBatch {
		return nil
	}
	last, ok := b.events[n-1].(session.ConsoleEvent)
	if !ok {
		return nil
	}
	keep := max(len(last.Data)-(b.console-consoleBatch), 0)
	if keep == 0 {
		keep = min(len(last.Data), consoleBatch)
	}
	rest := last.Data[keep:]
	b.events[n-1] = session.ConsoleEvent{Data: last.Data[:keep]}
	return rest
}
