package vmm

import "time"

// pit models the Intel 8254 programmable interval timer (ports 0x40-0x43)
// and the timer-2 bits of system control port B (0x61) for a VM without
// the in-kernel irqchip, where KVM_CREATE_PIT2 is not available (it needs
// the in-kernel PIC). It has no interrupt output: a VM without an irqchip
// delivers no interrupts. What guests use it for is polling: calibrating
// the TSC against counter 2 (lib/sched-coop) or reading a counter.
//
// Counters count down at 1.193182 MHz of host monotonic time (the clock
// the caller passes in, so the model stays a pure function of its inputs).
// Intel 8254 data sheet: control word (SC, RW, M, BCD), counter latch and
// read-back commands, modes 0-5; port 0x61 as on the IBM PC/AT: bit 0
// gate of counter 2, bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT2.
type pit struct {
	ch       [3]pitCounter
	port61   uint8 // bits 0-3 as written
	refresh  bool  // bit 4 toggles at every read (delay loops watch it)
	lastTick uint64
}

// pitCounter is one 8254 counter.
type pitCounter struct {
	mode    uint8 // 0-5
	rw      uint8 // 1 LSB, 2 MSB, 3 LSB then MSB
	bcd     bool
	loaded  bool   // a count was written: the counter counts (while the gate is high)
	reload  uint32 // 1..0x10000 (a written 0 means 0x10000; BCD 0 means 10000)
	idle    uint32 // the count shown while not loaded
	start   uint64 // tick the current gate-high stretch began
	held    uint64 // ticks counted before it
	gateLow bool
	writeHi bool // next write is the MSB (rw 3)
	readHi  bool // next read is the MSB (rw 3)
	latched bool
	latch   uint16
	status  int16 // a latched read-back status byte (read first), or -1
	lsb     uint8 // LSB written, waiting for the MSB
}

const (
	pitHz       = 1193182
	portPIT0    = 0x40
	portPITCtl  = 0x43
	portSysCtlB = 0x61
)

func pitTicks(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	s := uint64(d / time.Second)
	ns := uint64(d % time.Second)
	return s*pitHz + ns*pitHz/uint64(time.Second)
}

// elapsed is how many ticks the counter has counted since its count was
// loaded (counting pauses while the gate is low).
func (c *pitCounter) elapsed(now uint64) uint64 {
	if c.gateLow {
		return c.held
	}
	return c.held + now - c.start
}

// count is the counter's current value at tick now.
func (c *pitCounter) count(now uint64) uint32 {
	if !c.loaded {
		return c.idle
	}
	el, r := c.elapsed(now), uint64(c.reload)
	switch c.mode {
	case 2:
		return uint32(r - el%r)
	case 3: // square wave: the count drops by two, twice per period
		return uint32(r - (2*el%r)&^1)
	}
	// One-shot modes: past the terminal count the counter wraps and keeps
	// counting down from 0xffff.
	if el < r {
		return uint32(r - el)
	}
	return uint32(0x10000 - (el-r)%0x10000)
}

// out reports the counter's output pin at tick now.
func (c *pitCounter) out(now uint64) bool {
	if !c.loaded {
		// Mode 0 holds OUT low from the control word until the count
		// expires; the other modes idle with OUT high.
		return c.mode != 0
	}
	el, r := c.elapsed(now), uint64(c.reload)
	switch c.mode {
	case 0, 1:
		return el >= r
	case 2:
		return el%r != r-1
	case 3:
		return el%r < (r+1)/2
	}
	return el != r // 4, 5: a one-tick low strobe at the terminal count
}

func (p *pit) now(clock time.Duration) uint64 {
	t := pitTicks(clock)
	if t < p.lastTick {
		t = p.lastTick // monotonic, whatever the caller passes
	}
	p.lastTick = t
	return t
}

// write handles an out to port 0x40-0x43 or 0x61 at time clock.
func (p *pit) write(port uint16, v uint8, clock time.Duration) {
	now := p.now(clock)
	if port == portSysCtlB {
		p.ch[2].setGate(v&1 != 0, now)
		p.port61 = v & 0x0f
		return
	}
	if port == portPITCtl {
		p.control(v, now)
		return
	}
	c := &p.ch[port-portPIT0]
	var val uint16
	switch c.rw {
	case 1:
		val = uint16(v)
	case 2:
		val = uint16(v) << 8
	default:
		if !c.writeHi {
			c.lsb, c.writeHi = v, true
			if c.mode == 0 { // writing the LSB stops mode 0
				c.idle, c.loaded = c.count(now), false
			}
			return
		}
		c.writeHi = false
		val = uint16(v)<<8 | uint16(c.lsb)
	}
	c.load(val, now)
}

