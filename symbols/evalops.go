package symbols

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

var typeWords = map[string]bool{"unsigned": true, "signed": true, "long": true, "short": true, "char": true,
	"int": true, "float": true, "double": true, "void": true, "_Bool": true, "const": true, "volatile": true,
	"struct": true, "union": true, "enum": true}

// peekIsCast reports whether the "(" at the cursor opens a type name.
func (ev *evaluator) peekIsCast() bool {
	if !(ev.peek().kind == tokPunct && ev.peek().text == "(") || ev.pos+1 >= len(ev.toks) {
		return false
	}
	t := ev.toks[ev.pos+1]
	if t.kind != tokIdent {
		return false
	}
	if typeWords[t.text] {
		return true
	}
	if ev.sc != nil {
		for _, blk := range append([][]*dwarf.Entry{ev.sc.params}, ev.sc.locals...) {
			for _, e := range blk {
				if n, _ := ev.sc.ctx.varType(e); n == t.text {
					return false
				}
			}
		}
	}
	_, ok := ev.lookupType(t.text)
	return ok
}

func (ev *evaluator) lookupType(key string) (dwarf.Type, bool) {
	var t dwarf.Type
	ev.f.lookupScopes(ev.u, func(u *unit, s *unitScope) bool {
		if off, ok := s.types[key]; ok {
			if tt, err := ev.f.dwarfData().Type(off); err == nil {
				t = tt
				return true
			}
		}
		return false
	})
	return t, t != nil
}

// parseTypeName parses a type name for a cast or sizeof: qualifiers,
// base-type keywords, struct/union/enum tags or a typedef name, then '*'s.
func (ev *evaluator) parseTypeName() (dwarf.Type, error) {
	var words []string
	var t dwarf.Type
	for {
		tok := ev.peek()
		if tok.kind != tokIdent {
			break
		}
		if tok.text == "const" || tok.text == "volatile" {
			ev.pos++
			continue
		}
		if tok.text == "struct" || tok.text == "union" || tok.text == "enum" {
			ev.pos++
			tag := ev.peek()
			if tag.kind != tokIdent {
				return nil, fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
			}
			ev.pos++
			var ok bool
			if t, ok = ev.lookupType(tok.text + " " + tag.text); !ok {
				return nil, fmt.Errorf("No %s type named %s.", tok.text, tag.text)
			}
			continue
		}
		if typeWords[tok.text] {
			ev.pos++
			words = append(words, tok.text)
			continue
		}
		if t == nil && len(words) == 0 {
			if tt, ok := ev.lookupType(tok.text); ok {
				ev.pos++
				t = tt
				continue
			}
		}
		break
	}
	if len(words) > 0 {
		bt, ok := baseType(words)
		if !ok || t != nil {
			return nil, fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
		}
		t = bt
	}
	if t == nil {
		return nil, fmt.Errorf("A syntax error in expression, near `%s'.", ev.rest())
	}
	for ev.accept("*") {
		t = &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: t}
	}
	for ev.peek().kind == tokIdent && (ev.peek().text == "const" || ev.peek().text == "volatile") {
		ev.pos++
	}
	return t, nil
}

// avail fails for values that cannot take part in arithmetic.
func avail(v Value) error {
	switch {
	case v.state == "optimized out":
		return errors.New("value has been optimized out")
	case v.state == "not saved":
		return errors.New("value is not available")
	case v.state != "":
		return errors.New(v.state)
	}
	return nil
}

// kind classifies a value for arithmetic: 'i' signed integer, 'u'
// unsigned integer, 'f' floating, 'p' pointer, 'a' array, 'F' function,
// 's' struct or other.
func kind(t dwarf.Type) byte {
	switch x := underlying(t).(type) {
	case *dwarf.IntType, *dwarf.CharType:
		return 'i'
	case *dwarf.UintType, *dwarf.UcharType, *dwarf.BoolType:
		return 'u'
	case *dwarf.EnumType:
		// gdb: an enum without negative values is unsigned.
		for _, e := range x.Val {
			if e.Val < 0 {
				return 'i'
			}
		}
		return 'u'
	case *dwarf.FloatType:
		return 'f'
	case *dwarf.PtrType:
		return 'p'
	case *dwarf.ArrayType:
		return 'a'
	case *dwarf.FuncType:
		return 'F'
	}
	return 's'
}

