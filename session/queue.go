package session

import (
	"strconv"
	"sync"
)

// maxConsoleQueued bounds the console bytes waiting for a slow front end;
// older ones are dropped first, and the front end is told how many.
const maxConsoleQueued = 4 << 20

// queue is the session's outbound event queue: unbounded for everything but
// console output, which is coalesced (consecutive chunks become one event)
// and capped, so a guest printing 10 MB/s never stalls the loop and a front
// end gets few, large console events.
type queue struct {
	mu      sync.Mutex
	items   []Event
	console int // bytes in queued ConsoleEvents
	dropped int
	wake    chan struct{}
	out     chan Event
	closed  bool
}

func newQueue() *queue {
	q := &queue{wake: make(chan struct{}, 1), out: make(chan Event)}
	go q.pump()
	return q
}

func (q *queue) put(e Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if c, ok := e.(ConsoleEvent); ok {
		q.console += len(c.Data)
		if n := len(q.items); n > 0 {
			if last, ok := q.items[n-1].(ConsoleEvent); ok {
				q.items[n-1] = ConsoleEvent{Data: append(last.Data, c.Data...)}
				q.trimConsole()
				q.mu.Unlock()
				q.signal()
				return
			}
		}
		e = ConsoleEvent{Data: append([]byte(nil), c.Data...)}
	}
	q.items = append(q.items, e)
	q.trimConsole()
	q.mu.Unlock()
	q.signal()
}

// trimConsole drops the oldest queued console bytes beyond the cap.
func (q *queue) trimConsole() {
	for i := 0; q.console > maxConsoleQueued && i < len(q.items); i++ {
		c, ok := q.items[i].(ConsoleEvent)
		if !ok {
			continue
		}
		cut := min(q.console-maxConsoleQueued, len(c.Data))
		q.items[i] = ConsoleEvent{Data: c.Data[cut:]}
		q.console -= cut
		q.dropped += cut
	}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) pump() {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			<-q.wake
			continue
		}
		e := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		if c, ok := e.(ConsoleEvent); ok {
			q.console -= len(c.Data)
		}
		dropped := q.dropped
		q.dropped = 0
		q.mu.Unlock()
		if dropped > 0 {
			q.out <- LogEvent{Msg: "console: dropped " + strconv.Itoa(dropped) + " bytes the front end could not keep up with"}
		}
		if c, ok := e.(ConsoleEvent); ok && len(c.Data) == 0 {
			continue
		}
		q.out <- e
	}
}
