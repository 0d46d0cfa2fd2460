package session

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"ukw/guest"
)

// Software watchpoints: when the backend cannot watch memory (kvm-pvm
// delivers no #DB for data breakpoints, see MACHINE.md), the session does
// what gdb does in that case — it single-steps the guest and compares the
// watched bytes after every instruction. That is slow (one vCPU exit per
// instruction), so a message says so; only writes can be seen this way.

// maxSoftWatchSteps bounds one continue under software watchpoints.
const maxSoftWatchSteps = 2_000_000

// hasSoftWatch reports whether an enabled software watchpoint exists.
func (b *breakpoints) hasSoftWatch() bool {
	for _, bp := range b.list {
		if bp.Enabled && bp.soft && len(bp.Addrs) > 0 {
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
	if len(l.bps.at(st.PC)) > 0 {
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
	if now := l.watchedBytes(bp); now != nil && bp.Kind == guest.WatchWrite {
		if bp.old != nil {
			s += fmt.Sprintf("\nOld value = %s", watchValue(bp.old))
		}
		s += fmt.Sprintf("\nNew value = %s", watchValue(now))
		bp.old = now
	}
	return s + "\n" + l.describe(pc)
}