func (c *pitCounter) load(v uint16, now uint64) {
	r := uint32(v)
	if c.bcd {
		r = uint32(v>>12&15)*1000 + uint32(v>>8&15)*100 + uint32(v>>4&15)*10 + uint32(v&15)
		if r == 0 {
			r = 10000
		}
	} else if r == 0 {
		r = 0x10000
	}
	c.reload, c.loaded, c.start, c.held = r, true, now, 0
}

// setGate drives the counter's gate input (only counter 2's is wired, to
// port 0x61 bit 0). Counting pauses while it is low; a rising edge
// restarts modes 1, 2, 3 and 5 from the reload value.
func (c *pitCounter) setGate(high bool, now uint64) {
	switch {
	case !high && !c.gateLow:
		c.held = c.elapsed(now)
	case high && c.gateLow:
		if c.mode != 0 && c.mode != 4 {
			c.held = 0
		}
		c.start = now
	}
	c.gateLow = !high
}

func (p *pit) control(v uint8, now uint64) {
	sc := v >> 6
	if sc == 3 { // read-back: bit 5 low latches counts, bit 4 low latches status
		for i := 0; i < 3; i++ {
			if v&(2<<i) == 0 {
				continue
			}
			c := &p.ch[i]
			if v&0x20 == 0 && !c.latched {
				c.latch, c.latched, c.readHi = uint16(c.count(now)), true, false
			}
			if v&0x10 == 0 && c.status < 0 {
				s := int16(c.rw<<4 | c.mode<<1)
				if c.bcd {
					s |= 1
				}
				if c.out(now) {
					s |= 0x80
				}
				if !c.loaded {
					s |= 0x40 // null count: no count loaded yet
				}
				c.status = s
			}
		}
		return
	}
	c := &p.ch[sc]
	rw := v >> 4 & 3
	if rw == 0 { // counter latch command
		if !c.latched {
			c.latch, c.latched, c.readHi = uint16(c.count(now)), true, false
		}
		return
	}
	mode := v >> 1 & 7
	if mode > 5 {
		mode -= 4 // 6 and 7 are modes 2 and 3
	}
	*c = pitCounter{mode: mode, rw: rw, bcd: v&1 != 0, gateLow: c.gateLow, status: -1}
}

// read handles an in from port 0x40-0x43 or 0x61 at time clock.
func (p *pit) read(port uint16, clock time.Duration) uint8 {
	now := p.now(clock)
	if port == portSysCtlB {
		p.refresh = !p.refresh
		v := p.port61
		if p.refresh {
			v |= 0x10
		}
		if p.ch[2].out(now) {
			v |= 0x20
		}
		return v
	}
	if port == portPITCtl {
		return 0xff // the control register is write-only
	}
	c := &p.ch[port-portPIT0]
	if c.status >= 0 {
		s := uint8(c.status)
		c.status = -1
		return s
	}
	var v uint16
	if c.latched {
		v = c.latch
	} else {
		v = uint16(c.count(now))
	}
	if c.bcd {
		v = toBCD(v)
	}
	hi := false
	switch c.rw {
	case 2:
		hi = true
	case 3:
		hi = c.readHi
		c.readHi = !c.readHi
	}
	if c.latched && (c.rw != 3 || hi) {
		c.latched = false
	}
	if hi {
		return uint8(v >> 8)
	}
	return uint8(v)
}

// toBCD encodes v (0..9999; 10000 reads as 0) as four BCD digits.
func toBCD(v uint16) uint16 {
	v %= 10000
	return v/1000<<12 | v/100%10<<8 | v/10%10<<4 | v%10
}

func newPIT() *pit {
	p := &pit{}
	for i := range p.ch {
		p.ch[i].status = -1
	}
	p.ch[2].gateLow = true // port 0x61 bit 0 is clear at reset (as KVM's in-kernel PIT)
	return p
}
