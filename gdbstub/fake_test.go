package gdbstub

import (
	"fmt"
	"sync"
	"time"

	"ukw/guest"
)

// fakeMachine is a small guest.Machine for the pure tests: one page of
// memory at memBase, an instruction pointer that advances one byte per
// "instruction", and a run that goes until the PC reaches an execution
// breakpoint, the program end (an exit with status 3) or an Interrupt.
type fakeMachine struct {
	guest.Broadcaster
	mu       sync.Mutex
	ncpu     int
	state    guest.State
	regs     []guest.Regs
	mem      []byte
	bps      map[guest.Breakpoint]bool
	slots    int // free hardware slots
	kicks    chan struct{}
	runs     int
	killed   bool
	noWatch  bool
	runDelay time.Duration
}

const (
	memBase  = 0x1000
	progEnd  = 0x1f00 // the fake program exits when the PC gets here
	fakeExit = 3
)

func newFake(ncpu int) *fakeMachine {
	f := &fakeMachine{ncpu: ncpu, mem: make([]byte, 0x1000), bps: map[guest.Breakpoint]bool{}, slots: 4, kicks: make(chan struct{}, 1)}
	for i := 0; i < ncpu; i++ {
		f.regs = append(f.regs, guest.Regs{RIP: memBase, RSP: memBase + 0xff8, RAX: uint64(i), CS: guest.Segment{Selector: 8}, FS: guest.Segment{Base: 0xf5}})
	}
	for i := range f.mem {
		f.mem[i] = byte(i)
	}
	return f
}

func (f *fakeMachine) Caps() guest.Caps {
	return guest.Caps{Backend: "fake", HWBreakpoints: 4, SWBreakpoints: true, SWBreakStrategy: "fake", Watchpoints: !f.noWatch, SingleStep: true}
}
func (f *fakeMachine) NumCPU() int { return f.ncpu }
func (f *fakeMachine) State() guest.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeMachine) stopped() error {
	switch f.state {
	case guest.Running:
		return guest.ErrRunning
	case guest.Finished:
		return guest.ErrFinished
	}
	return nil
}

func (f *fakeMachine) Continue() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stopped(); err != nil {
		return err
	}
	f.state = guest.Running
	f.runs++
	select {
	case <-f.kicks:
	default:
	}
	go f.run()
	return nil
}

// run moves the PC of vCPU 0 forward. Like a real backend it steps off a
// breakpoint at the starting PC instead of hitting it again.
func (f *fakeMachine) run() {
	for first := true; ; first = false {
		if f.runDelay > 0 {
			time.Sleep(f.runDelay)
		}
		f.mu.Lock()
		select {
		case <-f.kicks:
			st := guest.Stop{Reason: guest.StopInterrupt, PC: f.regs[0].RIP, Regs: f.regs[0]}
			f.state = guest.Stopped
			f.mu.Unlock()
			f.Publish(guest.StopEvent{Stop: st})
			return
		default:
		}
		pc := f.regs[0].RIP
		if !first {
			for _, k := range []guest.BreakKind{guest.BreakSoftware, guest.BreakHardware} {
				if f.bps[guest.Breakpoint{Kind: k, Addr: pc, Len: 1}] {
					reason := guest.StopBreakpoint
					if k == guest.BreakHardware {
						reason = guest.StopHWBreakpoint
					}
					st := guest.Stop{Reason: reason, PC: pc, Regs: f.regs[0]}
					f.state = guest.Stopped
					f.mu.Unlock()
					f.Publish(guest.StopEvent{Stop: st})
					return
				}
			}
		}
		if pc >= progEnd {
			f.state = guest.Finished
			f.mu.Unlock()
			f.Publish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitPort, Status: fakeExit, Port: 0xf4}})
			return
		}
		f.regs[0].RIP++
		f.mu.Unlock()
	}
}

func (f *fakeMachine) Step(cpu int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stopped(); err != nil {
		return err
	}
	if cpu < 0 || cpu >= f.ncpu {
		return guest.ErrBadCPU
	}
	f.regs[cpu].RIP++
	st := guest.Stop{CPU: cpu, Reason: guest.StopStep, PC: f.regs[cpu].RIP, Regs: f.regs[cpu]}
	f.state = guest.Running
	go func() {
		f.mu.Lock()
		f.state = guest.Stopped
		f.mu.Unlock()
		f.Publish(guest.StopEvent{Stop: st})
	}()
	return nil
}

func (f *fakeMachine) Interrupt() error {
	select {
	case f.kicks <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeMachine) Regs(cpu int) (guest.Regs, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stopped(); err != nil {
		return guest.Regs{}, err
	}
	if cpu < 0 || cpu >= f.ncpu {
		return guest.Regs{}, guest.ErrBadCPU
	}
	return f.regs[cpu], nil
}

func (f *fakeMachine) SetRegs(cpu int, r *guest.Regs) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stopped(); err != nil {
		return err
	}
	if cpu < 0 || cpu >= f.ncpu {
		return guest.ErrBadCPU
	}
	f.regs[cpu] = *r
	return nil
}

func (f *fakeMachine) span(addr uint64, n int) (int, error) {
	if addr < memBase || addr >= memBase+uint64(len(f.mem)) {
		return 0, &guest.MemError{Addr: addr, Why: "not mapped"}
	}
	off := int(addr - memBase)
	if off+n > len(f.mem) {
		return off, &guest.MemError{Addr: memBase + uint64(len(f.mem)), Why: "not mapped"}
	}
	return off, nil
}

func (f *fakeMachine) ReadMemory(cpu int, space guest.AddrSpace, addr uint64, buf []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stopped(); err != nil {
		return err
	}
	off, err := f.span(addr, len(buf))
	if addr >= memBase && addr < memBase+uint64(len(f.mem)) {
		copy(buf, f.mem[off:])
	}
	return err
}

func (f *fakeMachine) WriteMemory(cpu int, space guest.AddrSpace, addr uint64, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.stopped(); err != nil {
		return err
	}
	off, err := f.span(addr, len(data))
	if err != nil {
		return err
	}
	copy(f.mem[off:], data)
	return nil
}

func (f *fakeMachine) SetBreakpoint(bp guest.Breakpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if bp.Kind.IsWatch() && f.noWatch {
		return fmt.Errorf("fake: %w", guest.ErrUnsupported)
	}
	if bp.Kind != guest.BreakSoftware {
		if f.slots == 0 {
			return fmt.Errorf("fake: %w", guest.ErrNoSlots)
		}
		f.slots--
	}
	f.bps[bp] = true
	return nil
}

func (f *fakeMachine) ClearBreakpoint(bp guest.Breakpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.bps[bp] {
		return fmt.Errorf("fake: no %v at %#x", bp.Kind, bp.Addr)
	}
	if bp.Kind != guest.BreakSoftware {
		f.slots++
	}
	delete(f.bps, bp)
	return nil
}

func (f *fakeMachine) Kill() error {
	f.mu.Lock()
	if f.state == guest.Finished {
		f.mu.Unlock()
		return nil
	}
	f.state, f.killed = guest.Finished, true
	f.mu.Unlock()
	f.Publish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}})
	return nil
}

func (f *fakeMachine) Close() error {
	f.Broadcaster.Close()
	return nil
}

func (f *fakeMachine) Monitor(cmd string) (string, error) {
	return "fake monitor: " + cmd + "\n", nil
}

func (f *fakeMachine) numBreaks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bps)
}
