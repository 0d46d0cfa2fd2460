package guest

import (
	"runtime"
	"testing"
	"time"
)

func TestBroadcasterDeliversInOrderToEverySubscriber(t *testing.T) {
	var b Broadcaster
	c1, cancel1 := b.Subscribe()
	defer cancel1()
	c2, cancel2 := b.Subscribe()
	defer cancel2()
	for i := 0; i < 1000; i++ {
		b.Publish(ConsoleEvent{Data: []byte{byte(i)}})
	}
	b.Publish(ExitEvent{Exit: Exit{Status: 7}})
	b.Close()
	for _, c := range []<-chan Event{c1, c2} {
		n := 0
		var last Event
		for e := range c {
			if ce, ok := e.(ConsoleEvent); ok {
				if ce.Data[0] != byte(n) {
					t.Fatalf("event %d out of order: got %d", n, ce.Data[0])
				}
				n++
			}
			last = e
		}
		if n != 1000 {
			t.Fatalf("got %d console events, want 1000", n)
		}
		if ex, ok := last.(ExitEvent); !ok || ex.Exit.Status != 7 {
			t.Fatalf("last event %#v, want exit 7", last)
		}
	}
}

func TestBroadcasterSlowSubscriberDoesNotBlockPublisher(t *testing.T) {
	var b Broadcaster
	c, cancel := b.Subscribe()
	done := make(chan struct{})
	go func() {
		for i := 0; i < MaxQueued+500; i++ {
			b.Publish(ConsoleEvent{Data: []byte("x")})
		}
		b.Publish(StopEvent{Stop: Stop{Reason: StopInterrupt}})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher blocked on a subscriber that does not read")
	}
	b.Close()
	var sawDrop, sawStop bool
	for e := range c {
		switch e.(type) {
		case LogEvent:
			sawDrop = true
		case StopEvent:
			sawStop = true
		}
	}
	cancel()
	if !sawDrop || !sawStop {
		t.Fatalf("drop notice %v, stop kept %v; want both", sawDrop, sawStop)
	}
}

func TestBroadcasterCancelEndsPump(t *testing.T) {
	var b Broadcaster
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		_, cancel := b.Subscribe()
		b.Publish(LogEvent{Msg: "x"})
		cancel()
		cancel()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left after cancel, had %d", n, before)
	}
	b.Close()
	c, _ := b.Subscribe()
	if _, ok := <-c; ok {
		t.Fatal("subscription after Close must be closed")
	}
}
