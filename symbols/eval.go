package symbols

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"
)

// Eval evaluates a C expression the way gdb's `print` does, in the scope
// of frame i of a backtrace (inline selects the inlined function as in
// FrameVars; frames may be empty for globals only, with mem then usually
// the File itself).
//
// It accepts identifiers (the frame's locals, innermost block first, and
// parameters; then the file-scope variables, functions and enumerators of
// the frame's unit; then those of every unit), registers ($rax ... $r15,
// $rip, $pc, $sp), integer, floating and character literals, postfix
// `[]` `.` `->`, unary `* & - + ! ~ sizeof`, casts to base, struct,
// typedef and pointer types, binary `* / % + - << >> < <= > >= == != & ^ |
// && ||`, gdb's `@` and `?:`. Errors carry gdb's messages ("No symbol
// \"x\" in current context.").
func (f *File) Eval(expr string, frames []Frame, i, inline int, mem Memory) (v Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = Value{}, fmt.Errorf("cannot evaluate %q: %v", expr, p)
		}
	}()
	toks, err := tokenize(expr)
	if err != nil {
		return Value{}, err
	}
	ev := &evaluator{f: f, mem: mem, toks: toks, frames: frames, idx: i}
	if len(frames) > 0 {
		if i < 0 || i >= len(frames) {
			return Value{}, fmt.Errorf("no frame %d", i)
		}
		if sc, err := f.frameScope(frames, i, inline, mem); err == nil {
			ev.sc, ev.u = sc, sc.ctx.u
		} else if f.hasDW {
			if us := f.unitsFor(frames[i].PC); len(us) > 0 {
				ev.u = us[0]
			}
		}
	}
	v, err = ev.parseExpr()
	if err != nil {
		return Value{}, err
	}
	if ev.pos < len(ev.toks) {
		return Value{}, fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
	}
	v.Expr, v.Name = strings.TrimSpace(expr), strings.TrimSpace(expr)
	f.finish(&v, mem)
	return v, nil
}

// evaluator is a recursive-descent parser that evaluates as it parses
// (C11 6.5 operator precedence, with gdb's '@' between shifts and
// additive operators).
type evaluator struct {
	f      *File
	sc     *frameScope
	u      *unit
	mem    Memory
	frames []Frame
	idx    int
	toks   []token
	pos    int
}

func (ev *evaluator) peek() token {
	if ev.pos < len(ev.toks) {
		return ev.toks[ev.pos]
	}
	return token{}
}

func (ev *evaluator) accept(s string) bool {
	if t := ev.peek(); t.kind == tokPunct && t.text == s {
		ev.pos++
		return true
	}
	return false
}

func (ev *evaluator) expect(s string) error {
	if !ev.accept(s) {
		return fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
	}
	return nil
}

func (ev *evaluator) rest() string {
	var b []string
	for _, t := range ev.toks[ev.pos:] {
		b = append(b, t.text)
	}
	return strings.Join(b, "")
}

func (ev *evaluator) parseExpr() (Value, error) {
	c, err := ev.parseBinary(0)
	if err != nil {
		return c, err
	}
	if !ev.accept("?") {
		return c, nil
	}
	a, err := ev.parseExpr()
	if err != nil {
		return a, err
	}
	if err := ev.expect(":"); err != nil {
		return Value{}, err
	}
	b, err := ev.parseExpr()
	if err != nil {
		return b, err
	}
	t, err := ev.truth(c)
	if err != nil {
		return Value{}, err
	}
	if t {
		return a, nil
	}
	return b, nil
}

// binaryLevels lists the binary operators from the loosest binding.
var binaryLevels = [][]string{
	{"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<", ">", "<=", ">="},
	{"<<", ">>"}, {"@"}, {"+", "-"}, {"*", "/", "%"},
}

func (ev *evaluator) parseBinary(level int) (Value, error) {
	if level == len(binaryLevels) {
		return ev.parseUnary()
	}
	l, err := ev.parseBinary(level + 1)
	if err != nil {
		return l, err
	}
	for {
		t := ev.peek()
		op := ""
		for _, o := range binaryLevels[level] {
			if t.kind == tokPunct && t.text == o {
				op = o
			}
		}
		if op == "" {
			return l, nil
		}
		ev.pos++
		r, err := ev.parseBinary(level + 1)
		if err != nil {
			return r, err
		}
		if l, err = ev.binary(op, l, r); err != nil {
			return l, err
		}
	}
}

