package session

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"ukw/guest"
	"ukw/symbols"
)

// The gdb commands beyond run control: print/FMT, whatis and ptype, set
// var, display, enable and disable, condition, advance, info line.

// display is one auto-display expression (gdb's display).
type display struct {
	id     int
	expr   string
	format byte
}

// printFormatted answers Print with a /FMT letter.
func (l *loop) printFormatted(expr string, f byte) {
	v, err := l.eval(expr)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	l.s.outf("%s = %s", expr, l.formatValue(v, f))
}

// formatValue formats a scalar as gdb's print/FMT does (gdb manual,
// "Output Formats"); other values keep their natural text.
func (l *loop) formatValue(v symbols.Value, f byte) string {
	n, ok := v.Uint64()
	if f == 0 || !ok {
		return v.Text // aggregates: gdb formats each member; ukw keeps the natural form
	}
	size := int(v.Size)
	if size <= 0 || size > 8 {
		size = 8
	}
	n &= ^uint64(0) >> (64 - 8*size)
	switch f {
	case 'x':
		return fmt.Sprintf("%#x", n)
	case 'z':
		return fmt.Sprintf("0x%0*x", 2*size, n)
	case 'o':
		return fmt.Sprintf("%#o", n)
	case 't':
		return strconv.FormatUint(n, 2)
	case 'd':
		return strconv.FormatInt(signExtend(n, size), 10)
	case 'u':
		return strconv.FormatUint(n, 10)
	case 'c':
		return fmt.Sprintf("%d %s", int8(n), charLiteral(byte(n)))
	case 'a':
		return fmt.Sprintf("%#x%s", n, l.annotate(n))
	}
	return v.Text
}

// charLiteral is a C character literal as gdb prints one.
func charLiteral(c byte) string {
	switch c {
	case '\n':
		return `'\n'`
	case '\t':
		return `'\t'`
	case '\r':
		return `'\r'`
	case 0:
		return `'\000'`
	case '\'':
		return `'\''`
	case '\\':
		return `'\\'`
	}
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf(`'\%03o'`, c)
}

// whatis answers Whatis: the type, or for ptype a struct or union (or an
// array of one, or a pointer to one) spelled out with its members, as
// gdb's ptype prints it.
func (l *loop) whatis(c Whatis) {
	v, err := l.eval(c.Expr)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	base := strings.TrimPrefix(strings.TrimPrefix(v.Type, "const "), "volatile ")
	aggregate := strings.HasPrefix(base, "struct ") || strings.HasPrefix(base, "union ")
	if !c.Expand || !aggregate || l.sym == nil {
		l.s.outf("type = %s", v.Type)
		return
	}
	head, suffix, elem := v.Type, "", v
	switch {
	case strings.HasSuffix(v.Type, " *"): // one level of pointer, as gdb expands it
		head, suffix = strings.TrimSuffix(v.Type, " *"), " *"
		elem, err = l.eval("*(" + c.Expr + ")")
	case strings.Contains(v.Type, " ["):
		i := strings.Index(v.Type, " [")
		head, suffix = v.Type[:i], v.Type[i:]
		elem, err = l.eval("(" + c.Expr + ")[0]")
	case strings.ContainsAny(v.Type, "*["):
		l.s.outf("type = %s", v.Type)
		return
	}
	if err != nil {
		l.s.outf("type = %s", v.Type)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "type = %s {\n", head)
	for _, m := range l.sym.Children(elem, l.memReader(), 1024) {
		fmt.Fprintf(&b, "    %s;\n", declaration(m.Type, m.Name))
	}
	b.WriteString("}" + suffix)
	l.s.outf("%s", b.String())
}

// declaration writes a C declaration of name with type typ as gdb names
// types ("char *", "int [3]").
func declaration(typ, name string) string {
	if i := strings.Index(typ, " ["); i >= 0 {
		return typ[:i] + " " + name + typ[i+1:]
	}
	if strings.HasSuffix(typ, "*") {
		return typ + name
	}
	return typ + " " + name
}

// setVar answers SetVar: an integer, pointer, enum, char or bool lvalue in
// memory takes the value of Rhs, converted to its size as C assignment
// does; the selected frame is shown again.
func (l *loop) setVar(c SetVar) {
	lhs, err := l.eval(c.Lhs)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	if !lhs.Lvalue {
		l.s.errorf("cannot assign to %s: it is not in memory here (a register variable, or not an lvalue)", c.Lhs)
		return
	}
	if _, ok := lhs.Uint64(); !ok || lhs.Size < 1 || lhs.Size > 8 {
		l.s.errorf("cannot assign to %s (%s): only integer, pointer, enum, char and bool variables", c.Lhs, lhs.Type)
		return
	}
	rhs, err := l.eval(c.Rhs)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	n, ok := rhs.Uint64()
	if !ok {
		l.s.errorf("cannot assign %s (%s) to %s", c.Rhs, rhs.Type, c.Lhs)
		return
	}
	v := uint64(signExtend(n, int(rhs.Size)))
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	if err := l.m.WriteMemory(0, guest.Virtual, lhs.Addr, buf[:lhs.Size]); err != nil {
		l.s.errorf("set var %s: %v", c.Lhs, err)
		return
	}
	l.mem.newStop()
	l.selectFrame(l.stop.selected) // the locals pane shows the new value
}

