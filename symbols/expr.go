package symbols

import (
	"encoding/binary"
	"fmt"
)

// DWARF 5, 7.7.1 operation encodings this file treats specially.
const (
	opAddr              = 0x03
	opConst8u           = 0x0e
	opImplicitPointer   = 0xa0
	opAddrx             = 0xa1
	opConstx            = 0xa2
	opEntryValue        = 0xa3
	opConstType         = 0xa4
	opRegvalType        = 0xa5
	opDerefType         = 0xa6
	opXderefType        = 0xa7
	opConvert           = 0xa8
	opReinterpret       = 0xa9
	opGNUPushTLSAddress = 0xe0
	opGNUImplicitPtr    = 0xf2
	opGNUEntryValue     = 0xf3
	opGNUConstType      = 0xf4
	opGNURegvalType     = 0xf5
	opGNUDerefType      = 0xf6
	opGNUConvert        = 0xf7
	opGNUReinterpret    = 0xf9
	opGNUParameterRef   = 0xfa
	opGNUAddrIndex      = 0xfb
	opGNUConstIndex     = 0xfc
	opGNUVariableValue  = 0xfd
)

// rewrite walks a DWARF expression (DWARF 5, 2.5) and returns one delve's
// evaluator can run: index operations are resolved through .debug_addr;
// operations that need a caller's state or a typed stack give
// errOptimizedOut.
func (c *evalCtx) rewrite(expr []byte) ([]byte, error) {
	r := &rbuf{b: expr}
	var out []byte
	changed := false
	c.gone = nil
	located := false // a location or value was given since the last piece
	for r.left() > 0 {
		start := r.off
		o := r.u8()
		if o == 0x93 { // DW_OP_piece
			c.gone = append(c.gone, !located)
			located = false
		} else {
			located = true
		}
		switch {
		case o == opEntryValue || o == opGNUEntryValue:
			n := r.uleb()
			if n > uint64(r.left()) {
				return nil, fmt.Errorf("truncated DWARF expression")
			}
			inner := r.bytes(int(n))
			v, err := c.entryValue(inner)
			if err != nil {
				return nil, err
			}
			out = append(out, opConst8u)
			out = binary.LittleEndian.AppendUint64(out, v)
			changed = true
			continue
		case o == opAddrx || o == opConstx || o == opGNUAddrIndex || o == opGNUConstIndex:
			idx := r.uleb()
			a, err := c.debugAddr(idx)
			if err != nil {
				return nil, err
			}
			op := byte(opAddr)
			if o == opConstx || o == opGNUConstIndex {
				op = opConst8u
			}
			out = append(out, op)
			out = binary.LittleEndian.AppendUint64(out, a)
			changed = true
			continue
		case o == opImplicitPointer || o == opGNUImplicitPtr ||
			o == opGNUParameterRef || o == opGNUVariableValue || (o >= opConstType && o <= opReinterpret) ||
			(o >= opGNUConstType && o <= opGNUReinterpret) || o == opGNUPushTLSAddress:
			return nil, errOptimizedOut
		}
		skipOperands(r, o)
		if r.err != nil {
			return nil, fmt.Errorf("truncated DWARF expression")
		}
		out = append(out, expr[start:r.off]...)
	}
	if !changed {
		return expr, nil
	}
	return out, nil
}

// skipOperands skips the operands of operation o (DWARF 5, 7.7.1 Table 7.9).
func skipOperands(r *rbuf, o byte) {
	switch {
	case o == opAddr:
		r.bytes(8)
	case o == 0x08 || o == 0x09: // const1u/s
		r.bytes(1)
	case o == 0x0a || o == 0x0b || o == 0x2f || o == 0x28 || o == 0x98: // const2u/s, skip, bra, call2
		r.bytes(2)
	case o == 0x0c || o == 0x0d || o == 0x99: // const4u/s, call4
		r.bytes(4)
	case o == opConst8u || o == 0x0f: // const8u/s
		r.bytes(8)
	case o == 0x10 || o == 0x23 || o == 0x90 || o == 0x93 || o == 0x11 || o == 0x91: // constu, plus_uconst, regx, piece, consts, fbreg
		if o == 0x11 || o == 0x91 {
			r.sleb()
		} else {
			r.uleb()
		}
	case o >= 0x70 && o <= 0x8f: // breg0-31
		r.sleb()
	case o == 0x92: // bregx
		r.uleb()
		r.sleb()
	case o == 0x15 || o == 0x94 || o == 0x95: // pick, deref_size, xderef_size
		r.bytes(1)
	case o == 0x9d: // bit_piece
		r.uleb()
		r.uleb()
	case o == 0x9e: // implicit_value
		n := r.uleb()
		if n > uint64(r.left()) {
			r.fail()
			return
		}
		r.bytes(int(n))
	case o == 0x9a: // call_ref
		r.bytes(4)
	}
}

// debugAddr reads entry idx of the unit's .debug_addr table.
func (c *evalCtx) debugAddr(idx uint64) (uint64, error) {
	base := c.u.addrBase
	off := base + idx*8
	if base == 0 || off+8 > uint64(len(c.f.sec.addr)) || off < base {
		return 0, fmt.Errorf("DW_OP_addrx index %d out of range", idx)
	}
	return binary.LittleEndian.Uint64(c.f.sec.addr[off:]), nil
}
