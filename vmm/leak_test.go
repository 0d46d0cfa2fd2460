package vmm

import (
	"os"
	"runtime"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestManyBootsLeakNothing boots 200 guests in one process (a mix of
// exits, faults, interrupts and kills) and checks that file descriptors
// and goroutines come back to where they were.
func TestManyBootsLeakNothing(t *testing.T) {
	testenv.KVM(t)
	testenv.Short(t, "200 boots take a few seconds")
	img := buildGuest(t, "guest64.S", "elf64")
	// One boot first, so that lazily created runtime state is not counted.
	boot(t, img, "0", nil)
	runtime.GC()
	fds, gos := openFDs(t), runtime.NumGoroutine()
	for i := 0; i < 200; i++ {
		cfg := guest.Config{Image: img, Cmdline: "1", Timeout: 10 * time.Second}
		switch i % 4 {
		case 1:
			cfg.Cmdline = "u" // a crash record
		case 2:
			cfg.Cmdline = "t" // a triple fault
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatalf("boot %d: %v", i, err)
		}
		if i%4 == 3 {
			m.Close() // closed at entry, never run
			continue
		}
		r := runToEnd(t, m, false)
		if r.exit == nil && r.fault == nil {
			t.Fatalf("boot %d did not end", i)
		}
		m.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && runtime.NumGoroutine() > gos {
		time.Sleep(10 * time.Millisecond)
	}
	if n := openFDs(t); n > fds {
		t.Fatalf("%d fds open after 200 boots, %d before", n, fds)
	}
	if n := runtime.NumGoroutine(); n > gos {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after 200 boots, %d before\n%s", n, gos, buf[:runtime.Stack(buf, true)])
	}
}
