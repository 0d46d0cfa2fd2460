package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ukw/guest"
	"ukw/symbols"
)

// value is what an expression evaluates to: a number, possibly with the
// address it was read from (an lvalue) and its size in bytes.
type value struct {
	v    uint64
	addr uint64 // 0 when not an lvalue
	size int
	text string // a formatted value when known (a local from DWARF)
}

// eval evaluates the small expression language the command line and the
// memory pane accept: numbers, $registers, symbols, locals and arguments
// of the selected frame, &x, *x, and + or - of those.
func (l *loop) eval(expr string) (value, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return value{}, errors.New("empty expression")
	}
	// + and - at the top level, left to right (outside parentheses)
	depth := 0
	for i := len(expr) - 1; i > 0; i-- {
		switch expr[i] {
		case ')':
			depth++
		case '(':
			depth--
		case '+', '-':
			if depth == 0 {
				a, err := l.eval(expr[:i])
				if err != nil {
					return value{}, err
				}
				b, err := l.eval(expr[i+1:])
				if err != nil {
					return value{}, err
				}
				if expr[i] == '+' {
					return value{v: a.v + b.v, size: 8}, nil
				}
				return value{v: a.v - b.v, size: 8}, nil
			}
		}
	}
	switch {
	case strings.HasPrefix(expr, "(") && strings.HasSuffix(expr, ")"):
		return l.eval(expr[1 : len(expr)-1])
	case strings.HasPrefix(expr, "*"):
		p, err := l.eval(expr[1:])
		if err != nil {
			return value{}, err
		}
		w, err := l.readWord(p.v, 8)
		if err != nil {
			return value{}, err
		}
		return value{v: w, addr: p.v, size: 8}, nil
	case strings.HasPrefix(expr, "&"):
		x, err := l.eval(expr[1:])
		if err != nil {
			return value{}, err
		}
		if x.addr == 0 {
			return value{}, fmt.Errorf("attempt to take address of value not located in memory")
		}
		return value{v: x.addr, size: 8}, nil
	case strings.HasPrefix(expr, "$"):
		reg, ok := guest.RegByName(expr)
		if !ok {
			return value{}, fmt.Errorf("no register %s", expr)
		}
		r := l.frameRegs()
		return value{v: r.Get(reg), size: 8}, nil
	}
	if n, err := strconv.ParseUint(expr, 0, 64); err == nil {
		return value{v: n, size: 8}, nil
	}
	if n, err := strconv.ParseInt(expr, 0, 64); err == nil {
		return value{v: uint64(n), size: 8}, nil
	}
	return l.evalName(expr)
}

// evalName looks a name up: locals and arguments first, then symbols.
func (l *loop) evalName(name string) (value, error) {
	if l.stop != nil {
		for _, v := range l.frameVars(l.stop, l.stop.selected) {
			if v.Name != name {
				continue
			}
			size := typeSize(v.Type)
			val := value{addr: v.Addr, size: size, text: v.Value}
			if v.Addr != 0 {
				if w, err := l.readWord(v.Addr, size); err == nil {
					val.v = w
				}
			} else if n, err := strconv.ParseInt(v.Value, 0, 64); err == nil {
				val.v = uint64(n)
			}
			return val, nil
		}
	}
	if l.sym != nil {
		for _, s := range l.sym.LookupSymbol(name) {
			if s.Kind == symbols.SymFunc {
				return value{v: s.Addr, size: 8}, nil
			}
			size := int(s.Size)
			if size <= 0 || size > 8 {
				size = 8
			}
			val := value{addr: s.Addr, size: int(s.Size)}
			if w, err := l.readWord(s.Addr, size); err == nil {
				val.v = w
			}
			if val.size == 0 {
				val.size = 8
			}
			return val, nil
		}
	}
	return value{}, fmt.Errorf("no symbol %q in current context", name)
}

// typeSize guesses a C scalar's size from its type name.
func typeSize(t string) int {
	switch {
	case strings.HasSuffix(t, "*"), strings.Contains(t, "long"), strings.Contains(t, "size_t"), strings.Contains(t, "64"):
		return 8
	case strings.Contains(t, "char"), strings.Contains(t, "8_t"), t == "_Bool", t == "bool":
		return 1
	case strings.Contains(t, "short"), strings.Contains(t, "16"):
		return 2
	}
	return 4
}

func (l *loop) readWord(addr uint64, size int) (uint64, error) {
	if l.m == nil {
		return 0, errors.New("no guest")
	}
	if size <= 0 || size > 8 {
		size = 8
	}
	var b [8]byte
	if err := l.m.ReadMemory(0, guest.Virtual, addr, b[:size]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
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
	if l.m == nil && l.sym == nil {
		return 0, 0, "", errors.New("no guest")
	}
	v, err := l.eval(expr)
	if err != nil {
		return 0, 0, "", err
	}
	if v.addr == 0 {
		return 0, 0, "", fmt.Errorf("cannot watch %s: not an lvalue in memory", expr)
	}
	size := v.size
	switch {
	case size >= 8:
		size = 8
	case size >= 4:
		size = 4
	case size >= 2:
		size = 2
	default:
		size = 1
	}
	return v.addr, size, fmt.Sprintf("%s (%d bytes at %#x)", expr, size, v.addr), nil
}

// print answers Print.
func (l *loop) print(expr string) {
	v, err := l.eval(expr)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	if v.text != "" {
		l.s.outf("%s = %s", expr, v.text)
		return
	}
	if strings.HasPrefix(strings.TrimSpace(expr), "&") || strings.HasPrefix(strings.TrimSpace(expr), "$r") {
		l.s.outf("%s = %#x%s", expr, v.v, l.annotate(v.v))
		return
	}
	l.s.outf("%s = %d (%#x)", expr, int64(signExtend(v.v, v.size)), v.v)
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
	if l.sym == nil {
		return ""
	}
	s, off, ok := l.sym.SymbolAt(addr)
	if !ok {
		return ""
	}
	if off == 0 {
		return " <" + s.Name + ">"
	}
	return fmt.Sprintf(" <%s+%d>", s.Name, off)
}
