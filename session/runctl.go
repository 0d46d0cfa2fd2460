package session

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/x86/x86asm"

	"ukw/guest"
)

// A goal is a run-control request that takes several machine runs: step
// and next over source lines, finish, stepping over a call, or pausing a
// running guest to change its breakpoints. The loop hands each machine
// stop to the active goal, which either issues the next run (and returns
// false) or declares the stop worth reporting (true).
type goal interface {
	stopped(l *loop, st guest.Stop) bool
}

// maxLineSteps bounds one step/next so a tight loop without line changes
// cannot hang the session.
const maxLineSteps = 200000

// internal is a breakpoint the debugger core inserted for itself.
type internal struct {
	keys []slotKey
}

func (in *internal) add(l *loop, addr uint64) error {
	k := slotKey{addr: addr, kind: guest.BreakSoftware, size: 1}
	if err := l.insert(k); err != nil {
		return err
	}
	in.keys = append(in.keys, k)
	return nil
}

func (in *internal) clear(l *loop) {
	for _, k := range in.keys {
		l.remove(k)
	}
	in.keys = nil
}

// userHit reports whether a stop is at an enabled user breakpoint (which
// ends any goal, as in gdb).
func (l *loop) userHit(st guest.Stop) bool {
	switch st.Reason {
	case guest.StopBreakpoint, guest.StopHWBreakpoint:
		return len(l.hitting(st)) > 0
	case guest.StopWatchpoint, guest.StopTrap:
		return true
	}
	return false
}

// decodeAt decodes the instruction at pc.
func (l *loop) decodeAt(pc uint64) (x86asm.Inst, error) {
	buf := make([]byte, 16)
	if err := l.m.ReadMemory(0, guest.Virtual, pc, buf); err != nil {
		return x86asm.Inst{}, err
	}
	return x86asm.Decode(buf, 64)
}

