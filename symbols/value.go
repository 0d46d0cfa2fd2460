package symbols

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Value is the result of evaluating a C expression (Eval) or one part of
// a larger value (Children): what gdb's `print` shows, plus what a UI
// needs to expand it or to show it in a memory view.
type Value struct {
	// Expr is an expression that yields this value ("s->pts[1].x").
	Expr string
	// Name labels the value in a tree: the expression for a top-level
	// value, the field name, "[i]" or "*p" for a child.
	Name string
	// Type is the C type as gdb's whatis names it.
	Type string
	// Text is the value formatted like gdb's `print` (after "$1 = ").
	Text string
	// Addr is where the value lives when Lvalue is true.
	Addr   uint64
	Lvalue bool
	// Size is the type's size in bytes (0 for functions and void).
	Size int64
	// HasChildren says Children returns something: struct and union
	// fields, array elements, the object a non-null data pointer points at.
	HasChildren bool

	typ   dwarf.Type
	bytes []byte
	gone  []bool
	// state: "" for a normal value, else "optimized out", "not saved" or
	// an error text that Text shows in gdb's <...> form.
	state string
	// reg: the value is a register shown gdb's way ($pc and $sp).
	reg string
	// notLval is gdb's message for `&` on this non-lvalue ("" = generic).
	notLval string
}

// Uint64 returns a scalar value (integer, character, enum, bool or
// pointer) as an unsigned number; ok is false for other values and for
// unavailable ones. A memory view uses it to find the address to show.
func (v Value) Uint64() (uint64, bool) {
	if v.state != "" || v.bytes == nil {
		return 0, false
	}
	switch underlying(v.typ).(type) {
	case *dwarf.IntType, *dwarf.UintType, *dwarf.CharType, *dwarf.UcharType,
		*dwarf.BoolType, *dwarf.EnumType, *dwarf.PtrType:
		return zeroExt(v.bytes), true
	}
	return 0, false
}

// Bytes returns a copy of the value's bytes (nil when unavailable).
func (v Value) Bytes() []byte {
	if v.state != "" {
		return nil
	}
	return append([]byte(nil), v.bytes...)
}

// newValue builds a Value from a variable's bytes (see evalCtx.value).
func (f *File) newValue(expr, name string, typ dwarf.Type, b []byte, gone []bool, addr uint64, err error) Value {
	v := Value{Expr: expr, Name: name, typ: typ, bytes: b, gone: gone, Addr: addr, Lvalue: addr != 0}
	if typ != nil {
		v.Type = typeName(typ)
		v.Size = max(typ.Size(), 0)
	}
	switch {
	case errors.Is(err, errOptimizedOut):
		v.state = "optimized out"
	case err != nil:
		v.state = "error: " + err.Error()
	}
	return v
}

// finish fills Text and HasChildren.
func (f *File) finish(v *Value, mem Memory) {
	switch {
	case v.reg == "pc":
		v.Type = "void (*)()"
	case v.reg == "sp":
		v.Type = "void *"
	case v.typ != nil:
		v.Type = typeName(v.typ)
		v.Size = max(v.typ.Size(), 0)
	}
	v.Text = f.printText(*v, mem)
	v.HasChildren = f.hasChildren(*v)
}

// printText formats v like gdb's `print`: pointers other than char
// pointers get their type in front, functions their address and symbol.
func (f *File) printText(v Value, mem Memory) string {
	switch {
	case v.state == "optimized out":
		return "<optimized out>"
	case v.state == "not saved":
		return "<not saved>"
	case v.state != "":
		return "<" + v.state + ">"
	}
	if v.reg == "pc" {
		return fmt.Sprintf("(void (*)()) %#x", zeroExt(v.bytes)) + f.codeRef(zeroExt(v.bytes))
	}
	if v.reg == "sp" {
		return fmt.Sprintf("(void *) %#x", zeroExt(v.bytes))
	}
	switch t := underlying(v.typ).(type) {
	case *dwarf.FuncType:
		return fmt.Sprintf("{%s} %#x", typeName(t), v.Addr) + f.codeRef(v.Addr)
	case *dwarf.PtrType:
		p := zeroExt(v.bytes)
		if isCharType(t.Type) && t.Type.Size() == 1 {
			return f.formatPointer(t, p, mem)
		}
		if _, ok := underlying(t.Type).(*dwarf.FuncType); ok {
			return fmt.Sprintf("(%s) %#x", typeName(v.typ), p) + f.codeRef(p)
		}
		return "(" + typeName(v.typ) + ") " + f.formatPointer(t, p, mem)
	}
	return f.formatMasked(v.typ, v.bytes, v.gone, mem, 0)
}