func (ev *evaluator) parseUnary() (Value, error) {
	t := ev.peek()
	if t.kind == tokIdent && t.text == "sizeof" {
		ev.pos++
		var typ dwarf.Type
		if ev.peekIsCast() {
			ev.pos++
			tt, err := ev.parseTypeName()
			if err != nil {
				return Value{}, err
			}
			if err := ev.expect(")"); err != nil {
				return Value{}, err
			}
			typ = tt
		} else {
			v, err := ev.parseUnary()
			if err != nil {
				return v, err
			}
			typ = v.typ
		}
		if typ == nil || typ.Size() < 0 {
			return Value{}, errors.New("Attempt to take size of an incomplete type.")
		}
		return scalar(cInt, uint64(typ.Size())), nil
	}
	if t.kind == tokPunct {
		switch t.text {
		case "-", "+", "!", "~", "*", "&":
			ev.pos++
			if t.text == "&" && ev.accept("*") {
				// &*E is E, not evaluated as an lvalue (C11 6.5.3.2).
				v, err := ev.parseUnary()
				if err != nil {
					return v, err
				}
				if v.state != "" {
					return Value{typ: v.typ, state: v.state}, nil
				}
				return ev.decay(v)
			}
			v, err := ev.parseUnary()
			if err != nil {
				return v, err
			}
			return ev.unary(t.text, v)
		case "(":
			if ev.peekIsCast() {
				ev.pos++
				typ, err := ev.parseTypeName()
				if err != nil {
					return Value{}, err
				}
				if err := ev.expect(")"); err != nil {
					return Value{}, err
				}
				v, err := ev.parseUnary()
				if err != nil {
					return v, err
				}
				return ev.cast(typ, v)
			}
		}
	}
	return ev.parsePostfix()
}

func (ev *evaluator) parsePostfix() (Value, error) {
	v, err := ev.parsePrimary()
	if err != nil {
		return v, err
	}
	for {
		switch {
		case ev.accept("["):
			idx, err := ev.parseExpr()
			if err != nil {
				return idx, err
			}
			if err := ev.expect("]"); err != nil {
				return Value{}, err
			}
			if v, err = ev.index(v, idx); err != nil {
				return v, err
			}
		case ev.accept("."), ev.accept("->"):
			arrow := ev.toks[ev.pos-1].text == "->"
			name := ev.peek()
			if name.kind != tokIdent {
				return Value{}, fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
			}
			ev.pos++
			if arrow {
				if _, ok := underlying(v.typ).(*dwarf.PtrType); ok {
					if v, err = ev.deref(v); err != nil {
						return v, err
					}
				}
			}
			if v, err = ev.member(v, name.text); err != nil {
				return v, err
			}
		default:
			return v, nil
		}
	}
}

func (ev *evaluator) parsePrimary() (Value, error) {
	t := ev.peek()
	switch t.kind {
	case tokNone:
		return Value{}, errors.New("A syntax error in expression, near `'.")
	case tokInt:
		ev.pos++
		return intLiteral(t.text)
	case tokFloat:
		ev.pos++
		return floatLiteral(t.text)
	case tokChar:
		ev.pos++
		if file, ok := ev.scopedFile(t.text); ok { // 'file.c'::name
			name := ev.toks[ev.pos-1].text
			known := false
			for _, u := range ev.f.units {
				known = known || fileMatches(u.name, file)
			}
			if !known {
				return Value{}, fmt.Errorf("No symbol \"%s\" in current context.", file) // gdb's words
			}
			v, err := ev.fileScope(name, func(u *unit) bool { return fileMatches(u.name, file) })
			if err != nil && (strings.HasPrefix(err.Error(), "No symbol") || strings.Contains(err.Error(), "unknown type")) {
				return v, fmt.Errorf("No symbol \"%s\" in file %s.", name, file)
			}
			return v, err
		}
		return charLiteral(t.text)
	case tokReg:
		ev.pos++
		return ev.register(t.text[1:])
	case tokIdent:
		ev.pos++
		return ev.identifier(t.text)
	}
	if ev.accept("(") {
		v, err := ev.parseExpr()
		if err != nil {
			return v, err
		}
		return v, ev.expect(")")
	}
	return Value{}, fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
}

// identifier resolves a name: locals innermost block first, parameters,
// then file scope of the frame's unit and of every unit (gdb's block,
// static and global lookups).
func (ev *evaluator) identifier(name string) (Value, error) {
	if ev.sc != nil {
		for _, blk := range ev.sc.locals {
			for _, e := range blk {
				if n, _ := ev.sc.ctx.varType(e); n == name {
					return ev.varValue(ev.sc.ctx, e)
				}
			}
		}
		for _, e := range ev.sc.params {
			if n, _ := ev.sc.ctx.varType(e); n == name {
				return ev.varValue(ev.sc.ctx, e)
			}
		}
	}
	return ev.fileScope(name, nil)
}

