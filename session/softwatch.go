package session

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"ukw/guest"
	"ukw/symbols"
)

// Software watchpoints: when the backend cannot watch memory (kvm-pvm
// delivers no #DB for data breakpoints, see MACHINE.md), the session does
// what gdb does in that case — it single-steps the guest and compares the
// watched bytes after every instruction. That is slow (one vCPU exit per
// instruction), so a message says so; only writes can be seen this way.
// The same goal watches expressions that have a value but no memory
// (value watchpoints: a variable kept in a register at -O2, `a + b`),
// evaluated after every instruction in the frame they were set in, as gdb
// does; such a watchpoint is deleted when its frame returns.

// maxSoftWatchSteps bounds one continue under software watchpoints.
const maxSoftWatchSteps = 2_000_000

// hasSoftWatch reports whether an enabled software watchpoint exists.
func (b *breakpoints) hasSoftWatch() bool {
	for _, bp := range b.list {
		if bp.Enabled && bp.soft && (len(bp.Addrs) > 0 || bp.value) {
			return true
		}
	}
	return false
}

// makeSoft turns bp into a software watchpoint and records its value.
func (l *loop) makeSoft(bp *bpt) {
	bp.soft, bp.Err = true, ""
	bp.old = l.watchedBytes(bp)
}

func (l *loop) watchedBytes(bp *bpt) []byte {
	if len(bp.Addrs) == 0 || l.m == nil {
		return nil
	}
	b := make([]byte, max(bp.size, 1))
	if err := l.m.ReadMemory(0, guest.Virtual, bp.Addrs[0], b); err != nil {
		return nil
	}
	return b
}

// valueWatch makes bp a value watchpoint when its expression evaluates
// (in the selected frame) but is not in memory. It reports whether it did.
func (l *loop) valueWatch(bp *bpt) bool {
	if l.sym == nil || l.stop == nil {
		return false
	}
	v, err := l.eval(bp.Spec)
	if err != nil || v.Text == "" {
		return false
	}
	bp.value, bp.soft, bp.oldText, bp.scopeCFA, bp.scopeFn = true, true, v.Text, 0, ""
	bp.Where = fmt.Sprintf("%s (value %s, compared after every instruction)", bp.Spec, v.Text)
	if _, err := l.sym.Eval(bp.Spec, nil, 0, 0, l.memReader()); err != nil {
		// it needs a frame: the selected one, for as long as it lives
		st := l.stop
		if st.selected < len(st.refs) && st.refs[st.selected].phys < len(st.bt.Frames) {
			bp.scopeCFA = st.bt.Frames[st.refs[st.selected].phys].CFA
			bp.scopeFn = st.frames[st.selected].Function
			bp.Where = fmt.Sprintf("%s (value %s in %s's frame, compared after every instruction)", bp.Spec, v.Text, bp.scopeFn)
		}
	}
	return true
}

// valueNow evaluates a value watchpoint at registers r; gone reports that
// its frame has returned.
func (l *loop) valueNow(bp *bpt, r *guest.Regs) (text string, gone bool) {
	mem := guest.VirtualMemory{M: l.m}
	if bp.scopeCFA == 0 {
		v, err := l.sym.Eval(bp.Spec, nil, 0, 0, mem)
		if err != nil {
			return bp.oldText, false
		}
		return v.Text, false
	}
	bt := l.sym.Unwind(symbols.AllRegs(r.DWARF()), mem)
	for i, f := range bt.Frames {
		if f.CFA != bp.scopeCFA {
			continue
		}
		v, err := l.sym.Eval(bp.Spec, bt.Frames, i, 0, mem)
		if err != nil {
			return bp.oldText, false
		}
		return v.Text, false
	}
	// Not found while the frame lives (an unwind that stopped short): keep
	// the old value. The frame has returned once rsp is back at its CFA
	// (the caller's rsp before the call).
	return bp.oldText, r.RSP >= bp.scopeCFA
}

// softWatchGoal runs the guest one instruction at a time.
type softWatchGoal struct {
	steps int
}

func (l *loop) startSoftWatch() {
	for _, bp := range l.bps.list {
		if bp.soft && bp.old == nil {
			bp.old = l.watchedBytes(bp)
		}
	}
	g := &softWatchGoal{}
	l.s.outf("Continuing single-stepped: software watchpoints are set (this backend cannot watch memory).")
	l.startGoal(g, func() error { return l.m.Step(0) })
}

func (g *softWatchGoal) stopped(l *loop, st guest.Stop) bool {
	if st.Reason != guest.StopStep {
		return true // a breakpoint, an interrupt, a trap: report it
	}
	g.steps++
	for _, bp := range l.bps.list {
		if !bp.Enabled || !bp.value {
			continue
		}
		now, gone := l.valueNow(bp, &st.Regs)
		switch {
		case gone:
			l.deleteBreakpoint(bp.ID)
			l.reportStop(st, fmt.Sprintf("Watchpoint %d deleted because the program has left the block in\nwhich its expression is valid.\n%s", bp.ID, l.describe(st.PC)))
		case now != bp.oldText:
			bp.Hits++
			detail := fmt.Sprintf("Software watchpoint %d: %s\nOld value = %s\nNew value = %s\n%s", bp.ID, bp.Spec, bp.oldText, now, l.describe(st.PC))
			bp.oldText = now
			st.Reason, st.Watch = guest.StopWatchpoint, guest.WatchWrite
			l.reportStop(st, detail)
		default:
			continue
		}
		l.goal = nil
		return false
	}
	for _, bp := range l.bps.list {
		if !bp.Enabled || !bp.soft || len(bp.Addrs) == 0 {
			continue
		}
		now := l.watchedBytes(bp)
		if now == nil || bytes.Equal(now, bp.old) {
			continue
		}
		st.Reason, st.Addr, st.Watch = guest.StopWatchpoint, bp.Addrs[0], guest.WatchWrite
		bp.Hits++
		l.reportStop(st, l.watchDetail(bp, "Software watchpoint", st.PC))
		l.goal = nil
		return false // reported here, with the values
	}
	if len(l.hitting(st)) > 0 {
		st.Reason = guest.StopBreakpoint
		return true
	}
	if g.steps >= maxSoftWatchSteps {
		l.s.outf("software watchpoints: stopped after %d instructions without a change", g.steps)
		return true
	}
	return !l.step()
}

// watchValue formats watched bytes as a little-endian integer.
func watchValue(b []byte) string {
	var w [8]byte
	copy(w[:], b)
	v := binary.LittleEndian.Uint64(w[:])
	return fmt.Sprintf("%d", signExtend(v, len(b)))
}

// watchDetail describes a watchpoint hit like gdb: its number and
// expression, the old and new values of a write watchpoint, and where
// the guest stopped. It remembers the new value for the next hit.
func (l *loop) watchDetail(bp *bpt, word string, pc uint64) string {
	s := fmt.Sprintf("%s %d: %s", word, bp.ID, bp.Spec)
	now := l.watchedBytes(bp)
	switch {
	case now == nil:
	case bp.Kind == guest.WatchRead || (bp.Kind == guest.WatchAccess && bytes.Equal(now, bp.old)):
		s += fmt.Sprintf("\nValue = %s", watchValue(now)) // a read, as gdb shows it
		bp.old = now
	default:
		if bp.old != nil {
			s += fmt.Sprintf("\nOld value = %s", watchValue(bp.old))
		}
		s += fmt.Sprintf("\nNew value = %s", watchValue(now))
		bp.old = now
	}
	return s + "\n" + l.describe(pc)
}
