package symbols

import (
	"encoding/binary"
	"errors"
)

// errTruncated reports DWARF data that ends in the middle of a field.
var errTruncated = errors.New("truncated DWARF data")

// rbuf is a bounds-checked little-endian reader over a byte slice. After an
// overrun every read returns zero and err is set, so parsers can check once
// at a convenient point instead of after every field.
type rbuf struct {
	b   []byte
	off int
	err error
}

func (r *rbuf) fail() {
	if r.err == nil {
		r.err = errTruncated
	}
	r.off = len(r.b)
}

func (r *rbuf) left() int { return len(r.b) - r.off }

func (r *rbuf) bytes(n int) []byte {
	if n < 0 || n > r.left() {
		r.fail()
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *rbuf) u8() uint8 {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *rbuf) u16() uint16 {
	b := r.bytes(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *rbuf) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *rbuf) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// uintN reads an n-byte unsigned value (n in 1, 2, 4, 8).
func (r *rbuf) uintN(n int) uint64 {
	switch n {
	case 1:
		return uint64(r.u8())
	case 2:
		return uint64(r.u16())
	case 4:
		return uint64(r.u32())
	case 8:
		return r.u64()
	}
	r.fail()
	return 0
}

// uleb reads an unsigned LEB128 number (DWARF 5, 7.6).
func (r *rbuf) uleb() uint64 {
	var v uint64
	var shift uint
	for {
		if r.off >= len(r.b) {
			r.fail()
			return 0
		}
		c := r.b[r.off]
		r.off++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			return v
		}
	}
}

// sleb reads a signed LEB128 number (DWARF 5, 7.6).
func (r *rbuf) sleb() int64 {
	var v int64
	var shift uint
	for {
		if r.off >= len(r.b) {
			r.fail()
			return 0
		}
		c := r.b[r.off]
		r.off++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

// cstr reads a NUL-terminated string.
func (r *rbuf) cstr() string {
	for i := r.off; i < len(r.b); i++ {
		if r.b[i] == 0 {
			s := string(r.b[r.off:i])
			r.off = i + 1
			return s
		}
	}
	r.fail()
	return ""
}

// strAt returns the NUL-terminated string at off in sec.
func strAt(sec []byte, off uint64) (string, bool) {
	if off >= uint64(len(sec)) {
		return "", false
	}
	for i := int(off); i < len(sec); i++ {
		if sec[i] == 0 {
			return string(sec[off:i]), true
		}
	}
	return "", false
}
