package session

import (
	"encoding/binary"
	"fmt"
	"strings"

	"ukw/guest"
	"ukw/symbols"
)

// Cooperative threads of lib/sched-coop, seen by the debugger as gdb sees
// an RTOS's tasks: the running one has the vCPU's registers; each other
// one has the context ukw_switch pushed on its stack (switch.S: r15, r14,
// r13, r12, rbx, rbp, then the return address, from the saved rsp up).

// schedFile names lib/sched-coop's thread table for 'FILE'::NAME.
const schedFile = "sched-coop/sched.c"

// savedWords is how many words ukw_switch leaves at a thread's saved rsp.
const savedWords = 7

// coopThread is one entry of the thread table in use.
type coopThread struct {
	id      int
	state   string // RUNNABLE or DONE
	current bool
	regs    guest.Regs // the running thread's, or the saved context's
	err     error      // the saved context could not be read
}

// coopThreads reads lib/sched-coop's thread table; ok is false when the
// image has no such layer.
func (l *loop) coopThreads() ([]coopThread, bool, error) {
	if l.sym == nil || l.stop == nil {
		return nil, false, nil
	}
	mem := l.memReader()
	q := func(expr string) (symbols.Value, error) {
		return l.sym.Eval(fmt.Sprintf(expr, schedFile), nil, 0, 0, mem)
	}
	curV, err := q("'%s'::current")
	if err != nil {
		return nil, false, nil // not a lib/sched-coop image
	}
	cur, _ := curV.Uint64()
	nV, err := q("sizeof('%[1]s'::threads) / sizeof('%[1]s'::threads[0])")
	if err != nil {
		return nil, true, err
	}
	n, _ := nV.Uint64()
	var out []coopThread
	for i := uint64(0); i < n && i < 1024; i++ {
		st, err := l.sym.Eval(fmt.Sprintf("'%s'::threads[%d].state", schedFile, i), nil, 0, 0, mem)
		if err != nil {
			return out, true, err
		}
		if st.Text == "FREE" {
			continue
		}
		t := coopThread{id: int(i), state: st.Text, current: i == cur, regs: l.stop.regs}
		if !t.current {
			t.err = l.savedContext(i, &t.regs)
		}
		out = append(out, t)
	}
	return out, true, nil
}

// savedContext fills r from thread i's switched-out context.
func (l *loop) savedContext(i uint64, r *guest.Regs) error {
	v, err := l.sym.Eval(fmt.Sprintf("'%s'::threads[%d].rsp", schedFile, i), nil, 0, 0, l.memReader())
	if err != nil {
		return err
	}
	sp, _ := v.Uint64()
	buf := make([]byte, 8*savedWords)
	if err := l.m.ReadMemory(0, guest.Virtual, sp, buf); err != nil {
		return err
	}
	w := func(k int) uint64 { return binary.LittleEndian.Uint64(buf[8*k:]) }
	r.R15, r.R14, r.R13, r.R12, r.RBX, r.RBP, r.RIP = w(0), w(1), w(2), w(3), w(4), w(5), w(6)
	r.RSP = sp + 8*savedWords
	return nil
}

// threadFrames unwinds a thread's registers into frames.
func (l *loop) threadFrames(t coopThread) []Frame {
	r := t.regs
	_, frames, _ := l.unwind(&r, guest.VirtualMemory{M: l.m}, 0)
	return frames
}

// infoThreads answers `info threads`: every thread in the table with the
// first frame outside the scheduler (where it yielded, joined or slept).
func (l *loop) infoThreads() {
	ts, ok, err := l.coopThreads()
	switch {
	case !ok:
		l.s.outf("One thread: the image has no lib/sched-coop thread table (the vCPU is the only thread).")
		return
	case err != nil:
		l.s.errorf("info threads: %v", err)
		return
	}
	var b strings.Builder
	b.WriteString("  Id  State     Frame")
	for _, t := range ts {
		mark, state := " ", strings.ToLower(t.state)
		if t.current {
			mark, state = "*", "running"
		}
		where := "<context unreadable: " + fmt.Sprint(t.err) + ">"
		if t.err == nil {
			where = l.threadWhere(l.threadFrames(t))
		}
		fmt.Fprintf(&b, "\n%s %-3d %-9s %s", mark, t.id, state, where)
	}
	l.s.outf("%s", b.String())
}

// threadWhere describes the first frame that is not the scheduler's own.
func (l *loop) threadWhere(frames []Frame) string {
	if len(frames) == 0 {
		return "??"
	}
	f := frames[0]
	for _, fr := range frames {
		if !strings.Contains(fr.File, "sched-coop/") {
			f = fr
			break
		}
	}
	return frameWhere(f)
}

// threadBacktrace answers `thread N`: the backtrace of thread N's context
// (the selection stays on the stopped thread: stepping runs the vCPU).
func (l *loop) threadBacktrace(id int) {
	ts, ok, err := l.coopThreads()
	if !ok || err != nil {
		l.s.errorf("thread %d: no lib/sched-coop thread table here%s", id, errSuffix(err))
		return
	}
	for _, t := range ts {
		if t.id != id {
			continue
		}
		if t.err != nil {
			l.s.errorf("thread %d: %v", id, t.err)
			return
		}
		var b strings.Builder
		state := strings.ToLower(t.state)
		if t.current {
			state = "running"
		}
		fmt.Fprintf(&b, "[Thread %d (%s)]", id, state)
		for _, f := range l.threadFrames(t) {
			fmt.Fprintf(&b, "\n#%-2d %s", f.Index, formatFrame(f))
		}
		l.s.outf("%s", b.String())
		return
	}
	l.s.errorf("Invalid thread ID: %d", id)
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}
