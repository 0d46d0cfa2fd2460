package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"ukw/guest"
	"ukw/symbols"
)

// Sampler is offered by backends that can look at a running guest without
// publishing a stop: Sample calls fn with the vCPU's registers and a
// reader of its virtual memory while the guest is held between two
// instructions, then lets it go on. The native VMM has it (vmm.Machine.Sample).
type Sampler interface {
	Sample(fn func(r *guest.Regs, read func(addr uint64, buf []byte) error)) error
}

// Sampling methods.
const (
	MethodAuto      = "auto"      // Sampler when the backend has it, else interrupt
	MethodSample    = "sample"    // Sampler (kick the vCPU, read, go on)
	MethodInterrupt = "interrupt" // guest.Machine: Interrupt, Regs, ReadMemory, Continue
)

// ProfileOptions configure RunProfile.
type ProfileOptions struct {
	// File symbolizes and unwinds samples.
	File *symbols.File
	// Hz is the sampling rate (100 when 0).
	Hz int
	// Duration ends the guest (Kill) after this long; 0 profiles it to its end.
	Duration time.Duration
	// Method is MethodAuto (default), MethodSample or MethodInterrupt.
	Method string
	// MaxDepth bounds each stack (symbols.UnwindMaxDepth when 0).
	MaxDepth int
	// Console receives the guest's console output (nil discards it).
	Console io.Writer
}

// ProfileRun is what RunProfile measured.
type ProfileRun struct {
	Profile *Profile
	Outcome Outcome
	Method  string
	Hz      int
	// Failed counts samples that could not be taken (the guest ended
	// in between, a read failed); Errors keeps the first few reasons.
	Failed int
	Errors []string
	// SampleTime is the wall time samples took (reaching the vCPU,
	// reading, unwinding, naming; mostly waiting to be scheduled on a
	// busy host), MaxSample the longest one.
	SampleTime, MaxSample time.Duration
	// HoldTime is how long samples kept the guest from running, as seen
	// from here: for MethodSample the time the vCPU thread spent copying
	// registers and stack (add one KVM exit and entry per sample; the
	// unwinding happens afterwards, on the copy, while the guest runs);
	// for MethodInterrupt the time from Interrupt to Continue.
	HoldTime time.Duration
}

func (r *ProfileRun) per(d time.Duration) time.Duration {
	if n := r.Profile.Samples + r.Failed; n > 0 {
		return d / time.Duration(n)
	}
	return 0
}

// MeanSample is the average wall time of one sample.
func (r *ProfileRun) MeanSample() time.Duration { return r.per(r.SampleTime) }

// MeanHold is the average HoldTime of one sample.
func (r *ProfileRun) MeanHold() time.Duration { return r.per(r.HoldTime) }

// RunProfile runs m (stopped, typically at entry) to its end or for
// o.Duration, sampling its vCPU at o.Hz without any guest cooperation, and
// returns the profile of the unwound, symbolized stacks.
func RunProfile(ctx context.Context, m guest.Machine, o ProfileOptions) (*ProfileRun, error) {
	if o.File == nil {
		return nil, errors.New("trace: RunProfile needs a symbols.File")
	}
	hz := o.Hz
	if hz <= 0 {
		hz = 100
	}
	depth := o.MaxDepth
	if depth <= 0 {
		depth = symbols.UnwindMaxDepth
	}
	run := &ProfileRun{Profile: NewProfile(), Hz: hz}
	_, hasSampler := m.(Sampler)
	switch o.Method {
	case "", MethodAuto:
		run.Method = MethodInterrupt
		if hasSampler {
			run.Method = MethodSample
		}
	case MethodSample:
		if !hasSampler {
			return nil, errors.New("trace: this backend cannot sample a running guest; use --method interrupt")
		}
		run.Method = MethodSample
	case MethodInterrupt:
		run.Method = MethodInterrupt
	default:
		return nil, fmt.Errorf("trace: unknown sampling method %q (auto, sample, interrupt)", o.Method)
	}
	fail := func(err error) {
		run.Failed++
		if len(run.Errors) < 5 {
			run.Errors = append(run.Errors, err.Error())
		}
	}

	ev, cancel := m.Subscribe()
	defer cancel()
	start := time.Now()
	if err := m.Continue(); err != nil {
		return nil, fmt.Errorf("trace: continue: %w", err)
	}
	tick := time.NewTicker(time.Second / time.Duration(hz))
	defer tick.Stop()
	var deadline <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		deadline = t.C
	}
	done := ctx.Done()
	names := newNameCache()
	var ss *StackSampler
	if run.Method == MethodSample {
		ss, _ = NewStackSampler(m, o.File)
		ss.Depth, ss.names = depth, names
	}
	// handle deals with one event; it reports a stop and whether the run ended.
	handle := func(e guest.Event) (*guest.Stop, bool) {
		switch e := e.(type) {
		case guest.ConsoleEvent:
			if o.Console != nil {
				o.Console.Write(e.Data)
			}
		case guest.StopEvent:
			return &e.Stop, false
		case guest.ExitEvent:
			run.Outcome.Exit = &e.Exit
			return nil, true
		case guest.FaultEvent:
			run.Outcome.Fault = &e.Fault
			return nil, true
		}
		return nil, false
	}
	end := func() *ProfileRun {
		run.Outcome.Wall = time.Since(start)
		return run
	}
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				return end(), errors.New("trace: machine closed before the guest ended")
			}
			stop, ended := handle(e)
			if ended {
				return end(), nil
			}
			if stop != nil && !run.Outcome.Killed {
				// A stop nobody asked for (a trap compiled into the guest): go on.
				if err := m.Continue(); err != nil {
					return end(), fmt.Errorf("trace: continue after %v stop: %w", stop.Reason, err)
				}
			}
		case <-tick.C:
			if m.State() != guest.Running || run.Outcome.Killed {
				continue
			}
			t0 := time.Now()
			var stack []string
			var err error
			if run.Method == MethodSample {
				var hold time.Duration
				stack, hold, err = ss.Sample()
				run.HoldTime += hold
			} else {
				var ended bool
				stack, ended, err = interruptSample(m, ev, handle, o.File, depth, names)
				run.HoldTime += time.Since(t0)
				if ended {
					run.SampleTime += time.Since(t0)
					return end(), nil
				}
			}
			dt := time.Since(t0)
			run.SampleTime += dt
			run.MaxSample = max(run.MaxSample, dt)
			if err != nil {
				if !errors.Is(err, guest.ErrFinished) {
					fail(err)
				}
				continue
			}
			run.Profile.Add(stack)
		case <-deadline:
			deadline = nil
			run.Outcome.Killed = true
			m.Kill()
		case <-done:
			done = nil
			run.Outcome.Killed = true
			m.Kill()
		}
	}
}

