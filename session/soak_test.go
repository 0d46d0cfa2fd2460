package session

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// soakSample is the process's resource use after some reload cycles.
type soakSample struct {
	cycle      int
	fds        int
	goroutines int
	rssKiB     int
	heapKiB    int           // Go heap in use after a collection
	took       time.Duration // since the previous sample
}

func sampleProcess(tb testing.TB, cycle int) soakSample {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	rss := -1
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return soakSample{cycle: cycle, fds: len(fds), goroutines: runtime.NumGoroutine(), rssKiB: rss, heapKiB: int(ms.HeapAlloc >> 10)}
}

// TestSoakReload runs 1000 reload cycles of examples/hello in one session
// (each a one-line edit on disk: watch, rebuild, reboot, run to exit) and
// samples open fds, goroutines and RSS every 100 cycles: they must stay
// flat. It takes minutes, so it runs only from `make soak`
// (UKW_SOAK=1; UKW_SOAK_CYCLES changes the count).
func TestSoakReload(t *testing.T) {
	if os.Getenv("UKW_SOAK") != "1" {
		t.Skip("skipping: the soak test runs from `make soak` (UKW_SOAK=1)")
	}
	cycles := 1000
	if n, err := strconv.Atoi(os.Getenv("UKW_SOAK_CYCLES")); err == nil && n >= 200 {
		cycles = n
	}
	r := newDevRig(t, "../examples/hello", "main.c")
	r.waitExit()
	const line = `printf("Hello from ukw! argc=%d", argc);`
	samples := []soakSample{sampleProcess(t, 0)}
	last := time.Now()
	for i := 1; i <= cycles; i++ {
		greeting := fmt.Sprintf("Hello from soak cycle %d!", i)
		r.edit(line, fmt.Sprintf(`printf("%s argc=%%d", argc);`, greeting), greeting)
		if i%100 == 0 {
			s := sampleProcess(t, i)
			s.took, last = time.Since(last), time.Now()
			samples = append(samples, s)
			t.Logf("cycle %4d: %d fds, %d goroutines, RSS %d KiB, heap %d KiB", i, s.fds, s.goroutines, s.rssKiB, s.heapKiB)
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%6s %5s %10s %9s %9s %12s\n", "cycles", "fds", "goroutines", "RSS MiB", "heap MiB", "s/100 cycles")
	for _, s := range samples {
		took := "-"
		if s.took > 0 {
			took = fmt.Sprintf("%.1f", s.took.Seconds())
		}
		fmt.Fprintf(&table, "%6d %5d %10d %9.1f %9.2f %12s\n", s.cycle, s.fds, s.goroutines, float64(s.rssKiB)/1024, float64(s.heapKiB)/1024, took)
	}
	fmt.Print("\nsoak: reload cycles of examples/hello in one session\n" + table.String())

	// Flat: after the first 100 cycles (caches, pools and the heap have
	// reached their working size) nothing may keep growing.
	base, end := samples[1], samples[len(samples)-1]
	if end.fds > base.fds+2 {
		t.Errorf("open fds grew from %d (cycle %d) to %d (cycle %d)", base.fds, base.cycle, end.fds, end.cycle)
	}
	if end.goroutines > base.goroutines+2 {
		t.Errorf("goroutines grew from %d to %d", base.goroutines, end.goroutines)
	}
	if end.rssKiB > base.rssKiB+base.rssKiB/4+8<<10 {
		t.Errorf("RSS grew from %d KiB to %d KiB", base.rssKiB, end.rssKiB)
	}
	if end.heapKiB > base.heapKiB+base.heapKiB/2+1<<10 {
		t.Errorf("the Go heap grew from %d KiB to %d KiB", base.heapKiB, end.heapKiB)
	}
}
