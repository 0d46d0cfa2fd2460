package session

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ukw/guest"
	"ukw/symbols"
)

// frameRef locates a flattened Frame: physical frame and inline depth.
type frameRef struct{ phys, inline int }

// stopState is the loop's view of the current stop.
type stopState struct {
	seq      int
	reason   guest.StopReason
	regs     guest.Regs
	bt       symbols.Backtrace
	frames   []Frame
	refs     []frameRef
	selected int
	hide     int // inline frames at the pc not shown (gdb's skipped frames)
}

// layeredMem tries each reader in turn (the machine, a saved stack copy, the ELF).
type layeredMem []interface {
	ReadAt([]byte, int64) (int, error)
}

func (lm layeredMem) ReadAt(p []byte, off int64) (int, error) {
	err := error(errors.New("no memory"))
	for _, r := range lm {
		if r == nil {
			continue
		}
		var n int
		if n, err = r.ReadAt(p, off); err == nil && n == len(p) {
			return n, nil
		}
	}
	return 0, err
}

// stackCopy serves reads from a raw stack copy (Fault.Stack).
type stackCopy struct {
	addr uint64
	data []byte
}

func (s stackCopy) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < s.addr || a+uint64(len(p)) > s.addr+uint64(len(s.data)) {
		return 0, errors.New("outside the saved stack")
	}
	return copy(p, s.data[a-s.addr:]), nil
}

// unwind symbolizes a backtrace and flattens its inline chains.
// hide is how many inline frames of the innermost frame are not shown
// (symbols.HiddenInlineFrames).
func (l *loop) unwind(r *guest.Regs, mem symbols.Memory, hide int) (symbols.Backtrace, []Frame, []frameRef) {
	if l.sym == nil {
		f := Frame{PC: r.RIP}
		return symbols.Backtrace{}, []Frame{f}, []frameRef{{0, 0}}
	}
	bt := l.sym.Unwind(symbols.AllRegs(r.DWARF()), mem)
	var frames []Frame
	var refs []frameRef
	for i, pf := range bt.Frames {
		loc := pf.Loc
		if len(loc.Frames) == 0 {
			frames = append(frames, Frame{Index: len(frames), PC: pf.PC, CFA: pf.CFA, Function: loc.Symbol, Offset: loc.Offset})
			refs = append(refs, frameRef{i, 0})
			continue
		}
		for j, sf := range loc.Frames {
			if i == 0 && j < hide && hide < len(loc.Frames) {
				continue
			}
			fr := Frame{Index: len(frames), PC: pf.PC, CFA: pf.CFA, Function: sf.Func, File: sf.File, Line: sf.Line, Col: sf.Column, Inlined: sf.Inlined}
			if j == len(loc.Frames)-1 && loc.Symbol != "" {
				fr.Offset = loc.Offset
			}
			frames = append(frames, fr)
			refs = append(refs, frameRef{i, j})
		}
	}
	return bt, frames, refs
}

// frameVars formats the arguments and locals of flattened frame i.
func (l *loop) frameVars(st *stopState, i int) []Var {
	if l.sym == nil || i >= len(st.refs) || len(st.bt.Frames) == 0 {
		return nil
	}
	ref := st.refs[i]
	params, locals, err := l.sym.FrameVars(st.bt.Frames, ref.phys, ref.inline, guest.VirtualMemory{M: l.m})
	if err != nil {
		return nil
	}
	var out []Var
	for _, v := range params {
		out = append(out, l.varOf(VarArg, v))
	}
	for _, v := range locals {
		out = append(out, l.varOf(VarLocal, v))
	}
	return out
}

// frameWhere is "function at file:line" for a frame (its pc when the
// function is unknown), as stop details name places.
func frameWhere(f Frame) string {
	s := f.Function
	if s == "" {
		s = fmt.Sprintf("%#x", f.PC)
	}
	if f.File != "" && f.Line > 0 {
		s += fmt.Sprintf(" at %s:%d", shortPath(f.File), f.Line)
	}
	return s
}

// reportStop builds the snapshot of a stop and publishes it.
func (l *loop) reportStop(st guest.Stop, detail string) { l.report(st, detail, -1) }

