package tui

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"ukw/internal/testenv"
	"ukw/session"
)

// floodBackend is a session whose guest floods the console: ConsoleEvents
// of chunk bytes at rate bytes/s (0: as fast as the UI takes them).
type floodBackend struct {
	recorder
	ch chan session.Event
}

func (f *floodBackend) Events() <-chan session.Event { return f.ch }

// flood sends total bytes (forever when total is 0) until ctx ends; it
// returns when done.
func (f *floodBackend) flood(ctx context.Context, total, rate, chunk int) {
	line := []byte("0123 the guest is printing as fast as it can, line after line after line\n")
	buf := bytes.Repeat(line, chunk/len(line)+1)[:chunk]
	start := time.Now()
	for sent := 0; total == 0 || sent < total; sent += chunk {
		if rate > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		data := buf
		if total > 0 && total-sent < chunk {
			data = buf[:total-sent]
		}
		select {
		case f.ch <- session.ConsoleEvent{Data: data}:
		case <-ctx.Done():
			return
		}
	}
}

// floodRig runs the real Bubble Tea program (standard renderer, 80x24)
// against a flooding backend.
type floodRig struct {
	p     *tea.Program
	b     *floodBackend
	out   *testenv.Screen
	done  chan tea.Model
	typed string
}

func newFloodRig(tb testing.TB) *floodRig {
	r := &floodRig{b: &floodBackend{ch: make(chan session.Event, 64)}, out: testenv.NewScreen(), done: make(chan tea.Model, 1)}
	r.p = tea.NewProgram(New(r.b, Options{Renderer: asciiRenderer()}),
		tea.WithInput(nil), tea.WithOutput(r.out), tea.WithoutSignals())
	go func() {
		m, err := r.p.Run()
		if err != nil {
			tb.Error(err)
		}
		r.done <- m
	}()
	r.p.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	r.p.Send(press(":"))
	return r
}

// keystroke types one more character on the command line and returns the
// time from the key press to the frame that shows it.
func (r *floodRig) keystroke(tb testing.TB, c byte) time.Duration {
	if len(r.typed) >= 60 {
		r.typed = ""
		r.p.Send(press("ctrl+u"))
	}
	r.typed += string(c)
	r.out.Expect("(ukw) " + r.typed)
	t0 := time.Now()
	r.p.Send(press(string(c)))
	return r.out.Await(tb, fmt.Sprintf("the key %q", c), 10*time.Second).Sub(t0)
}

func (r *floodRig) stop() *Model {
	r.p.Quit()
	return (<-r.done).(*Model)
}

// TestKeysUnderConsoleFlood floods 10 MB of console output at 10 MB/s in
// 4 KiB events while typing, and checks that every key reaches the screen
// promptly, during the flood, and that no console byte is lost.
func TestKeysUnderConsoleFlood(t *testing.T) {
	const total, rate = 10 << 20, 10 << 20
	r := newFloodRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flooded := make(chan struct{})
	go func() { r.b.flood(ctx, total, rate, 4096); close(flooded) }()

	var lat []time.Duration
	during := 0
	for i := 0; ; i++ {
		select {
		case <-flooded:
		default:
			during++
			lat = append(lat, r.keystroke(t, byte('a'+i%26)))
			time.Sleep(20 * time.Millisecond)
			continue
		}
		break
	}
	m := r.stop()
	slices.Sort(lat)
	p50, worst := lat[len(lat)/2], lat[len(lat)-1]
	t.Logf("%d keys during a %d MB flood at %d MB/s: key→frame p50 %v, max %v", len(lat), total>>20, rate>>20, p50, worst)
	if during < 5 {
		t.Errorf("only %d keys were handled while the flood ran", during)
	}
	// A frozen UI takes seconds for every key; a responsive one a frame or
	// two (16 ms each). The bounds leave room for a loaded machine (other
	// processes can starve this one for a while), not for a freeze.
	if p50 > 250*time.Millisecond || worst > 5*time.Second {
		t.Errorf("keys took p50 %v, max %v to reach the screen during the flood", p50, worst)
	}
	// Every byte arrived: wait for the channel to drain into the model.
	if got := m.console.Bytes(); got > total {
		t.Errorf("console pane got %d bytes, sent %d", got, total)
	}
}

// TestFloodNothingLost checks the pump's batching keeps every console byte
// and the scrollback stays capped.
func TestFloodNothingLost(t *testing.T) {
	b := &floodBackend{ch: make(chan session.Event, 64)}
	m := New(b, Options{Renderer: asciiRenderer(), Scrollback: 1000})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	const total = 10 << 20
	go func() { b.flood(context.Background(), total, 0, 1000); close(b.ch) }()
	cmd := m.Init()
	batches := 0
	for cmd != nil {
		msg := cmd()
		if _, ok := msg.(eventsMsg); !ok {
			t.Fatalf("unexpected %T", msg)
		}
		batches++
		_, cmd = m.Update(msg)
		_ = m.View()
	}
	if got := m.console.Bytes(); got != total {
		t.Fatalf("console got %d bytes, want %d", got, total)
	}
	if m.console.sb.count != 1000 {
		t.Errorf("scrollback holds %d lines, want the cap 1000", m.console.sb.count)
	}
	if batches > total/consoleBatch*4 {
		t.Errorf("%d batches for %d bytes: console events are not coalesced", batches, total)
	}
	t.Logf("10 MB in 1000-byte events arrived in %d batches", batches)
}

// BenchmarkKeyLatencyUnderConsoleFlood measures keypress-to-frame latency
// (until the frame that shows the key is written to the terminal) while
// the guest floods the console at 10 MB/s, through the real program and
// its renderer (which paints at most 60 frames a second).
func BenchmarkKeyLatencyUnderConsoleFlood(b *testing.B) { benchKeyLatency(b, 10<<20) }

// BenchmarkKeyLatencyIdle is the same without console output, for comparison.
func BenchmarkKeyLatencyIdle(b *testing.B) { benchKeyLatency(b, -1) }

func benchKeyLatency(b *testing.B, rate int) {
	r := newFloodRig(b)
	ctx, cancel := context.WithCancel(context.Background())
	if rate > 0 {
		go r.b.flood(ctx, 0, rate, 4096)
		time.Sleep(200 * time.Millisecond) // let the flood fill the scrollback
	}
	lat := make([]time.Duration, 0, b.N)
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// a person's keys fall at any phase of the renderer's frame clock
		time.Sleep(time.Duration(rand.IntN(int(17 * time.Millisecond))))
		lat = append(lat, r.keystroke(b, byte('a'+i%26)))
	}
	b.StopTimer()
	elapsed := time.Since(start)
	cancel()
	m := r.stop()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*95/100]), "p95-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	if rate > 0 {
		b.ReportMetric(float64(m.console.Bytes())/(1<<20)/(elapsed.Seconds()+0.2), "console-MB/s")
	}
}
