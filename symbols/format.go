package symbols

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// gdb's defaults (gdb manual, "Print Settings"): print elements 200,
// print repeats 10.
const (
	printElements = 200
	printRepeats  = 10
	maxDepth      = 8
)

// typeName names a C type the way gdb's ptype/whatis does.
func typeName(t dwarf.Type) string {
	switch x := t.(type) {
	case *dwarf.PtrType:
		if fn, ok := x.Type.(*dwarf.FuncType); ok {
			return funcTypeName(fn, "(*)")
		}
		inner := x.Type
		if q, ok := inner.(*dwarf.QualType); ok {
			if _, ok := q.Type.(*dwarf.ArrayType); ok {
				inner = q.Type // gdb shows the qualifier on the elements
			}
		}
		if a, ok := inner.(*dwarf.ArrayType); ok {
			// gdb: "const char (*)[12]"
			return fmt.Sprintf("%s (*)[%d]", typeName(a.Type), a.Count)
		}
		in := typeName(x.Type)
		if _, ok := x.Type.(*dwarf.VoidType); ok {
			in = "void"
		}
		if strings.HasSuffix(in, "*") {
			return in + "*" // "char **"
		}
		return in + " *"
	case *dwarf.StructType:
		if x.StructName == "" {
			return x.Kind + " {...}"
		}
		return x.Kind + " " + x.StructName
	case *dwarf.EnumType:
		if x.EnumName == "" {
			return "enum {...}"
		}
		return "enum " + x.EnumName
	case *dwarf.ArrayType:
		return fmt.Sprintf("%s [%d]", typeName(x.Type), x.Count)
	case *dwarf.QualType:
		switch x.Type.(type) {
		case *dwarf.PtrType:
			return typeName(x.Type) + " " + x.Qual // "char * const"
		case *dwarf.ArrayType:
			return typeName(x.Type)
		}
		return x.Qual + " " + typeName(x.Type)
	case *dwarf.TypedefType:
		return x.Name
	case *dwarf.VoidType:
		return "void"
	case *dwarf.FuncType:
		return funcTypeName(x, "")
	case nil:
		return "<unknown type>"
	}
	return t.String()
}

func funcTypeName(fn *dwarf.FuncType, mid string) string {
	ret := "void"
	if fn.ReturnType != nil {
		ret = typeName(fn.ReturnType)
	}
	var ps []string
	for _, p := range fn.ParamType {
		if _, ok := p.(*dwarf.DotDotDotType); ok {
			ps = append(ps, "...")
			continue
		}
		ps = append(ps, typeName(p))
	}
	if len(ps) == 0 {
		ps = []string{"void"}
	}
	if mid != "" {
		return ret + " " + mid + "(" + strings.Join(ps, ", ") + ")"
	}
	return ret + " (" + strings.Join(ps, ", ") + ")"
}

func underlying(t dwarf.Type) dwarf.Type {
	for i := 0; i < 16; i++ {
		switch x := t.(type) {
		case *dwarf.TypedefType:
			t = x.Type
		case *dwarf.QualType:
			t = x.Type
		default:
			return t
		}
	}
	return t
}

func isCharType(t dwarf.Type) bool {
	switch underlying(t).(type) {
	case *dwarf.CharType, *dwarf.UcharType:
		return true
	}
	return false
}