// stepIntoInline is gdb's `step` at a stop that hides inline frames
// (gdb's infrun.c, step_into_inline_frame): the next hidden frame is shown
// and reported as a step's stop without running the guest. It reports
// whether there was one.
func (l *loop) stepIntoInline() bool {
	st := l.stop
	if st == nil || st.hide == 0 || l.m == nil || l.m.State() != guest.Stopped {
		return false
	}
	l.report(guest.Stop{Reason: guest.StopStep, PC: st.regs.RIP, Regs: st.regs}, "", st.hide-1)
	return true
}

// report is reportStop with hide inline frames hidden (-1: as gdb would
// at this stop, hiddenInline).
func (l *loop) report(st guest.Stop, detail string, hide int) {
	regs := st.Regs
	if regs.RIP == 0 && st.PC == 0 || st.Reason == guest.StopEntry {
		r, err := l.m.Regs(st.CPU)
		if err == nil {
			regs = r
		}
	}
	if st.PC == 0 {
		st.PC = regs.RIP
	}
	l.seq++
	if hide < 0 {
		hide = l.hiddenInline(st)
	}
	s := &stopState{seq: l.seq, reason: st.Reason, regs: regs, hide: hide}
	s.bt, s.frames, s.refs = l.unwind(&regs, guest.VirtualMemory{M: l.m}, hide)
	l.stop = s
	l.mem.newStop()
	// the place as shown: frame 0 (which may be a caller of hidden inline frames)
	where := l.describe(st.PC)
	if len(s.frames) > 0 && s.frames[0].Function != "" {
		where = frameWhere(s.frames[0])
	}

	switch st.Reason {
	case guest.StopBreakpoint, guest.StopHWBreakpoint:
		hits := l.hitting(st)
		for _, bp := range hits {
			bp.Hits++
		}
		if len(hits) > 0 {
			bp := hits[0]
			word := "Breakpoint"
			if bp.Temporary {
				word = "Temporary breakpoint"
			}
			detail = fmt.Sprintf("%s %d, %s", word, bp.ID, where)
			for _, h := range hits {
				if h.Temporary {
					l.deleteBreakpoint(h.ID)
				}
			}
			l.emitBreakpoints()
		}
	case guest.StopWatchpoint:
		generic := fmt.Sprintf("%s on %#x, %s", st.Watch, st.Addr, where)
		for _, bp := range l.bps.list {
			if bp.Kind.IsWatch() && len(bp.Addrs) > 0 && bp.Addrs[0] <= st.Addr && st.Addr < bp.Addrs[0]+uint64(max(bp.size, 1)) {
				bp.Hits++
				generic = l.watchDetail(bp, hardwareWatchWord(bp.Kind), st.PC)
			}
		}
		if detail == "" {
			detail = generic
		}
		l.emitBreakpoints()
	case guest.StopTrap:
		detail = "trap (the guest's own breakpoint instruction), " + where
	}
	if detail == "" {
		detail = where
	}
	snap := Snapshot{
		Seq: s.seq, Reason: st.Reason, Detail: detail, CPU: st.CPU, PC: st.PC,
		Frames: append([]Frame(nil), s.frames...), Regs: regs,
	}
	if l.prev != nil {
		for r := guest.Reg(0); r < guest.NumRegs; r++ {
			if l.prev.Get(r) != regs.Get(r) {
				snap.Changed = append(snap.Changed, r)
			}
		}
	}
	prev := regs
	l.prev = &prev
	snap.Vars = l.frameVars(s, 0)
	l.emit(StopEvent{Snap: snap})
	l.setState(StateStopped, detail)
	l.showDisplays()
}

// selectFrame answers SelectFrame.
func (l *loop) selectFrame(i int) {
	st := l.stop
	if i < 0 || i >= len(st.frames) {
		l.s.errorf("no frame %d (the backtrace has %d)", i, len(st.frames))
		return
	}
	st.selected = i
	regs := st.regs
	if len(st.bt.Frames) > 0 {
		pr := st.bt.Frames[st.refs[i].phys].Regs
		for n := 0; n < guest.NumDWARFRegs; n++ {
			if v, ok := pr.Get(n); ok {
				reg, _ := guest.DWARFReg(n)
				regs.Set(reg, v)
			}
		}
	}
	l.emit(FrameEvent{Seq: st.seq, Index: i, Frame: st.frames[i], Regs: regs, Vars: l.frameVars(st, i)})
}

