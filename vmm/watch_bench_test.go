package vmm

import (
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// The costs of readonly-memslot watchpoints, on the gdb test guest
// (testdata/gdb/guest): spin() increments the global `spins` in a loop
// until `release` is set, and `watched` lies in the same page, so a
// watchpoint on `watched` makes every iteration's write an MMIO exit
// that the VMM applies and the guest goes on.

// spinGuest builds the gdb test guest and boots it stopped in spin().
func spinGuest(b *testing.B) (*Machine, map[string]uint64) {
	b.Helper()
	testenv.Tool(b, "gcc", "ld", "objcopy")
	dir := b.TempDir()
	if out, err := exec.Command("sh", "../testdata/gdb/guest/build.sh", dir).CombinedOutput(); err != nil {
		b.Fatalf("build.sh: %v\n%s", err, out)
	}
	img := filepath.Join(dir, "guest.elf")
	syms := map[string]uint64{}
	for _, n := range []string{"spin", "spins", "watched", "release"} {
		syms[n] = symbol(b, img, n)
	}
	m := newMachine(b, guest.Config{Image: img})
	if m.Caps().WatchStrategy != stratROSlot {
		b.Skipf("watch strategy %q, not %s", m.Caps().WatchStrategy, stratROSlot)
	}
	hw := guest.Breakpoint{Kind: guest.BreakHardware, Addr: syms["spin"], Len: 1}
	if err := m.SetBreakpoint(hw); err != nil {
		b.Fatal(err)
	}
	if r := runToEnd(b, m, false); len(r.stops) != 1 {
		b.Fatalf("did not reach spin: %+v %+v", r.exit, r.fault)
	}
	m.ClearBreakpoint(hw)
	return m, syms
}

func readU64(b *testing.B, m *Machine, addr uint64) uint64 {
	var buf [8]byte
	if err := m.ReadMemory(0, guest.Virtual, addr, buf[:]); err != nil {
		b.Fatal(err)
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// spinRate runs the guest for d and returns spin() iterations per second.
func spinRate(b *testing.B, m *Machine, spins uint64, d time.Duration) float64 {
	before := readU64(b, m, spins)
	ev, cancel := m.Subscribe()
	defer cancel()
	start := time.Now()
	if err := m.Continue(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(d)
	m.Interrupt()
	r := collect(b, ev)
	took := time.Since(start)
	if len(r.stops) != 1 || r.stops[0].Reason != guest.StopInterrupt {
		b.Fatalf("%+v %+v %+v", r.stops, r.exit, r.fault)
	}
	return float64(readU64(b, m, spins)-before) / took.Seconds()
}

// BenchmarkWatchSlowdown: spin() iterations per second with no watchpoint
// and with one on `watched`, which shares its page with `spins`.
func BenchmarkWatchSlowdown(b *testing.B) {
	m, s := spinGuest(b)
	if s["watched"]>>12 != s["spins"]>>12 {
		b.Fatalf("watched %#x and spins %#x are not in one page", s["watched"], s["spins"])
	}
	wp := guest.Breakpoint{Kind: guest.WatchWrite, Addr: s["watched"], Len: 4}
	var none, watched float64
	for i := 0; i < b.N; i++ {
		none += spinRate(b, m, s["spins"], 300*time.Millisecond)
		if err := m.SetBreakpoint(wp); err != nil {
			b.Fatal(err)
		}
		watched += spinRate(b, m, s["spins"], 300*time.Millisecond)
		if err := m.ClearBreakpoint(wp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(none/float64(b.N), "iter/s-none")
	b.ReportMetric(watched/float64(b.N), "iter/s-watched-page")
	b.ReportMetric(none/watched, "slowdown")
}

// BenchmarkWatchHit: Continue to the StopEvent of a watchpoint on `spins`
// (every iteration writes it: five guest instructions, the MMIO exit, the
// instruction's completion and the stop), beside Step to its StopEvent.
func BenchmarkWatchHit(b *testing.B) {
	m, s := spinGuest(b)
	if err := m.SetBreakpoint(guest.Breakpoint{Kind: guest.WatchWrite, Addr: s["spins"], Len: 8}); err != nil {
		b.Fatal(err)
	}
	runToEnd(b, m, false) // the memslots change on the first run
	b.ResetTimer()
	var hit, step time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r := runToEnd(b, m, false)
		hit += time.Since(t0)
		if len(r.stops) != 1 || r.stops[0].Reason != guest.StopWatchpoint {
			b.Fatalf("%+v %+v %+v", r.stops, r.exit, r.fault)
		}
		t0 = time.Now()
		runToEnd(b, m, true)
		step += time.Since(t0)
	}
	b.ReportMetric(float64(hit.Microseconds())/float64(b.N), "µs/continue-to-watch-stop")
	b.ReportMetric(float64(step.Microseconds())/float64(b.N), "µs/step")
}

// BenchmarkWatchInsert: the memslot changes of setting a watchpoint and
// removing it again (each applied at the next run), on the gdb test guest,
// which has KVM's in-kernel irqchip (a Multiboot kernel).
func BenchmarkWatchInsert(b *testing.B) {
	m, s := spinGuest(b)
	wp := guest.Breakpoint{Kind: guest.WatchWrite, Addr: s["watched"], Len: 4}
	var set, clear time.Duration
	for i := 0; i < b.N; i++ {
		m.SetBreakpoint(wp)
		t0 := time.Now()
		if err := m.call(true, m.v.syncMemslots); err != nil {
			b.Fatal(err)
		}
		set += time.Since(t0)
		m.ClearBreakpoint(wp)
		t0 = time.Now()
		if err := m.call(true, m.v.syncMemslots); err != nil {
			b.Fatal(err)
		}
		clear += time.Since(t0)
	}
	b.ReportMetric(float64(set.Microseconds())/float64(b.N), "µs/insert")
	b.ReportMetric(float64(clear.Microseconds())/float64(b.N), "µs/remove")
}