// formatMasked formats b as type t the way gdb prints values in `info
// locals` (gdb's generic_val_print and c_value_print_inner); gone[i]
// marks byte i unavailable (optimized out), nil means all are available.
func (f *File) formatMasked(t dwarf.Type, b []byte, gone []bool, mem Memory, depth int) string {
	t = underlying(t)
	switch t.(type) {
	case *dwarf.StructType, *dwarf.ArrayType:
	default:
		for _, g := range gone {
			if g {
				return "<optimized out>"
			}
		}
	}
	switch x := t.(type) {
	case *dwarf.IntType:
		return strconv.FormatInt(signExt(b), 10)
	case *dwarf.UintType:
		return strconv.FormatUint(zeroExt(b), 10)
	case *dwarf.CharType:
		v := signExt(b)
		return fmt.Sprintf("%d %s", v, charLit(byte(v)))
	case *dwarf.UcharType:
		v := zeroExt(b)
		return fmt.Sprintf("%d %s", v, charLit(byte(v)))
	case *dwarf.BoolType:
		switch zeroExt(b) {
		case 0:
			return "false"
		case 1:
			return "true"
		}
		return strconv.FormatUint(zeroExt(b), 10)
	case *dwarf.FloatType:
		switch len(b) {
		case 4:
			return fmtFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 9)
		case 8:
			return fmtFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 17)
		}
		return fmt.Sprintf("<%d-byte float>", len(b))
	case *dwarf.EnumType:
		v := signExt(b)
		for _, e := range x.Val {
			if e.Val == v {
				return e.Name
			}
		}
		return strconv.FormatInt(v, 10)
	case *dwarf.PtrType:
		return f.formatPointer(x, zeroExt(b), mem)
	case *dwarf.StructType:
		if depth >= maxDepth {
			return "{...}"
		}
		var parts []string
		for _, fld := range x.Field {
			end := fld.ByteOffset + fld.Type.Size()
			if fld.ByteOffset < 0 || end > int64(len(b)) {
				parts = append(parts, fld.Name+" = <unavailable>")
				continue
			}
			fb := b[fld.ByteOffset:end]
			var s string
			if fld.BitSize > 0 {
				s = f.formatBitfield(fld, fb)
			} else {
				s = f.formatMasked(fld.Type, fb, sub(gone, fld.ByteOffset, end), mem, depth+1)
			}
			if fld.Name == "" {
				parts = append(parts, s)
			} else {
				parts = append(parts, fld.Name+" = "+s)
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *dwarf.ArrayType:
		return f.formatArray(x, b, gone, mem, depth)
	case *dwarf.FuncType:
		return "{" + typeName(x) + "}"
	}
	return fmt.Sprintf("<%s>", t)
}

func (f *File) formatBitfield(fld *dwarf.StructField, b []byte) string {
	var raw uint64
	for i := len(b) - 1; i >= 0; i-- {
		raw = raw<<8 | uint64(b[i])
	}
	off := fld.DataBitOffset - fld.ByteOffset*8
	if fld.DataBitOffset == 0 && fld.BitOffset != 0 {
		off = int64(len(b))*8 - fld.BitOffset - fld.BitSize
	}
	v := (raw >> uint(off)) & (1<<uint(fld.BitSize) - 1)
	if _, ok := underlying(fld.Type).(*dwarf.IntType); ok && v&(1<<uint(fld.BitSize-1)) != 0 {
		return strconv.FormatInt(int64(v)-(1<<uint(fld.BitSize)), 10)
	}
	return strconv.FormatUint(v, 10)
}

func (f *File) formatArray(x *dwarf.ArrayType, b []byte, gone []bool, mem Memory, depth int) string {
	n := int(x.Count)
	if n < 0 {
		n = 0
	}
	anyGone := false
	for _, g := range gone {
		anyGone = anyGone || g
	}
	if isCharType(x.Type) && x.Type.Size() == 1 && !anyGone {
		if n > len(b) {
			n = len(b)
		}
		return gdbString(b[:n], true)
	}
	es := x.Type.Size()
	if es <= 0 || depth >= maxDepth {
		return "{...}"
	}
	var elems []string
	for i := 0; i < n && int64(i+1)*es <= int64(len(b)); i++ {
		lo, hi := int64(i)*es, int64(i+1)*es
		elems = append(elems, f.formatMasked(x.Type, b[lo:hi], sub(gone, lo, hi), mem, depth+1))
	}
	return "{" + joinRepeats(elems, n > printElements) + "}"
}

// joinRepeats joins array elements, collapsing runs longer than gdb's
// repeat threshold into "v <repeats N times>" and stopping at 200 elements.
func joinRepeats(elems []string, more bool) string {
	var parts []string
	shown := 0
	for i := 0; i < len(elems) && shown < printElements; {
		j := i
		for j < len(elems) && elems[j] == elems[i] {
			j++
		}
		if j-i > printRepeats {
			parts = append(parts, fmt.Sprintf("%s <repeats %d times>", elems[i], j-i))
			shown += printRepeats
			i = j
			continue
		}
		parts = append(parts, elems[i])
		shown++
		i++
	}
	s := strings.Join(parts, ", ")
	if more {
		s += "..."
	}
	return s
}