// faultEvent symbolizes a crash and renders the report `ukw run` prints.
func (l *loop) faultEvent(f guest.Fault) FaultEvent {
	ev := FaultEvent{Fault: f}
	mem := layeredMem{guest.VirtualMemory{M: l.m}, stackCopy{f.StackAddr, f.Stack}}
	if l.sym != nil {
		mem = append(mem, l.sym)
	}
	bt, frames, _ := l.unwind(&f.Regs, mem, 0)
	ev.Frames = frames
	if l.sym != nil && len(bt.Frames) > 0 {
		params, locals, _ := l.sym.FrameVars(bt.Frames, 0, 0, mem)
		for _, v := range params {
			ev.Vars = append(ev.Vars, Var{Kind: VarArg, Name: v.Name, Type: v.Type, Value: v.Value, Addr: v.Addr})
		}
		for _, v := range locals {
			ev.Vars = append(ev.Vars, Var{Kind: VarLocal, Name: v.Name, Type: v.Type, Value: v.Value, Addr: v.Addr})
		}
	}
	if l.sym != nil {
		c := symbols.Crash{Vector: f.Vector, ErrorCode: f.ErrorCode, CR2: f.Regs.CR2, Regs: symbols.AllRegs(f.Regs.DWARF()),
			RFLAGS: f.Regs.RFLAGS, Frames: bt.Frames, StopReason: bt.Reason, Summary: f.Summary(), VectorName: guest.VectorName}
		if f.Kind != guest.FaultException {
			c.Vector = -1
		}
		var b bytes.Buffer
		if err := symbols.WriteCrashReport(&b, l.sym, c, symbols.ReportOptions{}); err == nil {
			ev.Report = b.String()
		}
	}
	if ev.Report == "" {
		ev.Report = f.Summary()
	}
	return ev
}

// loadSource answers LoadSource.
func (l *loop) loadSource(file string) {
	lines, err := l.readSource(file)
	if err != nil {
		l.emit(SourceEvent{File: file, Err: err.Error()})
		return
	}
	l.emit(SourceEvent{File: file, Lines: lines})
}

// readSource reads a source file (a relative path also in the app) as lines.
func (l *loop) readSource(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil && l.app != nil && !filepath.IsAbs(file) {
		data, err = os.ReadFile(filepath.Join(l.app.Dir, file))
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), nil
}

// shortPath trims a path to its last two elements for messages.
func shortPath(p string) string {
	dir, base := filepath.Split(p)
	if dir == "" {
		return base
	}
	return filepath.Join(filepath.Base(dir), base)
}

// varOf converts a frame variable, with its children for structs and arrays.
func (l *loop) varOf(kind VarKind, v symbols.Var) Var {
	if v.Val.Type == "" {
		return Var{Kind: kind, Name: v.Name, Type: v.Type, Value: v.Value, Addr: v.Addr}
	}
	out := l.varTree(kind, v.Val, 0)
	out.Name, out.Type, out.Value, out.Addr = v.Name, v.Type, v.Value, v.Addr
	return out
}

// hiddenInline is how many inline frames gdb would hide at this stop: none
// after a stepi; else those beginning at the pc, up to the one a user
// breakpoint that caused the stop was set for.
func (l *loop) hiddenInline(st guest.Stop) int {
	if l.sym == nil || l.stepiStop {
		return 0
	}
	var loc *symbols.BreakLoc
	if st.Reason == guest.StopBreakpoint || st.Reason == guest.StopHWBreakpoint {
		for _, bp := range l.bps.at(st.PC) {
			if loc = bp.locAt(st.PC); loc != nil {
				break
			}
		}
	}
	return l.sym.HiddenInlineFrames(st.PC, loc)
}
