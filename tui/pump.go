package tui

import (
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// Batch limits: one eventsMsg carries at most this many events, and stops
// taking console bytes past consoleBatch, so a single Update stays short
// and key presses interleave with a console flood.
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

// waitEvents returns a command that blocks (on its own goroutine) until the
// session has an event, then drains what is ready without blocking, up to
// the batch limits. The root model issues it again after each batch, so at
// most one batch is ever in flight.
func waitEvents(ch <-chan session.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsMsg{closed: true}
		}
		var b batcher
		b.add(ev)
		for len(b.events) < maxBatch && b.console < consoleBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return eventsMsg{events: b.events, closed: true}
				}
				b.add(ev)
			default:
				return eventsMsg{events: b.events}
			}
		}
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