// addDisplay answers Display: the expression is shown now and after every stop.
func (l *loop) addDisplay(c Display) {
	l.nextDisplay++
	d := display{id: l.nextDisplay, expr: c.Expr, format: c.Format}
	l.displays = append(l.displays, d)
	if l.stop != nil {
		l.showDisplay(d)
	}
}

func (l *loop) undisplay(id int) {
	keep := l.displays[:0]
	found := false
	for _, d := range l.displays {
		if id == 0 || d.id == id {
			found = true
			continue
		}
		keep = append(keep, d)
	}
	l.displays = keep
	if !found && id != 0 {
		l.s.errorf("no display number %d", id)
	}
}

// showDisplays prints every auto-display after a stop, as gdb does.
func (l *loop) showDisplays() {
	for _, d := range l.displays {
		l.showDisplay(d)
	}
}

func (l *loop) showDisplay(d display) {
	name := d.expr
	if d.format != 0 {
		name = "/" + string(d.format) + " " + d.expr
	}
	v, err := l.eval(d.expr)
	if err != nil {
		l.s.outf("%d: %s = <error: %v>", d.id, name, err)
		return
	}
	l.s.outf("%d: %s = %s", d.id, name, l.formatValue(v, d.format))
}

func (l *loop) infoDisplay() string {
	if len(l.displays) == 0 {
		return "There are no auto-display expressions now."
	}
	var b strings.Builder
	b.WriteString("Auto-display expressions now in effect:\nNum Enb Expression")
	for _, d := range l.displays {
		e := d.expr
		if d.format != 0 {
			e = "/" + string(d.format) + " " + e
		}
		fmt.Fprintf(&b, "\n%d:   y  %s", d.id, e)
	}
	return b.String()
}

// enable answers Enable: the breakpoints are inserted or lifted.
func (l *loop) enable(c Enable) {
	found := false
	for _, bp := range l.bps.list {
		if (c.ID != 0 && bp.ID != c.ID) || bp.Enabled == c.On {
			found = found || bp.ID == c.ID
			continue
		}
		found = true
		bp.Enabled = c.On
		if l.m == nil || bp.Err != "" || bp.soft {
			continue // software and value watchpoints are checked by the session, not inserted
		}
		b := bp
		l.whileStopped(func() {
			for _, k := range b.keys() {
				if !c.On {
					l.remove(k)
				} else if err := l.insert(k); err != nil {
					b.Err = fmt.Sprintf("cannot insert at %#x: %v", k.addr, err)
				}
			}
			if c.On && b.Kind.IsWatch() {
				b.old = l.watchedBytes(b)
			}
		})
	}
	if !found && c.ID != 0 {
		l.s.errorf("no breakpoint number %d", c.ID)
	}
	l.emitBreakpoints()
}

// condition answers Condition.
func (l *loop) condition(c Condition) {
	for _, bp := range l.bps.list {
		if bp.ID != c.ID {
			continue
		}
		if bp.Kind.IsWatch() && c.Expr != "" {
			l.s.errorf("condition: only breakpoints take conditions here, not watchpoints")
			return
		}
		bp.Cond = c.Expr
		if c.Expr == "" {
			l.s.outf("Breakpoint %d now unconditional.", c.ID)
		}
		l.emitBreakpoints()
		return
	}
	l.s.errorf("no breakpoint number %d", c.ID)
}

// hitting returns the user breakpoints at st's pc whose condition holds
// (or that have none). A condition that cannot be evaluated stops, with
// the error, as in gdb.
func (l *loop) hitting(st guest.Stop) []*bpt {
	at := l.bps.at(st.PC)
	var out []*bpt
	var frames []symbols.Frame
	unwound := false
	for _, bp := range at {
		if bp.Cond == "" || l.sym == nil || l.m == nil {
			out = append(out, bp)
			continue
		}
		if !unwound {
			regs := st.Regs
			if regs.RIP == 0 {
				regs, _ = l.m.Regs(st.CPU)
			}
			frames = l.sym.Unwind(symbols.AllRegs(regs.DWARF()), guest.VirtualMemory{M: l.m}).Frames
			unwound = true
		}
		v, err := l.sym.Eval(bp.Cond, frames, 0, 0, guest.VirtualMemory{M: l.m})
		if err != nil {
			l.s.errorf("Error in testing condition for breakpoint %d: %v", bp.ID, err)
			out = append(out, bp)
			continue
		}
		if n, ok := v.Uint64(); !ok || n != 0 {
			out = append(out, bp)
		}
	}
	return out
}

