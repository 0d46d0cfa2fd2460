package testenv

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Screen is a terminal for a Bubble Tea program under test: an io.Writer
// that reports when a frame containing the expected text is written,
// without keeping the output (a flooding guest writes megabytes).
type Screen struct {
	mu   sync.Mutex
	want []byte
	tail []byte // the end of the output, in case the text spans writes
	seen chan time.Time
}

// NewScreen returns a Screen expecting nothing.
func NewScreen() *Screen { return &Screen{seen: make(chan time.Time, 1)} }

// Expect sets the text the next Await waits for.
func (w *Screen) Expect(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want, w.tail = []byte(s), nil
}

// Write implements io.Writer.
func (w *Screen) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.want == nil {
		return len(p), nil
	}
	buf := append(w.tail, p...)
	if bytes.Contains(buf, w.want) {
		w.want = nil
		select {
		case w.seen <- now:
		default:
		}
		return len(p), nil
	}
	w.tail = append(w.tail[:0], buf[max(len(buf)-len(w.want), 0):]...)
	return len(p), nil
}

// Await returns when the expected text was written, failing after timeout.
func (w *Screen) Await(tb testing.TB, what string, timeout time.Duration) time.Time {
	tb.Helper()
	select {
	case t := <-w.seen:
		return t
	case <-time.After(timeout):
		tb.Fatalf("no frame showing %s within %s", what, timeout)
		return time.Time{}
	}
}