// intOf returns an integer or pointer value's bits, sign-extended for
// signed types.
func intOf(v Value) uint64 {
	if kind(v.typ) == 'i' {
		return uint64(signExt(v.bytes))
	}
	return zeroExt(v.bytes)
}

func floatOf(v Value) float64 {
	switch kind(v.typ) {
	case 'f':
		if len(v.bytes) == 4 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(v.bytes)))
		}
		if len(v.bytes) == 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(v.bytes))
		}
		return math.NaN()
	case 'i':
		return float64(signExt(v.bytes))
	}
	return float64(zeroExt(v.bytes))
}

// promote is C's integer promotion (C11 6.3.1.1) as gdb does it.
func promote(t dwarf.Type) dwarf.Type {
	k := kind(t)
	if t.Size() < 4 || (k != 'i' && k != 'u') {
		return cInt
	}
	switch {
	case t.Size() == 4 && k == 'i':
		return cInt
	case t.Size() == 4:
		return cUint
	case k == 'i':
		return cLong
	}
	return cUlong
}

// decay turns arrays and functions into pointers (C11 6.3.2.1).
func (ev *evaluator) decay(v Value) (Value, error) {
	switch t := underlying(v.typ).(type) {
	case *dwarf.ArrayType:
		if !v.Lvalue {
			return Value{}, errors.New("Attempt to take address of value not located in memory.")
		}
		return scalar(&dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: t.Type}, v.Addr), nil
	case *dwarf.FuncType:
		return scalar(&dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: v.typ}, v.Addr), nil
	}
	return v, avail(v)
}

func (ev *evaluator) truth(v Value) (bool, error) {
	v, err := ev.decay(v)
	if err != nil {
		return false, err
	}
	switch kind(v.typ) {
	case 'f':
		return floatOf(v) != 0, nil
	case 'i', 'u', 'p':
		return zeroExt(v.bytes) != 0, nil
	}
	return false, errors.New("Argument to logical operation not a number or boolean.")
}

func boolInt(b bool) Value {
	if b {
		return scalar(cInt, 1)
	}
	return scalar(cInt, 0)
}

func (ev *evaluator) unary(op string, v Value) (Value, error) {
	switch op {
	case "*":
		return ev.deref(v)
	case "&":
		if _, ok := underlying(v.typ).(*dwarf.FuncType); ok {
			return ev.decay(v)
		}
		if !v.Lvalue {
			if v.notLval != "" {
				return Value{}, errors.New(v.notLval)
			}
			return Value{}, errors.New("Attempt to take address of value not located in memory.")
		}
		return scalar(&dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: v.typ}, v.Addr), nil
	case "!":
		t, err := ev.truth(v)
		return boolInt(!t), err
	}
	if err := avail(v); err != nil {
		return Value{}, err
	}
	k := kind(v.typ)
	switch {
	case k == 'f' && op == "-":
		return floatValue(underlying(v.typ), -floatOf(v)), nil
	case k == 'f' && op == "+":
		return v, nil
	case k == 'i' || k == 'u':
		t := promote(v.typ)
		x := intOf(v)
		switch op {
		case "-":
			x = -x
		case "~":
			x = ^x
		}
		return scalar(t, x), nil
	}
	return Value{}, errors.New("Argument to arithmetic operation not a number or boolean.")
}

// deref is unary '*': pointers give their pointee, functions stay
// functions, and gdb lets integers be dereferenced as int addresses.
func (ev *evaluator) deref(v Value) (Value, error) {
	if _, ok := underlying(v.typ).(*dwarf.FuncType); ok {
		return v, nil
	}
	if _, ok := underlying(v.typ).(*dwarf.ArrayType); ok {
		var err error
		if v, err = ev.decay(v); err != nil {
			return v, err
		}
	}
	if err := avail(v); err != nil {
		return Value{}, err
	}
	var target dwarf.Type
	switch t := underlying(v.typ).(type) {
	case *dwarf.PtrType:
		target = t.Type
	case *dwarf.IntType, *dwarf.UintType, *dwarf.CharType, *dwarf.UcharType, *dwarf.EnumType:
		target = cInt
	case *dwarf.StructType:
		return Value{}, errors.New("Structure has no component named operator*.")
	default:
		return Value{}, errors.New("Attempt to take contents of a non-pointer value.")
	}
	a := zeroExt(v.bytes)
	if _, ok := underlying(target).(*dwarf.FuncType); ok {
		return Value{typ: target, Addr: a}, nil
	}
	if _, ok := target.(*dwarf.VoidType); ok || target == nil {
		return Value{}, errors.New("Attempt to take contents of a non-pointer value.")
	}
	return ev.load(target, a)
}

