package vmm

import (
	"testing"
	"time"
)

// ticksAt is the host time at which the PIT has counted n ticks.
func ticksAt(n uint64) time.Duration {
	return time.Duration((n*uint64(time.Second) + pitHz - 1) / pitHz)
}

// TestPITCalibration drives counter 2 the way lib/sched-coop calibrates the
// TSC: gate on through port 0x61, mode 0 with a 10 ms count, poll OUT2.
func TestPITCalibration(t *testing.T) {
	p := newPIT()
	p.write(portSysCtlB, 0x01, 0) // gate 2 on, speaker off
	p.write(portPITCtl, 0xb0, 0)  // counter 2, LSB then MSB, mode 0
	if p.read(portSysCtlB, 0)&0x20 != 0 {
		t.Fatal("OUT2 high right after a mode 0 control word")
	}
	const count = pitHz * 10 / 1000
	p.write(0x42, count&0xff, ticksAt(0))
	p.write(0x42, count>>8, ticksAt(0))
	if v := p.read(portSysCtlB, ticksAt(count-1)); v&0x20 != 0 || v&0x01 != 1 {
		t.Fatalf("port 0x61 = %#x one tick before the terminal count", v)
	}
	if v := p.read(portSysCtlB, ticksAt(count)); v&0x20 == 0 {
		t.Fatalf("port 0x61 = %#x at the terminal count, want OUT2 high", v)
	}
	if d := time.Duration(ticksAt(count)); d < 9999*time.Microsecond || d > 10001*time.Microsecond {
		t.Fatalf("%d ticks last %v, want 10 ms", count, d)
	}
	// The refresh bit toggles at every read (delay loops watch it).
	a, b := p.read(portSysCtlB, ticksAt(count)), p.read(portSysCtlB, ticksAt(count))
	if (a^b)&0x10 == 0 {
		t.Fatalf("refresh bit did not toggle: %#x %#x", a, b)
	}
}

func TestPITCountersAndLatches(t *testing.T) {
	p := newPIT()
	p.write(portPITCtl, 0x34, 0) // counter 0, LSB then MSB, mode 2
	p.write(0x40, 1000&0xff, 0)
	p.write(0x40, 1000>>8, 0)
	p.write(portPITCtl, 0x00, ticksAt(250)) // latch counter 0
	// Reads after the latch see the latched value, not the running count.
	lo, hi := p.read(0x40, ticksAt(400)), p.read(0x40, ticksAt(400))
	if got := int(hi)<<8 | int(lo); got != 750 {
		t.Fatalf("latched count %d, want 750", got)
	}
	lo, hi = p.read(0x40, ticksAt(1100)), p.read(0x40, ticksAt(1100)) // mode 2 reloads
	if got := int(hi)<<8 | int(lo); got != 900 {
		t.Fatalf("count after a reload %d, want 900", got)
	}
	// Read-back: status of counter 0 (OUT, null count, RW, mode, BCD).
	p.write(portPITCtl, 0xe2, ticksAt(1100))
	if s := p.read(0x40, ticksAt(1100)); s != 0x80|0x30|0x04 {
		t.Fatalf("read-back status %#x, want %#x", s, 0x80|0x30|0x04)
	}
	// LSB-only counter 1 in BCD: reads come back in BCD.
	p = newPIT()
	p.write(portPITCtl, 0x51, 0) // counter 1, LSB only, mode 0, BCD
	p.write(0x41, 0x99, ticksAt(0))
	if v := p.read(0x41, ticksAt(9)); v != 0x90 {
		t.Fatalf("BCD counter reads %#x, want 0x90", v)
	}
	if p.read(portPITCtl, 0) != 0xff {
		t.Fatal("the control register reads back")
	}
}

// TestPITGate: counting pauses while counter 2's gate is low (mode 0).
func TestPITGate(t *testing.T) {
	p := newPIT()
	p.write(portPITCtl, 0xb0, 0)
	p.write(0x42, 100, ticksAt(0))
	p.write(0x42, 0, ticksAt(0)) // gate is low: held at 100
	p.write(portSysCtlB, 0x01, ticksAt(50))
	p.write(portSysCtlB, 0x00, ticksAt(80)) // counted 30
	if p.read(portSysCtlB, ticksAt(500))&0x20 != 0 {
		t.Fatal("OUT2 rose while the gate was low")
	}
	p.write(portSysCtlB, 0x01, ticksAt(1000))
	if p.read(portSysCtlB, ticksAt(1069))&0x20 != 0 || p.read(portSysCtlB, ticksAt(1070))&0x20 == 0 {
		t.Fatal("mode 0 did not resume where the gate stopped it")
	}
}

// TestPITPorts: without the in-kernel PIT the devices answer ports
// 0x40-0x43 and 0x61 from the model; with it, they never see them.
func TestPITPorts(t *testing.T) {
	now := time.Duration(0)
	d := newDevices(true, true, func() time.Duration { return now })
	mem := make([]byte, 1<<20)
	for _, w := range [][2]uint16{{portSysCtlB, 1}, {portPITCtl, 0xb0}, {0x42, 10}, {0x42, 0}} {
		e, run := ioExit(true, w[0], 1, []byte{byte(w[1])})
		if o := d.handle(e, run, mem); o.kind != outResume {
			t.Fatalf("out %#x under strict I/O: %+v", w[0], o)
		}
	}
	now = ticksAt(10)
	e, run := ioExit(false, portSysCtlB, 1, []byte{0})
	if o := d.handle(e, run, mem); o.kind != outResume || run[0x100]&0x21 != 0x21 {
		t.Fatalf("in 0x61 = %#x: %+v", run[0x100], o)
	}
	e, run = ioExit(false, 0x42, 1, []byte{0})
	if o := newDevices(true, false, nil).handle(e, run, mem); o.fault.Kind == 0 {
		t.Fatalf("port 0x42 without the user-space PIT: %+v", o)
	}
}

// FuzzPIT: any sequence of guest port accesses (3 bytes each: port
// selector, value, time step) leaves the model consistent: no panic,
// counts within range, output defined.
func FuzzPIT(f *testing.F) {
	f.Add([]byte{4, 0x01, 0, 3, 0xb0, 0, 2, 0x9b, 0, 2, 0x2e, 0, 4, 0, 200})
	f.Add([]byte{3, 0xe2, 1, 0, 0, 1, 3, 0x36, 5, 0, 0, 9, 0, 0, 9, 3, 0xc8, 7})
	f.Fuzz(func(t *testing.T, ops []byte) {
		p := newPIT()
		ports := [5]uint16{0x40, 0x41, 0x42, portPITCtl, portSysCtlB}
		var now time.Duration
		for i := 0; i+2 < len(ops); i += 3 {
			port := ports[int(ops[i]&0x7f)%len(ports)]
			now += time.Duration(ops[i+2]) * 37 * time.Microsecond
			if ops[i]&0x80 != 0 {
				p.read(port, now)
			} else {
				p.write(port, ops[i+1], now)
			}
		}
		for i := range p.ch {
			c := &p.ch[i]
			if c.loaded && (c.reload == 0 || c.reload > 0x10000) {
				t.Fatalf("counter %d loaded with reload %d", i, c.reload)
			}
			if n := c.count(p.lastTick); c.loaded && n > 0x10000 {
				t.Fatalf("counter %d counts %d", i, n)
			}
		}
	})
}
