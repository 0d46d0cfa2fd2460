package guest

import (
	"fmt"
	"sync"
)

// MaxQueued bounds how many undelivered events a Broadcaster keeps for one
// subscriber. Past it, console events are dropped (and counted in a
// LogEvent); stops, exits and faults are always kept.
const MaxQueued = 1 << 16

// Broadcaster fans events out to any number of subscribers. Publish never
// waits for a subscriber: each one has its own queue drained by its own
// goroutine. Backends embed one and expose its Subscribe.
// The zero value is ready to use.
type Broadcaster struct {
	mu     sync.RWMutex // Publish holds it shared; Subscribe, cancel and Close exclusively
	subs   map[int]*subscriber
	next   int
	closed bool
}

type subscriber struct {
	in     chan Event
	cancel chan struct{}
}

// Subscribe returns a channel of every event published from now on and a
// function ending the subscription. The channel closes after Close (once
// queued events are delivered) or after cancel. A subscriber must drain the
// channel until it closes or call cancel.
func (b *Broadcaster) Subscribe() (<-chan Event, func()) {
	out := make(chan Event)
	s := &subscriber{in: make(chan Event, 64), cancel: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(out)
		return out, func() {}
	}
	if b.subs == nil {
		b.subs = map[int]*subscriber{}
	}
	id := b.next
	b.next++
	b.subs[id] = s
	b.mu.Unlock()
	go s.pump(out)
	var once sync.Once
	return out, func() {
		once.Do(func() {
			b.mu.Lock()
			if _, ok := b.subs[id]; ok {
				delete(b.subs, id)
				close(s.in)
			}
			b.mu.Unlock()
			close(s.cancel)
		})
	}
}

// Publish delivers e to every current subscriber. It is a no-op after Close.
func (b *Broadcaster) Publish(e Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.subs {
		s.in <- e // the pump receives promptly: it only appends to its queue
	}
}

// Close ends every subscription once its queued events are delivered.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for id, s := range b.subs {
		close(s.in)
		delete(b.subs, id)
	}
}

func (s *subscriber) pump(out chan<- Event) {
	defer close(out)
	var q []Event
	dropped := 0
	in := s.in
	for in != nil || len(q) > 0 {
		var send chan<- Event
		var head Event
		if len(q) > 0 {
			send, head = out, q[0]
		}
		select {
		case e, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			if c, isConsole := e.(ConsoleEvent); isConsole && len(q) >= MaxQueued {
				dropped += len(c.Data)
				continue
			}
			if dropped > 0 {
				q = append(q, LogEvent{Msg: fmt.Sprintf("dropped %d console bytes: subscriber too slow", dropped)})
				dropped = 0
			}
			q = append(q, e)
		case send <- head:
			q[0] = nil
			q = q[1:]
		case <-s.cancel:
			return
		}
	}
}