// load reads an object of type t at address a.
func (ev *evaluator) load(t dwarf.Type, a uint64) (Value, error) {
	n := t.Size()
	if n < 0 || n > 1<<20 {
		return Value{}, fmt.Errorf("object of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := ev.mem.ReadAt(b, int64(a)); err != nil {
		return Value{}, fmt.Errorf("Cannot access memory at address %#x", a)
	}
	return Value{typ: t, bytes: b, Addr: a, Lvalue: true}, nil
}

func (ev *evaluator) index(v, idx Value) (Value, error) {
	if err := avail(idx); err != nil {
		return Value{}, err
	}
	if k := kind(idx.typ); k != 'i' && k != 'u' {
		return Value{}, errors.New("Argument to arithmetic operation not a number or boolean.")
	}
	i := int64(intOf(idx))
	if a, ok := underlying(v.typ).(*dwarf.ArrayType); ok && !v.Lvalue {
		es := a.Type.Size()
		if v.state != "" {
			// gdb: an element of an unavailable array is unavailable too.
			return Value{typ: a.Type, state: v.state}, nil
		}
		if i < 0 || (i+1)*es > int64(len(v.bytes)) {
			return Value{}, fmt.Errorf("no such vector element")
		}
		return Value{typ: a.Type, bytes: v.bytes[i*es : (i+1)*es], gone: sub(v.gone, i*es, (i+1)*es)}, nil
	}
	p, err := ev.decay(v)
	if err != nil {
		return p, err
	}
	pt, ok := underlying(p.typ).(*dwarf.PtrType)
	if !ok {
		return Value{}, errors.New("cannot subscript something of type `" + typeName(v.typ) + "'")
	}
	es := pt.Type.Size()
	if es <= 0 {
		return Value{}, errors.New("cannot subscript requested type")
	}
	return ev.load(pt.Type, zeroExt(p.bytes)+uint64(i*es))
}

// member is '.': the field of a struct or union (fields of anonymous
// members are found too).
func (ev *evaluator) member(v Value, name string) (Value, error) {
	st, ok := underlying(v.typ).(*dwarf.StructType)
	if !ok {
		return Value{}, errors.New("Attempt to extract a component of a value that is not a structure.")
	}
	if err := avail(v); err != nil && v.state != "optimized out" {
		return Value{}, err
	}
	fld, off, ok := findField(st, name, 0)
	if !ok {
		return Value{}, fmt.Errorf("There is no member named %s.", name)
	}
	end := off + fld.Type.Size()
	c := Value{typ: fld.Type, state: v.state}
	if v.Lvalue {
		c.Addr, c.Lvalue = v.Addr+uint64(off), true
	}
	if v.state == "" {
		if off < 0 || end > int64(len(v.bytes)) {
			return Value{}, fmt.Errorf("There is no member named %s.", name)
		}
		c.bytes, c.gone = v.bytes[off:end], sub(v.gone, off, end)
		for _, g := range c.gone {
			if g {
				c.state = "optimized out"
			}
		}
		if fld.BitSize > 0 {
			c = bitfieldValue(fld, c.bytes)
		}
	}
	return c, nil
}

func findField(st *dwarf.StructType, name string, base int64) (*dwarf.StructField, int64, bool) {
	for _, f := range st.Field {
		if f.Name == name {
			return f, base + f.ByteOffset, true
		}
		if f.Name == "" {
			if inner, ok := underlying(f.Type).(*dwarf.StructType); ok {
				if g, off, ok := findField(inner, name, base+f.ByteOffset); ok {
					return g, off, true
				}
			}
		}
	}
	return nil, 0, false
}

// bitfieldValue extracts a bit-field into an rvalue of its declared type.
func bitfieldValue(fld *dwarf.StructField, b []byte) Value {
	var raw uint64
	for i := len(b) - 1; i >= 0; i-- {
		raw = raw<<8 | uint64(b[i])
	}
	off := fld.DataBitOffset - fld.ByteOffset*8
	if fld.DataBitOffset == 0 && fld.BitOffset != 0 {
		off = int64(len(b))*8 - fld.BitOffset - fld.BitSize
	}
	x := (raw >> uint(off)) & (1<<uint(fld.BitSize) - 1)
	if kind(fld.Type) == 'i' && x&(1<<uint(fld.BitSize-1)) != 0 {
		x -= 1 << uint(fld.BitSize)
	}
	return scalar(fld.Type, x)
}

// cast converts v to type t (C11 6.5.4, gdb's value_cast).
func (ev *evaluator) cast(t dwarf.Type, v Value) (Value, error) {
	tk := kind(t)
	if _, ok := t.(*dwarf.VoidType); ok {
		return Value{typ: t}, nil
	}
	if tk == 's' || tk == 'a' || tk == 'F' {
		return Value{}, errors.New("Invalid cast.")
	}
	v, err := ev.decay(v)
	if err != nil {
		return v, err
	}
	vk := kind(v.typ)
	switch {
	case vk == 's' || vk == 'a' || vk == 'F':
		return Value{}, errors.New("Invalid cast.")
	case tk == 'f':
		return floatValue(t, floatOf(v)), nil
	case vk == 'f':
		x := floatOf(v)
		if tk == 'u' && x >= 0 {
			return scalar(t, uint64(x)), nil
		}
		return scalar(t, uint64(int64(x))), nil
	}
	if _, ok := underlying(t).(*dwarf.BoolType); ok {
		return boolInt(zeroExt(v.bytes) != 0), nil
	}
	return scalar(t, intOf(v)), nil
}

// arith returns the type of a binary arithmetic operation's result
// (C11 6.3.1.8 as gdb's binop_promote does it).
func arith(a, b dwarf.Type) dwarf.Type {
	ka, kb := kind(a), kind(b)
	if ka == 'f' || kb == 'f' {
		switch {
		case ka == 'f' && kb == 'f':
			if a.Size() >= b.Size() {
				return underlying(a)
			}
			return underlying(b)
		case ka == 'f':
			return underlying(a)
		}
		return underlying(b)
	}
	pa, pb := promote(a), promote(b)
	switch {
	case pa.Size() > pb.Size():
		return pa
	case pb.Size() > pa.Size():
		return pb
	case kind(pa) == 'u':
		return pa
	}
	return pb
}

func (ev *evaluator) binary(op string, l, r Value) (Value, error) {
	switch op {
	case "&&", "||":
		a, err := ev.truth(l)
		if err != nil {
			return Value{}, err
		}
		b, err := ev.truth(r)
		if err != nil {
			return Value{}, err
		}
		if op == "&&" {
			return boolInt(a && b), nil
		}
		return boolInt(a || b), nil
	case "@":
		return ev.repeat(l, r)
	}
	l, err := ev.decay(l)
	if err != nil {
		return l, err
	}
	if r, err = ev.decay(r); err != nil {
		return r, err
	}
	lk, rk := kind(l.typ), kind(r.typ)
	if lk == 's' || rk == 's' {
		return Value{}, errors.New("Argument to arithmetic operation not a number or boolean.")
	}
	if lk == 'p' || rk == 'p' {
		return ev.pointerOp(op, l, r)
	}
	switch op {
	case "<<", ">>":
		if lk == 'f' || rk == 'f' {
			return Value{}, errors.New("Integer only operation.")
		}
		t := promote(l.typ)
		x, n := intOf(l), intOf(r)
		if op == "<<" {
			return scalar(t, x<<n), nil
		}
		if kind(t) == 'i' {
			return scalar(t, uint64(int64(x)>>n)), nil
		}
		return scalar(t, zeroExt(scalar(t, x).bytes)>>n), nil
	}
	t := arith(l.typ, r.typ)
	if kind(t) == 'f' {
		a, b := floatOf(l), floatOf(r)
		switch op {
		case "+":
			return floatValue(t, a+b), nil
		case "-":
			return floatValue(t, a-b), nil
		case "*":
			return floatValue(t, a*b), nil
		case "/":
			return floatValue(t, a/b), nil
		case "<":
			return boolInt(a < b), nil
		case ">":
			return boolInt(a > b), nil
		case "<=":
			return boolInt(a <= b), nil
		case ">=":
			return boolInt(a >= b), nil
		case "==":
			return boolInt(a == b), nil
		case "!=":
			return boolInt(a != b), nil
		}
		return Value{}, errors.New("Integer only operation.")
	}
	// Integers: compute in 64 bits, then truncate to the result type.
	a, b := intOf(scalar(t, intOf(l))), intOf(scalar(t, intOf(r)))
	signed := kind(t) == 'i'
	cmp := func(lt, eq bool) Value { return boolInt(lt || eq) }
	less := a < b
	if signed {
		less = int64(a) < int64(b)
	}
	switch op {
	case "+":
		return scalar(t, a+b), nil
	case "-":
		return scalar(t, a-b), nil
	case "*":
		return scalar(t, a*b), nil
	case "/", "%":
		if b == 0 {
			return Value{}, errors.New("Division by zero")
		}
		if signed {
			if op == "/" {
				return scalar(t, uint64(int64(a)/int64(b))), nil
			}
			return scalar(t, uint64(int64(a)%int64(b))), nil
		}
		if op == "/" {
			return scalar(t, a/b), nil
		}
		return scalar(t, a%b), nil
	case "&":
		return scalar(t, a&b), nil
	case "|":
		return scalar(t, a|b), nil
	case "^":
		return scalar(t, a^b), nil
	case "<":
		return cmp(less, false), nil
	case "<=":
		return cmp(less, a == b), nil
	case ">":
		return cmp(!less && a != b, false), nil
	case ">=":
		return cmp(!less, false), nil
	case "==":
		return boolInt(a == b), nil
	case "!=":
		return boolInt(a != b), nil
	}
	return Value{}, fmt.Errorf("unsupported operator %s", op)
}

// pointerOp is pointer arithmetic and comparison (C11 6.5.6, 6.5.8).
func (ev *evaluator) pointerOp(op string, l, r Value) (Value, error) {
	lk, rk := kind(l.typ), kind(r.typ)
	elem := func(p Value) uint64 {
		pt := underlying(p.typ).(*dwarf.PtrType)
		if n := pt.Type.Size(); n > 0 {
			return uint64(n)
		}
		return 1
	}
	a, b := zeroExt(l.bytes), zeroExt(r.bytes)
	switch {
	case op == "+" && lk == 'p' && (rk == 'i' || rk == 'u'):
		return scalar(l.typ, a+intOf(r)*elem(l)), nil
	case op == "+" && rk == 'p' && (lk == 'i' || lk == 'u'):
		return scalar(r.typ, b+intOf(l)*elem(r)), nil
	case op == "-" && lk == 'p' && (rk == 'i' || rk == 'u'):
		return scalar(l.typ, a-intOf(r)*elem(l)), nil
	case op == "-" && lk == 'p' && rk == 'p':
		if elem(l) != elem(r) {
			return Value{}, errors.New("First argument of `-' is a pointer and second argument is neither\nan integer nor a pointer of the same type.")
		}
		return scalar(cLong, uint64(int64(a-b)/int64(elem(l)))), nil
	}
	if lk == 'p' && rk != 'p' {
		b = intOf(r)
	}
	if rk == 'p' && lk != 'p' {
		a = intOf(l)
	}
	switch op {
	case "==":
		return boolInt(a == b), nil
	case "!=":
		return boolInt(a != b), nil
	case "<":
		return boolInt(a < b), nil
	case "<=":
		return boolInt(a <= b), nil
	case ">":
		return boolInt(a > b), nil
	case ">=":
		return boolInt(a >= b), nil
	}
	return Value{}, errors.New("Argument to arithmetic operation not a number or boolean.")
}

// repeat is gdb's '@': N objects of l's type starting at l's address.
func (ev *evaluator) repeat(l, r Value) (Value, error) {
	if err := avail(r); err != nil {
		return Value{}, err
	}
	if k := kind(r.typ); k != 'i' && k != 'u' {
		return Value{}, errors.New("Right operand of `@' must be an integer.")
	}
	n := int64(intOf(r))
	if n <= 0 {
		return Value{}, errors.New("Only values in memory can be extended with '@'.")
	}
	if !l.Lvalue {
		return Value{}, errors.New("Only values in memory can be extended with '@'.")
	}
	at := &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: n * l.typ.Size()}, Type: l.typ, Count: n}
	return ev.load(at, l.Addr)
}