func (l *loop) readU64(addr uint64) (uint64, error) {
	var b [8]byte
	if err := l.m.ReadMemory(0, guest.Virtual, addr, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// startGoal makes g active and the guest running; it reports errors.
func (l *loop) startGoal(g goal, first func() error) {
	l.goal = g
	if err := first(); err != nil {
		l.endGoal()
		l.s.errorf("%v", err)
		return
	}
	l.stop = nil
	l.setState(StateRunning, "")
}

func (l *loop) endGoal() {
	if c, ok := l.goal.(interface{ cleanup(*loop) }); ok {
		c.cleanup(l)
	}
	l.goal = nil
}

// stopped routes a machine stop to the active goal or reports it.
func (l *loop) stopped(st guest.Stop) {
	if l.goal != nil && l.interrupted {
		l.endGoal() // the user interrupted a goal between two of its runs
		st.Reason = guest.StopInterrupt
	}
	l.interrupted = false
	stepi := false
	if l.goal == nil && (st.Reason == guest.StopBreakpoint || st.Reason == guest.StopHWBreakpoint) &&
		len(l.bps.at(st.PC)) > 0 && len(l.hitting(st)) == 0 {
		l.resume() // every breakpoint here has a false condition
		return
	}
	if l.goal != nil {
		if !l.goal.stopped(l, st) {
			return
		}
		_, stepi = l.goal.(*stepInstrGoal)
		l.endGoal()
	}
	// gdb shows every inline frame after a stepi, and hides those that
	// begin right at the stop otherwise (symbols.HiddenInlineFrames).
	l.stepiStop = stepi
	l.reportStop(st, "")
	l.stepiStop = false
}

// whileStopped runs fn with the machine stopped: now, or after pausing a
// running guest (which is then resumed as it was).
func (l *loop) whileStopped(fn func()) {
	if l.m == nil || l.m.State() != guest.Running {
		fn()
		return
	}
	if _, pausing := l.goal.(*pauseGoal); pausing {
		p := l.goal.(*pauseGoal)
		p.fns = append(p.fns, fn)
		return
	}
	l.goal = &pauseGoal{fns: []func(){fn}, prev: l.goal}
	if err := l.m.Interrupt(); err != nil {
		l.s.errorf("interrupt: %v", err)
	}
}

// pauseGoal stops a running guest, runs fns, and lets it run on.
type pauseGoal struct {
	fns  []func()
	prev goal
}

func (p *pauseGoal) stopped(l *loop, st guest.Stop) bool {
	for _, fn := range p.fns {
		fn()
	}
	l.goal = p.prev
	if st.Reason == guest.StopInterrupt {
		return !l.cont() // our own pause: the guest runs on as before
	}
	// something else stopped the guest first: handle it as if not paused
	if p.prev == nil {
		return true
	}
	return p.prev.stopped(l, st)
}

// stepInstrGoal executes one instruction (nexti: a call runs to its return).
type stepInstrGoal struct {
	internal
	retAddr, sp uint64
}

func (l *loop) stepInstr(over bool) {
	g := &stepInstrGoal{}
	l.startGoal(g, func() error {
		r := l.stop.regs
		if over {
			if in, err := l.decodeAt(r.RIP); err == nil && in.Op == x86asm.CALL {
				g.retAddr, g.sp = r.RIP+uint64(in.Len), r.RSP
				if err := g.add(l, g.retAddr); err != nil {
					return err
				}
				return l.m.Continue()
			}
		}
		return l.m.Step(0)
	})
}

func (g *stepInstrGoal) cleanup(l *loop) { g.clear(l) }

func (g *stepInstrGoal) stopped(l *loop, st guest.Stop) bool {
	if g.retAddr != 0 && st.PC == g.retAddr && st.Regs.RSP != g.sp && !l.userHit(st) {
		// not our return (rsp is back at g.sp only then): a recursive
		// call's, or another thread's on its own stack
		return !l.cont()
	}
	return true
}

// cont continues the machine inside a goal; false when it could not.
func (l *loop) cont() bool {
	if err := l.m.Continue(); err != nil {
		l.s.errorf("continue: %v", err)
		return false
	}
	return true
}

func (l *loop) step() bool {
	if err := l.m.Step(0); err != nil {
		l.s.errorf("step: %v", err)
		return false
	}
	return true
}

// finishGoal runs until the selected frame returns to its caller.
type finishGoal struct {
	internal
	retAddr, cfa uint64
	fn           string
}

func (l *loop) finish() {
	st := l.stop
	i := st.frames[st.selected]
	phys := st.refs[st.selected].phys
	if phys+1 >= len(st.bt.Frames) {
		l.s.errorf(`"finish" not meaningful in the outermost frame.`)
		return
	}
	caller := st.bt.Frames[phys+1]
	g := &finishGoal{retAddr: caller.PC, cfa: st.bt.Frames[phys].CFA, fn: i.Function}
	l.s.outf("Run till exit from #%d %s", st.selected, l.describe(i.PC))
	l.startGoal(g, func() error {
		if err := g.add(l, g.retAddr); err != nil {
			return err
		}
		return l.m.Continue()
	})
}

func (g *finishGoal) cleanup(l *loop) { g.clear(l) }

func (g *finishGoal) stopped(l *loop, st guest.Stop) bool {
	if st.PC == g.retAddr && !l.userHit(st) {
		if g.cfa != 0 && st.Regs.RSP != g.cfa {
			// not ours (our frame returns with rsp at its CFA): a recursive
			// call's return, or another thread's on its own stack
			return !l.cont()
		}
		l.s.outf("Value returned from %s: rax = %d (%#x)", g.fn, int64(st.Regs.RAX), st.Regs.RAX)
	}
	return true
}

// lineGoal implements step (into calls) and next (over calls) by source line.
type lineGoal struct {
	internal
	over      bool
	lo, hi    uint64 // the current line's address range
	steps     int
	entered   bool   // the last step went into a call
	waitRet   uint64 // running to this return address (over a call)
	waitSP    uint64 // ... until rsp is back to this value
	waitEntry uint64 // running to a callee's post-prologue address
}

func (l *loop) stepLine(over bool) { l.stepLineFrom(over, false) }

// stepUntil is gdb's until without argument: next, with the step range
// reaching back to the function's start (until_next_command), so a jump
// back to an earlier line of this frame keeps stepping.
func (l *loop) stepUntil() { l.stepLineFrom(true, true) }

func (l *loop) stepLineFrom(over, until bool) {
	pc := l.stop.regs.RIP
	g := &lineGoal{over: over}
	if l.sym == nil {
		l.stepInstr(over)
		return
	}
	if li, ok := l.sym.LineAt(pc); ok {
		g.lo, g.hi = li.Lo, li.Hi
		if fn, ok := l.sym.FuncAt(pc); ok && until && fn.Lo <= g.lo {
			g.lo = fn.Lo
		}
	} else if fn, ok := l.sym.FuncAt(pc); ok {
		l.s.outf("Single stepping until exit from function %s, which has no line number information.", fn.Name)
		g.lo, g.hi = fn.Lo, fn.Hi
	} else {
		l.stepInstr(over)
		return
	}
	l.startGoal(g, func() error {
		if !g.advance(l, l.stop.regs) {
			return fmt.Errorf("cannot step at %#x", pc)
		}
		return nil
	})
}

func (g *lineGoal) cleanup(l *loop) { g.clear(l) }

// advance issues the next machine run from registers r.
func (g *lineGoal) advance(l *loop, r guest.Regs) bool {
	g.steps++
	in, err := l.decodeAt(r.RIP)
	if err == nil && in.Op == x86asm.CALL {
		if g.over {
			g.waitRet, g.waitSP = r.RIP+uint64(in.Len), r.RSP
			if err := g.add(l, g.waitRet); err != nil {
				l.s.errorf("next: %v", err)
				return false
			}
			return l.cont()
		}
		g.entered = true
	}
	return l.step()
}

func (g *lineGoal) stopped(l *loop, st guest.Stop) bool {
	if l.userHit(st) && st.PC != g.waitRet && st.PC != g.waitEntry {
		return true
	}
	switch st.Reason {
	case guest.StopStep, guest.StopBreakpoint, guest.StopHWBreakpoint:
	default:
		return true // interrupted, or something else: report it
	}
	pc := st.PC
	if g.waitRet != 0 {
		if pc != g.waitRet {
			return true
		}
		if st.Regs.RSP != g.waitSP {
			// not our return: a recursive call's, or another thread's
			// at the same address on its own stack (gdb's frame check)
			return !l.cont()
		}
		g.clear(l)
		g.waitRet = 0
	}
	if g.waitEntry != 0 {
		return true // at the callee's first line (or stopped on the way)
	}
	if g.entered {
		g.entered = false
		if _, hasLines := l.sym.LineAt(pc); hasLines {
			if fn, ok := l.sym.FuncAt(pc); ok && fn.Entry == pc {
				target := l.sym.AfterPrologue(fn.Entry)
				if target == pc {
					return true
				}
				g.waitEntry = target
				if err := g.add(l, target); err != nil {
					return true
				}
				return !l.cont()
			}
			return true
		}
		// a call into code without line information: run until it returns
		ret, err := l.readU64(st.Regs.RSP)
		if err != nil {
			return true
		}
		g.waitRet, g.waitSP = ret, st.Regs.RSP+8
		if err := g.add(l, ret); err != nil {
			return true
		}
		return !l.cont()
	}
	if g.steps > maxLineSteps {
		l.s.outf("step: gave up after %d instructions without reaching a new line", g.steps)
		return true
	}
	if pc >= g.lo && pc < g.hi {
		return !g.advance(l, st.Regs)
	}
	li, ok := l.sym.LineAt(pc)
	if !ok {
		return true
	}
	if l.sym.IsStmtStart(pc) {
		return true
	}
	// in the middle of a line (back in a caller): finish that line
	g.lo, g.hi = li.Lo, li.Hi
	return !g.advance(l, st.Regs)
}