// StackSampler takes single samples of a running guest on demand,
// without stopping it (for a session's Profile view, or RunProfile).
type StackSampler struct {
	// Depth bounds each stack (symbols.UnwindMaxDepth when 0).
	Depth  int
	s      Sampler
	f      *symbols.File
	names  *nameCache
	stacks stackBounds
}

// NewStackSampler samples m, which must implement Sampler (the native
// VMM does), and names frames with f.
func NewStackSampler(m guest.Machine, f *symbols.File) (*StackSampler, error) {
	s, ok := m.(Sampler)
	if !ok {
		return nil, errors.New("trace: this backend cannot sample a running guest (no Sample method)")
	}
	return &StackSampler{s: s, f: f, names: newNameCache(), stacks: knownStacks(f)}, nil
}

// Sample returns the guest's current stack, outermost frame first, and how
// long the guest was held on the vCPU thread (registers and a copy of the
// stack; the unwinding happens after the guest is released).
func (ss *StackSampler) Sample() ([]string, time.Duration, error) {
	var snap stackSnapshot
	var hold time.Duration
	err := ss.s.Sample(func(r *guest.Regs, read func(uint64, []byte) error) {
		h := time.Now()
		snap.take(r, read, ss.stacks.limit(r.RSP))
		hold = time.Since(h)
	})
	if err != nil {
		return nil, hold, err
	}
	depth := ss.Depth
	if depth <= 0 {
		depth = symbols.UnwindMaxDepth
	}
	return ss.names.unwindSnapshot(ss.f, &snap, depth), hold, nil
}

// interruptSample takes one sample through guest.Machine alone: stop the
// guest, unwind from the stop's registers reading memory page by page,
// continue. It reports ended when the guest ended instead of stopping.
func interruptSample(m guest.Machine, ev <-chan guest.Event, handle func(guest.Event) (*guest.Stop, bool), f *symbols.File, depth int, names *nameCache) ([]string, bool, error) {
	if err := m.Interrupt(); err != nil {
		return nil, false, err
	}
	var stop *guest.Stop
	for stop == nil {
		e, ok := <-ev
		if !ok {
			return nil, true, errors.New("machine closed")
		}
		s, ended := handle(e)
		if ended {
			return nil, true, nil
		}
		stop = s
	}
	stack := names.unwind(f, &stop.Regs, &pageCache{m: m, pages: map[uint64][]byte{}}, depth)
	return stack, false, m.Continue()
}

// nameCache names code addresses for stacks, and remembers whole
// unwinds: a profile revisits the same few stacks. The key is what
// decides the frames: rip, rsp, rbp and the stack copy (gcc's CFI
// computes every CFA from rsp or rbp, and the fallback follows rbp).
// Stacks are unwound without line lookups (symbols.UnwindPCs) and each
// distinct frame address is named once.
type nameCache struct {
	byPC   map[symbols.PCFrame][]string // innermost first (an inline chain); CFA zero
	bySnap map[snapKey][]string
	pcs    []symbols.PCFrame // UnwindPCs' buffer
}

type snapKey struct {
	rip, rsp, rbp uint64
	data          string
}

// maxSnapCache bounds the remembered unwinds.
const maxSnapCache = 4096

