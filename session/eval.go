package session

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ukw/guest"
	"ukw/symbols"
)

// memReader reads guest memory for symbols: the machine, else the ELF's
// own sections (for a finished guest).
func (l *loop) memReader() symbols.Memory {
	var mem layeredMem
	if l.m != nil {
		mem = append(mem, guest.VirtualMemory{M: l.m})
	}
	if l.sym != nil {
		mem = append(mem, l.sym)
	}
	return mem
}

// eval evaluates a C expression in the selected frame (symbols.Eval: locals,
// arguments, globals, registers, operators, casts), or with no stop, globals
// and numbers only.
func (l *loop) eval(expr string) (symbols.Value, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return symbols.Value{}, errors.New("empty expression")
	}
	if l.sym == nil {
		return l.evalRaw(expr)
	}
	var frames []symbols.Frame
	i, inline := 0, 0
	if st := l.stop; st != nil && len(st.bt.Frames) > 0 && st.selected < len(st.refs) {
		frames = st.bt.Frames
		i, inline = st.refs[st.selected].phys, st.refs[st.selected].inline
	}
	return l.sym.Eval(expr, frames, i, inline, l.memReader())
}

// evalRaw handles numbers and $registers when there are no symbols.
func (l *loop) evalRaw(expr string) (symbols.Value, error) {
	if n, err := strconv.ParseUint(expr, 0, 64); err == nil {
		return symbols.Value{Expr: expr, Type: "long", Text: strconv.FormatUint(n, 10), Size: 8}, nil
	}
	if reg, ok := guest.RegByName(expr); ok && strings.HasPrefix(expr, "$") {
		r := l.frameRegs()
		v := r.Get(reg)
		return symbols.Value{Expr: expr, Type: "long", Text: fmt.Sprintf("%#x", v), Size: 8}, nil
	}
	return symbols.Value{}, fmt.Errorf("no symbols: cannot evaluate %q", expr)
}

// address is where an expression points for x and the memory pane, as
// gdb's x takes it: the value of pointers, integers and registers; the
// address of arrays, structs and functions.
func address(v symbols.Value) (uint64, error) {
	if v.Lvalue && !strings.HasSuffix(v.Type, "*") && (strings.Contains(v.Type, "[") || strings.HasPrefix(v.Type, "struct") || strings.HasPrefix(v.Type, "union")) {
		return v.Addr, nil
	}
	if n, ok := v.Uint64(); ok {
		return n, nil
	}
	if v.Lvalue {
		return v.Addr, nil
	}
	if n, err := strconv.ParseUint(strings.Fields(v.Text + " x")[0], 0, 64); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("%s is not an address", v.Expr)
}

// frameRegs are the registers of the selected frame.
func (l *loop) frameRegs() guest.Regs {
	if l.stop == nil {
		if l.m != nil {
			if r, err := l.m.Regs(0); err == nil {
				return r
			}
		}
		return guest.Regs{}
	}
	st := l.stop
	regs := st.regs
	if len(st.bt.Frames) > 0 && st.selected < len(st.refs) {
		pr := st.bt.Frames[st.refs[st.selected].phys].Regs
		for n := 0; n < guest.NumDWARFRegs; n++ {
			if v, ok := pr.Get(n); ok {
				reg, _ := guest.DWARFReg(n)
				regs.Set(reg, v)
			}
		}
	}
	return regs
}

// watchTarget resolves a watch expression to the address and size watched.
func (l *loop) watchTarget(expr string) (uint64, int, string, error) {
	v, err := l.eval(expr)
	if err != nil {
		return 0, 0, "", err
	}
	if !v.Lvalue {
		return 0, 0, "", fmt.Errorf("cannot watch %s: not an lvalue in memory", expr)
	}
	size := 8
	for _, s := range []int64{1, 2, 4, 8} {
		if v.Size <= s {
			size = int(s)
			break
		}
	}
	where := fmt.Sprintf("%s (%s, %d bytes at %#x)", expr, v.Type, size, v.Addr)
	if v.Size > 8 {
		where += fmt.Sprintf(", first 8 of %d", v.Size)
	}
	return v.Addr, size, where, nil
}

// print answers Print like gdb: "expr = value".
func (l *loop) print(expr string) {
	v, err := l.eval(expr)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	l.s.outf("%s = %s", expr, v.Text)
}

func signExtend(v uint64, size int) int64 {
	switch size {
	case 1:
		return int64(int8(v))
	case 2:
		return int64(int16(v))
	case 4:
		return int64(int32(v))
	}
	return int64(v)
}

// annotate returns " <sym+off>" for an address inside a known symbol.
func (l *loop) annotate(addr uint64) string {
	name, off, ok := l.symbolAt(addr)
	if !ok {
		return ""
	}
	if off == 0 {
		return " <" + name + ">"
	}
	return fmt.Sprintf(" <%s+%d>", name, off)
}

// symbolAt names the symbol holding addr: a data object, else the
// nearest preceding symbol, with addr's offset into it.
func (l *loop) symbolAt(addr uint64) (string, uint64, bool) {
	if l.sym == nil {
		return "", 0, false
	}
	if name, off, ok := l.sym.DataSymbolAt(addr); ok {
		return name, off, true
	}
	s, off, ok := l.sym.SymbolAt(addr)
	return s.Name, off, ok
}

// maxChildren and maxDepth bound the variable trees a snapshot carries.
const (
	maxChildren = 64
	maxDepth    = 3
)

// varTree converts a symbols value and its children (to maxDepth) for the locals pane.
func (l *loop) varTree(kind VarKind, v symbols.Value, depth int) Var {
	out := Var{Kind: kind, Name: v.Name, Type: v.Type, Value: v.Text, Addr: v.Addr}
	if v.HasChildren && depth < maxDepth && !strings.HasSuffix(v.Type, "*") {
		for _, c := range l.sym.Children(v, l.memReader(), maxChildren) {
			out.Children = append(out.Children, l.varTree(kind, c, depth+1))
		}
	}
	return out
}
