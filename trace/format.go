package trace

import (
	"fmt"
	"strings"
)

// FormatPoint renders a tracepoint's printf-like format with its
// arguments, the way the guest's C would have: conversions d i u x X o c p
// s and %%, with flags, width, precision and length modifiers (hh h l ll
// z j t). Each argument reached the ring as a uint64 (UKW__U in
// <ukw/trace.h>); without l/ll/z/j/t a conversion uses its low 32 bits,
// as C's int would. %s prints the string at that address when str can read
// it, else the address. Missing arguments print as %!d(MISSING), an
// unknown conversion as itself.
func FormatPoint(format string, args []uint64, str func(addr uint64) (string, bool)) string {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		start := i
		i++
		if i < len(format) && format[i] == '%' {
			b.WriteByte('%')
			continue
		}
		flags := ""
		for i < len(format) && strings.IndexByte("-+ #0", format[i]) >= 0 {
			flags += string(format[i])
			i++
		}
		width := ""
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			width += string(format[i])
			i++
		}
		prec := ""
		if i < len(format) && format[i] == '.' {
			prec = "."
			i++
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				prec += string(format[i])
				i++
			}
		}
		bits := 32
		for i < len(format) && strings.IndexByte("hlzjtL", format[i]) >= 0 {
			switch format[i] {
			case 'h':
				if bits == 16 {
					bits = 8
				} else {
					bits = 16
				}
			default:
				bits = 64
			}
			i++
		}
		if i >= len(format) {
			b.WriteString(format[start:])
			break
		}
		verb := format[i]
		if strings.IndexByte("diuxXocps", verb) < 0 {
			b.WriteString(format[start : i+1])
			continue
		}
		if ai >= len(args) {
			fmt.Fprintf(&b, "%%!%c(MISSING)", verb)
			continue
		}
		v := args[ai]
		ai++
		spec := "%" + flags + width + prec
		switch verb {
		case 'd', 'i':
			fmt.Fprintf(&b, spec+"d", signed(v, bits))
		case 'u':
			fmt.Fprintf(&b, spec+"d", unsigned(v, bits))
		case 'x', 'X', 'o':
			fmt.Fprintf(&b, spec+string(verb), unsigned(v, bits))
		case 'c':
			fmt.Fprintf(&b, spec+"c", rune(byte(v)))
		case 'p':
			fmt.Fprintf(&b, "%"+flags+width+"s", fmt.Sprintf("%#x", v))
		case 's':
			s, ok := "", false
			if str != nil {
				s, ok = str(v)
			}
			if !ok {
				s = fmt.Sprintf("(char *)%#x", v)
			}
			fmt.Fprintf(&b, spec+"s", s)
		}
	}
	return b.String()
}

func unsigned(v uint64, bits int) uint64 {
	if bits >= 64 {
		return v
	}
	return v & (1<<bits - 1)
}

func signed(v uint64, bits int) int64 {
	if bits >= 64 {
		return int64(v)
	}
	shift := 64 - bits
	return int64(v<<shift) >> shift
}