// gdbString formats bytes as gdb prints a char array: a quoted string,
// one trailing NUL dropped, runs of more than 10 equal characters as
// 'c' <repeats N times>, non-printable bytes as octal escapes.
func gdbString(b []byte, array bool) string {
	if array && len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return `""`
	}
	var segs []string
	var cur strings.Builder
	inStr := false
	flush := func() {
		if inStr {
			cur.WriteByte('"')
			segs = append(segs, cur.String())
			cur.Reset()
			inStr = false
		}
	}
	elided := len(b) > printElements
	if elided {
		b = b[:printElements]
	}
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] == b[i] {
			j++
		}
		if j-i > printRepeats {
			flush()
			segs = append(segs, fmt.Sprintf("%s <repeats %d times>", charLit(b[i]), j-i))
			i = j
			continue
		}
		if !inStr {
			cur.WriteByte('"')
			inStr = true
		}
		for ; i < j; i++ {
			cur.WriteString(escapeChar(b[i], '"'))
		}
	}
	flush()
	s := strings.Join(segs, ", ")
	if elided {
		s += "..."
	}
	return s
}

func escapeChar(c byte, quote byte) string {
	switch c {
	case '\\':
		return `\\`
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	case 033:
		return `\033`
	case quote:
		return `\` + string(quote)
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf(`\%03o`, c)
	}
	return string(c)
}

func charLit(c byte) string { return "'" + escapeChar(c, '\'') + "'" }

func (f *File) formatPointer(p *dwarf.PtrType, v uint64, mem Memory) string {
	if fn, ok := underlying(p.Type).(*dwarf.FuncType); ok {
		s := fmt.Sprintf("{%s} %#x", typeName(fn), v)
		if sym, off, ok := f.SymbolAt(v); ok {
			s += " " + symRef(sym.Name, off)
		}
		return s
	}
	s := fmt.Sprintf("%#x", v)
	if v == 0 {
		return s
	}
	if sym, off, ok := f.dataSymbolAt(v); ok {
		s += " " + symRef(sym, off)
	}
	if isCharType(p.Type) && p.Type.Size() == 1 {
		var buf []byte
		var chunk [64]byte
		for len(buf) <= printElements {
			n, err := mem.ReadAt(chunk[:], int64(v)+int64(len(buf)))
			if n == 0 && err != nil {
				if len(buf) == 0 {
					return s + fmt.Sprintf(" <error: Cannot access memory at address %#x>", v)
				}
				break
			}
			if k := indexByte(chunk[:n], 0); k >= 0 {
				buf = append(buf, chunk[:k]...)
				return s + " " + gdbString(buf, false)
			}
			buf = append(buf, chunk[:n]...)
		}
		if len(buf) > printElements {
			buf = buf[:printElements]
		}
		return s + " " + gdbString(buf, false) + "..."
	}
	return s
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func symRef(name string, off uint64) string {
	if off == 0 {
		return "<" + name + ">"
	}
	return fmt.Sprintf("<%s+%d>", name, off)
}

// dataSymbolAt finds the object or function symbol containing v (gdb
// prints <symbol> after pointers into static storage).
func (f *File) dataSymbolAt(v uint64) (string, uint64, bool) {
	best := -1
	for i := range f.syms {
		s := &f.syms[i]
		if s.Name == "" || v < s.Addr || (s.Size > 0 && v >= s.Addr+s.Size) || (s.Size == 0 && v != s.Addr) {
			continue
		}
		if _, ok := f.SectionAt(s.Addr); !ok {
			continue
		}
		if best < 0 || s.Addr > f.syms[best].Addr {
			best = i
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return f.syms[best].Name, v - f.syms[best].Addr, true
}

func signExt(b []byte) int64 {
	switch len(b) {
	case 1:
		return int64(int8(b[0]))
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	case 8:
		return int64(binary.LittleEndian.Uint64(b))
	}
	return int64(zeroExt(b))
}

func zeroExt(b []byte) uint64 {
	var v uint64
	for i := min(len(b), 8) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func fmtFloat(v float64, prec int) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan(0x" + strconv.FormatUint(math.Float64bits(v)&(1<<52-1), 16) + ")"
	}
	return strconv.FormatFloat(v, 'g', prec, 64)
}

func sub(gone []bool, lo, hi int64) []bool {
	if gone == nil || hi > int64(len(gone)) {
		return nil
	}
	return gone[lo:hi]
}