// scopedFile recognises gdb's 'FILE'::NAME (gdb manual, "Program
// Variables"): quoted (the char token just read) is a file name, not a
// character, when `::` and an identifier follow; it consumes them, leaving
// the identifier as the last token read.
func (ev *evaluator) scopedFile(quoted string) (string, bool) {
	p := ev.pos
	if len(quoted) < 4 || p+2 >= len(ev.toks) || ev.toks[p].text != ":" || ev.toks[p+1].text != ":" || ev.toks[p+2].kind != tokIdent {
		return "", false
	}
	ev.pos = p + 3
	return quoted[1 : len(quoted)-1], true
}

// fileScope resolves name at file scope: the frame's unit first, then
// every unit; keep, when set, limits the units searched.
func (ev *evaluator) fileScope(name string, keep func(*unit) bool) (Value, error) {
	var (
		v     Value
		err   error
		found bool
	)
	ev.f.lookupScopes(ev.u, func(u *unit, s *unitScope) bool {
		if keep != nil && !keep(u) {
			return false
		}
		if off, ok := s.vars[name]; ok {
			e, e2 := ev.f.entryAt(off)
			if e2 != nil {
				v, err, found = Value{}, e2, true
				return true
			}
			ctx := &evalCtx{f: ev.f, u: u, mem: ev.mem, frames: ev.frames, idx: ev.idx}
			if ev.sc != nil && ev.sc.ctx.u == u {
				ctx = ev.sc.ctx
			}
			v, err = ev.varValue(ctx, e)
			found = true
			return true
		}
		if off, ok := s.funcs[name]; ok {
			ft, e2 := ev.f.funcType(off)
			e, e3 := ev.f.entryAt(off)
			if e2 != nil || e3 != nil {
				v, err, found = Value{}, errors.Join(e2, e3), true
				return true
			}
			low, _ := e.Val(dwarf.AttrLowpc).(uint64)
			v, found = Value{typ: ft, Addr: low}, true
			return true
		}
		if c, ok := s.enums[name]; ok {
			t, e2 := ev.f.dwarfData().Type(c.typ)
			if e2 != nil {
				v, err, found = Value{}, e2, true
				return true
			}
			v, found = scalar(t, uint64(c.val)), true
			return true
		}
		return false
	})
	if found {
		return v, err
	}
	if syms := ev.f.LookupSymbol(name); len(syms) > 0 { // known to the symbol table only
		if syms[0].Kind == SymFunc {
			return Value{}, fmt.Errorf("'%s' has unknown return type; cast the call to its declared return type", name)
		}
		return Value{}, fmt.Errorf("'%s' has unknown type; cast it to its declared type", name)
	}
	return Value{}, fmt.Errorf("No symbol \"%s\" in current context.", name)
}

func (ev *evaluator) varValue(ctx *evalCtx, e *dwarf.Entry) (Value, error) {
	name, typ := ctx.varType(e)
	b, gone, addr, err := ctx.value(e, typ)
	if err != nil && !errors.Is(err, errOptimizedOut) {
		return Value{}, err
	}
	v := ev.f.newValue(name, name, typ, b, gone, addr, err)
	if e.Val(dwarf.AttrConstValue) != nil {
		v.notLval = fmt.Sprintf("Can't take address of \"%s\" which isn't an lvalue.", name)
	}
	return v, nil
}

// register reads $name from the frame's recovered registers. Like gdb
// with CFI that leaves a register unspecified, a caller frame shows the
// value of the nearest inner frame that knows it.
func (ev *evaluator) register(name string) (Value, error) {
	n := -1
	switch name {
	case "pc":
		n = RegRIP
	case "sp":
		n = RegRSP
	default:
		for i, rn := range regNames {
			if rn == name {
				n = i
			}
		}
	}
	if n < 0 {
		return Value{}, fmt.Errorf("unknown register $%s", name)
	}
	v := Value{typ: cLong}
	switch n {
	case RegRIP:
		v = Value{typ: voidPtr, reg: "pc"}
	case RegRSP, RegRBP:
		v = Value{typ: voidPtr, reg: "sp"}
	}
	if len(ev.frames) == 0 {
		return Value{}, errors.New("No registers.")
	}
	for j := ev.idx; j >= 0; j-- {
		if x, ok := ev.frames[j].Regs.Get(n); ok {
			v.bytes = le64(x)
			return v, nil
		}
	}
	v.state = "not saved"
	return v, nil
}