// infoLine answers `info line`: the address range of the selected
// frame's line, as gdb words it.
func (l *loop) infoLine() {
	if l.sym == nil || l.stop == nil {
		l.s.errorf("info line: the guest is not stopped")
		return
	}
	pc := l.frameRegs().RIP
	if l.stop.selected > 0 {
		pc = l.stop.frames[l.stop.selected].PC - 1 // the call instruction's line
	}
	li, ok := l.sym.LineAt(pc)
	if !ok {
		l.s.outf("No line number information available for address %#x%s", pc, l.annotate(pc))
		return
	}
	// gdb reports the line-table row holding pc: from its address to the
	// next row's (a line can span several rows; LineAt's Lo/Hi is the
	// step range over all of them)
	lo, hi := li.RowAddr, li.RowAddr+1
	for hi < li.Hi {
		if r, ok := l.sym.LineAt(hi); !ok || r.RowAddr != lo {
			break
		}
		hi++
	}
	l.s.outf("Line %d of \"%s\" starts at address %#x%s and ends at %#x%s.",
		li.Line, li.File, lo, l.annotate(lo), hi, l.annotate(hi))
}

// advanceGoal runs to a location or until the selected frame returns
// (gdb's advance and until LOCATION).
type advanceGoal struct {
	internal
	at           map[uint64]bool
	retAddr, cfa uint64
}

func (l *loop) advance(spec string) {
	locs, err := l.resolveSpec(spec)
	if err != nil {
		l.s.errorf("advance %s: %v", spec, err)
		return
	}
	g := &advanceGoal{at: map[uint64]bool{}}
	for _, loc := range locs {
		g.at[loc.Addr] = true
	}
	st := l.stop
	if st.selected < len(st.refs) {
		if phys := st.refs[st.selected].phys; phys+1 < len(st.bt.Frames) {
			g.retAddr, g.cfa = st.bt.Frames[phys+1].PC, st.bt.Frames[phys].CFA
		}
	}
	l.startGoal(g, func() error {
		for a := range g.at {
			if err := g.add(l, a); err != nil {
				return err
			}
		}
		if g.retAddr != 0 && !g.at[g.retAddr] {
			if err := g.add(l, g.retAddr); err != nil {
				return err
			}
		}
		return l.m.Continue()
	})
}

func (g *advanceGoal) cleanup(l *loop) { g.clear(l) }

func (g *advanceGoal) stopped(l *loop, st guest.Stop) bool {
	if g.retAddr != 0 && st.PC == g.retAddr && !g.at[st.PC] && st.Regs.RSP != g.cfa && !l.userHit(st) {
		return !l.cont() // another frame's return (recursion, another thread)
	}
	return true
}

// infoSymbol answers `info symbol ADDR` as gdb words it: "main + 13 in
// section .text".
func (l *loop) infoSymbol(expr string) {
	if expr == "" {
		l.s.errorf("Argument required (address).")
		return
	}
	v, err := l.eval(expr)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	addr, ok := v.Uint64()
	if !ok && v.Addr != 0 {
		addr, ok = v.Addr, true // a function or an array: its address, as gdb takes it
	}
	if !ok || l.sym == nil {
		l.s.errorf("info symbol: %s is not an address", expr)
		return
	}
	name, off, found := l.symbolAt(addr)
	sec, inSec := l.sym.SectionAt(addr)
	if !found || !inSec {
		l.s.outf("No symbol matches %s.", expr)
		return
	}
	where := name
	if off != 0 {
		where = fmt.Sprintf("%s + %d", name, off)
	}
	l.s.outf("%s in section %s", where, sec.Name)
}

// jump answers Jump: rip moves to the location's first address and the
// guest continues from there, as gdb's jump does (the stack and the other
// registers stay as they are).
func (l *loop) jump(spec string) {
	locs, err := l.resolveSpec(spec)
	if err != nil || len(locs) == 0 {
		l.s.errorf("jump %s: %v", spec, err)
		return
	}
	r := l.stop.regs
	r.RIP = locs[0].Addr
	if err := l.m.SetRegs(0, &r); err != nil {
		l.s.errorf("jump: %v", err)
		return
	}
	l.s.outf("Continuing at %#x.", r.RIP)
	l.resume()
}
