package symbols

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

type tokKind int

const (
	tokNone tokKind = iota
	tokInt
	tokFloat
	tokChar
	tokIdent
	tokReg
	tokPunct
)

type token struct {
	kind tokKind
	text string
}

// puncts are the C operators Eval knows, longest first.
var puncts = []string{"->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
	"+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "!", "~", "(", ")", "[", "]", ".", "?", ":", "@"}

// tokenize splits a C expression into tokens (C11 6.4).
func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case isIdentByte(c) && !(c >= '0' && c <= '9') || c == '$':
			j := i + 1
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			k := tokIdent
			if c == '$' {
				k = tokReg
			}
			out = append(out, token{k, s[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			float := false
			hex := strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X")
			if hex {
				j += 2
			}
			for j < len(s) {
				d := s[j]
				switch {
				case d >= '0' && d <= '9', hex && (d >= 'a' && d <= 'f' || d >= 'A' && d <= 'F'):
				case d == '.' && !hex:
					float = true
				case (d == 'e' || d == 'E') && !hex:
					float = true
					if j+1 < len(s) && (s[j+1] == '+' || s[j+1] == '-') {
						j++
					}
				case d == 'u' || d == 'U' || d == 'l' || d == 'L' || (d == 'f' || d == 'F') && float:
				default:
					goto done
				}
				j++
			}
		done:
			k := tokInt
			if float {
				k = tokFloat
			}
			out = append(out, token{k, s[i:j]})
			i = j
		case c == '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("Unmatched single quote.")
			}
			out = append(out, token{tokChar, s[i : j+1]})
			i = j + 1
		default:
			found := false
			for _, p := range puncts {
				if strings.HasPrefix(s[i:], p) {
					out = append(out, token{tokPunct, p})
					i += len(p)
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("Invalid character '%c' in expression.", c)
			}
		}
	}
	return out, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Built-in C types of expression results (gdb's builtin types).
var (
	cInt    = &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "int"}}}
	cUint   = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "unsigned int"}}}
	cLong   = &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long"}}}
	cUlong  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "unsigned long"}}}
	cChar   = &dwarf.CharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "char"}}}
	cDouble = &dwarf.FloatType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "double"}}}
	cFloat  = &dwarf.FloatType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "float"}}}
	cVoid   = &dwarf.VoidType{}
	voidPtr = &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: cVoid}
)

// baseTypeNames maps the C base-type keyword sets (sorted words) to
// gdb's builtin type of that name and size.
func baseType(words []string) (dwarf.Type, bool) {
	unsigned, signed, long, short, char, intw, other := false, false, 0, false, false, false, ""
	for _, w := range words {
		switch w {
		case "unsigned":
			unsigned = true
		case "signed":
			signed = true
		case "long":
			long++
		case "short":
			short = true
		case "char":
			char = true
		case "int":
			intw = true
		case "float", "double", "void", "_Bool":
			other = w
		default:
			return nil, false
		}
	}
	_ = intw
	mk := func(name string, size int64, uns bool) dwarf.Type {
		bt := dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: size, Name: name}}
		if uns {
			return &dwarf.UintType{BasicType: bt}
		}
		return &dwarf.IntType{BasicType: bt}
	}
	switch {
	case other == "void":
		return cVoid, true
	case other == "_Bool":
		return &dwarf.BoolType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "_Bool"}}}, true
	case other == "float":
		return cFloat, true
	case other == "double" && long > 0:
		return &dwarf.FloatType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 16, Name: "long double"}}}, true
	case other == "double":
		return cDouble, true
	case char && unsigned:
		return &dwarf.UcharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "unsigned char"}}}, true
	case char && signed:
		return &dwarf.CharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "signed char"}}}, true
	case char:
		return cChar, true
	case short:
		if unsigned {
			return mk("unsigned short", 2, true), true
		}
		return mk("short", 2, false), true
	case long >= 2:
		if unsigned {
			return mk("unsigned long long", 8, true), true
		}
		return mk("long long", 8, false), true
	case long == 1:
		if unsigned {
			return cUlong, true
		}
		return cLong, true
	case unsigned:
		return cUint, true
	}
	return cInt, true
}

func le64(x uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, x)
	return b
}

// scalar makes an rvalue of type t holding the low bytes of x.
func scalar(t dwarf.Type, x uint64) Value {
	n := t.Size()
	if n <= 0 || n > 8 {
		n = 8
	}
	return Value{typ: t, bytes: le64(x)[:n]}
}

func floatValue(t dwarf.Type, x float64) Value {
	if t.Size() == 4 {
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(x)))
		return Value{typ: t, bytes: b}
	}
	return Value{typ: cDouble, bytes: le64(math.Float64bits(x))}
}

// intLiteral types an integer constant (C11 6.4.4.1: int, then long;
// octal and hex also try the unsigned types).
func intLiteral(s string) (Value, error) {
	body := strings.TrimRight(s, "uUlL")
	suf := strings.ToLower(s[len(body):])
	x, err := strconv.ParseUint(body, 0, 64)
	if err != nil {
		return Value{}, fmt.Errorf("Invalid number \"%s\".", s)
	}
	uns := strings.Contains(suf, "u")
	long := strings.Contains(suf, "l")
	decimal := !strings.HasPrefix(body, "0") || body == "0"
	switch {
	case !long && !uns && x <= math.MaxInt32:
		return scalar(cInt, x), nil
	case !long && !decimal && !uns && x <= math.MaxUint32, !long && uns && x <= math.MaxUint32:
		return scalar(cUint, x), nil
	case !uns && x <= math.MaxInt64:
		return scalar(cLong, x), nil
	}
	return scalar(cUlong, x), nil
}

func floatLiteral(s string) (Value, error) {
	t := dwarf.Type(cDouble)
	body := s
	if strings.HasSuffix(s, "f") || strings.HasSuffix(s, "F") {
		t, body = cFloat, s[:len(s)-1]
	}
	x, err := strconv.ParseFloat(body, 64)
	if err != nil {
		return Value{}, fmt.Errorf("Invalid number \"%s\".", s)
	}
	return floatValue(t, x), nil
}

// charLiteral decodes 'c' with C escapes (C11 6.4.4.4).
func charLiteral(s string) (Value, error) {
	body := s[1 : len(s)-1]
	if body == "" {
		return Value{}, fmt.Errorf("Empty character constant.")
	}
	if body[0] != '\\' {
		return scalar(cChar, uint64(body[0])), nil
	}
	if len(body) < 2 {
		return Value{}, fmt.Errorf("Unmatched single quote.")
	}
	simple := map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', 'a': 7, 'b': 8, 'f': 12, 'v': 11, 'e': 27, '\\': '\\', '\'': '\'', '"': '"', '?': '?'}
	if c, ok := simple[body[1]]; ok && len(body) == 2 {
		return scalar(cChar, uint64(c)), nil
	}
	base, digits := 8, body[1:]
	if body[1] == 'x' {
		base, digits = 16, body[2:]
	}
	x, err := strconv.ParseUint(digits, base, 8)
	if err != nil {
		return Value{}, fmt.Errorf("Invalid character constant %s.", s)
	}
	return scalar(cChar, x), nil
}