// codeRef is gdb's " <sym+off>" after a code address ("" when unknown).
func (f *File) codeRef(a uint64) string {
	if s, off, ok := f.SymbolAt(a); ok {
		if off == 0 {
			return " <" + s.Name + ">"
		}
		return fmt.Sprintf(" <%s+%d>", s.Name, off)
	}
	return ""
}

func (f *File) hasChildren(v Value) bool {
	if v.state != "" {
		return false
	}
	switch t := underlying(v.typ).(type) {
	case *dwarf.StructType:
		return len(t.Field) > 0
	case *dwarf.ArrayType:
		return t.Count > 0
	case *dwarf.PtrType:
		if zeroExt(v.bytes) == 0 || t.Type == nil || t.Type.Size() <= 0 {
			return false
		}
		switch underlying(t.Type).(type) {
		case *dwarf.VoidType, *dwarf.FuncType:
			return false
		}
		return true
	}
	return false
}

// Children expands a value for a tree view: the fields of a struct or
// union, the elements of an array (at most max; max <= 0 means 100), or
// the object a data pointer points at (one child, "*p"). Each child is a
// complete Value that can be expanded in turn.
func (f *File) Children(v Value, mem Memory, max int) []Value {
	if !v.HasChildren {
		return nil
	}
	if max <= 0 {
		max = 100
	}
	base := parenExpr(v.Expr)
	var out []Value
	switch t := underlying(v.typ).(type) {
	case *dwarf.StructType:
		for _, fld := range t.Field {
			end := fld.ByteOffset + fld.Type.Size()
			c := Value{Name: fld.Name, Expr: base + "." + fld.Name, typ: fld.Type, Type: typeName(fld.Type), Size: fld.Type.Size()}
			if fld.ByteOffset < 0 || end > int64(len(v.bytes)) {
				c.state = "unavailable"
			} else {
				c.bytes = v.bytes[fld.ByteOffset:end]
				c.gone = sub(v.gone, fld.ByteOffset, end)
				if fld.BitSize > 0 {
					c.Text = f.formatBitfield(fld, c.bytes)
					out = append(out, c)
					continue
				}
			}
			if v.Lvalue {
				c.Addr, c.Lvalue = v.Addr+uint64(fld.ByteOffset), true
			}
			f.finish(&c, mem)
			out = append(out, c)
		}
	case *dwarf.ArrayType:
		es := t.Type.Size()
		for i := int64(0); i < t.Count && i < int64(max) && es > 0 && (i+1)*es <= int64(len(v.bytes)); i++ {
			c := Value{Name: "[" + strconv.FormatInt(i, 10) + "]", Expr: base + "[" + strconv.FormatInt(i, 10) + "]",
				typ: t.Type, Type: typeName(t.Type), Size: es, bytes: v.bytes[i*es : (i+1)*es], gone: sub(v.gone, i*es, (i+1)*es)}
			if v.Lvalue {
				c.Addr, c.Lvalue = v.Addr+uint64(i*es), true
			}
			f.finish(&c, mem)
			out = append(out, c)
		}
	case *dwarf.PtrType:
		p := zeroExt(v.bytes)
		c := Value{Name: "*" + v.Name, Expr: "*" + base, typ: t.Type, Type: typeName(t.Type), Size: t.Type.Size(), Addr: p, Lvalue: true}
		if c.Size > 1<<20 {
			c.state = fmt.Sprintf("object of %d bytes", c.Size)
		} else {
			c.bytes = make([]byte, c.Size)
			if _, err := mem.ReadAt(c.bytes, int64(p)); err != nil {
				c.bytes, c.state = nil, fmt.Sprintf("error: Cannot access memory at address %#x", p)
			}
		}
		f.finish(&c, mem)
		out = append(out, c)
	}
	return out
}

// parenExpr wraps an expression in parentheses unless it is a plain
// postfix chain (identifiers, members, subscripts).
func parenExpr(e string) string {
	for _, c := range e {
		if !(c == '_' || c == '.' || c == '[' || c == ']' || c == '$' ||
			c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			if strings.HasPrefix(e, "(") && strings.HasSuffix(e, ")") {
				return e
			}
			return "(" + e + ")"
		}
	}
	return e
}