func newNameCache() *nameCache {
	return &nameCache{byPC: map[symbols.PCFrame][]string{}, bySnap: map[snapKey][]string{}}
}

// unwindSnapshot is unwind over a stack copy, remembered by its inputs.
func (c *nameCache) unwindSnapshot(f *symbols.File, s *stackSnapshot, depth int) []string {
	k := snapKey{rip: s.regs.RIP, rsp: s.regs.RSP, rbp: s.regs.RBP, data: string(s.data)}
	if st, ok := c.bySnap[k]; ok {
		return st
	}
	st := c.unwind(f, &s.regs, s, depth)
	if len(c.bySnap) < maxSnapCache {
		c.bySnap[k] = st
	}
	return st
}

// unwind unwinds from r and names every frame, inlined ones included,
// outermost first.
func (c *nameCache) unwind(f *symbols.File, r *guest.Regs, mem symbols.Memory, depth int) []string {
	c.pcs, _ = f.UnwindPCs(symbols.AllRegs(r.DWARF()), mem, depth, c.pcs[:0])
	var inner []string // innermost first
	for _, fr := range c.pcs {
		inner = append(inner, c.names(f, fr)...)
	}
	out := make([]string, len(inner))
	for i, s := range inner {
		out[len(inner)-1-i] = s
	}
	return out
}

// names names one frame: its inline chain as LookupGDB gives it (what
// Unwind's Frame.Loc holds).
func (c *nameCache) names(f *symbols.File, fr symbols.PCFrame) []string {
	fr.CFA = 0
	if n, ok := c.byPC[fr]; ok {
		return n
	}
	loc := f.LookupGDB(fr.LookupPC())
	var n []string
	for _, sf := range loc.Frames {
		name := sf.Func
		if name == "" {
			name = loc.Symbol
		}
		if name == "" {
			name = fmt.Sprintf("%#x", fr.PC)
		}
		n = append(n, name)
	}
	if len(n) == 0 {
		if loc.Symbol != "" {
			n = []string{loc.Symbol}
		} else {
			n = []string{fmt.Sprintf("%#x", fr.PC)}
		}
	}
	c.byPC[fr] = n
	return n
}

// stackSnapshot is what a sample copies while the guest is held: the
// registers and the stack from rsp up to the stack's top when it is
// known, else StackSnapshotMax bytes or up to the first unreadable page.
// The unwinder then runs on the copy while the guest goes on.
type stackSnapshot struct {
	regs guest.Regs
	base uint64
	data []byte
}

// StackSnapshotMax bounds the stack a sample copies.
const StackSnapshotMax = 32 << 10

func (s *stackSnapshot) take(r *guest.Regs, read func(uint64, []byte) error, limit int) {
	s.regs, s.base = *r, r.RSP
	buf := make([]byte, 0, limit)
	for a := r.RSP; len(buf) < limit; {
		n := min(4096-int(a&4095), limit-len(buf))
		chunk := buf[len(buf) : len(buf)+n]
		if read(a, chunk) != nil {
			break
		}
		buf = buf[:len(buf)+n]
		a += uint64(n)
	}
	s.data = buf
}

// stackBounds are the stacks the image names (ukw's boot stack,
// __boot_stack_bottom..__boot_stack_top): a sample on one copies only up
// to its top, keeping the guest's pause short.
type stackBounds [][2]uint64

func knownStacks(f *symbols.File) stackBounds {
	var b stackBounds
	lo, hi := f.LookupSymbol("__boot_stack_bottom"), f.LookupSymbol("__boot_stack_top")
	if len(lo) == 1 && len(hi) == 1 && lo[0].Addr < hi[0].Addr {
		b = append(b, [2]uint64{lo[0].Addr, hi[0].Addr})
	}
	return b
}

func (b stackBounds) limit(rsp uint64) int {
	for _, s := range b {
		if rsp >= s[0] && rsp < s[1] {
			return int(min(s[1]-rsp, StackSnapshotMax))
		}
	}
	return StackSnapshotMax
}

// ReadAt serves the unwinder from the copy.
func (s *stackSnapshot) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < s.base || a-s.base > uint64(len(s.data)) || uint64(len(p)) > uint64(len(s.data))-(a-s.base) {
		return 0, fmt.Errorf("%#x is outside the %d-byte stack copy at %#x", a, len(s.data), s.base)
	}
	return copy(p, s.data[a-s.base:]), nil
}

// pageCache reads a stopped machine's virtual memory a page at a time:
// one ReadMemory per page however many words the unwinder wants.
type pageCache struct {
	m     guest.Machine
	pages map[uint64][]byte
}

func (c *pageCache) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		a := uint64(off) + uint64(n)
		base := a &^ 4095
		pg, ok := c.pages[base]
		if !ok {
			pg = make([]byte, 4096)
			if err := c.m.ReadMemory(0, guest.Virtual, base, pg); err != nil {
				return n, err
			}
			c.pages[base] = pg
		}
		n += copy(p[n:], pg[a-base:])
	}
	return n, nil
}
