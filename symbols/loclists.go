package symbols

import "fmt"

// DWARF 5, 7.7.3 location list entry kinds, plus GCC's view pair.
const (
	lleEndOfList    = 0x00
	lleBaseAddressx = 0x01
	lleStartxEndx   = 0x02
	lleStartxLength = 0x03
	lleOffsetPair   = 0x04
	lleDefault      = 0x05
	lleBaseAddress  = 0x06
	lleStartEnd     = 0x07
	lleStartLength  = 0x08
	lleGNUViewPair  = 0x09 // GCC: two ULEB128 view numbers, no expression
)

// findLocList5 returns the expression of the .debug_loclists entry at off
// that covers pc (DWARF 5, 2.6.2). delve's reader stops at GCC's
// DW_LLE_GNU_view_pair entries, which gcc 12 emits before every range.
func (c *evalCtx) findLocList5(off int64) ([]byte, error) {
	_, sec := c.f.locSections()
	if off < 0 || off >= int64(len(sec)) {
		return nil, fmt.Errorf("location list offset %#x out of range", off)
	}
	r := &rbuf{b: sec, off: int(off)}
	base := c.u.lowPC
	var def []byte
	for n := 0; n < 1<<16 && r.err == nil; n++ {
		kind := r.u8()
		var lo, hi uint64
		hasRange := true
		switch kind {
		case lleEndOfList:
			if def != nil {
				return def, nil
			}
			return nil, errOptimizedOut
		case lleBaseAddressx:
			a, err := c.debugAddr(r.uleb())
			if err != nil {
				return nil, err
			}
			base = a
			continue
		case lleGNUViewPair:
			r.uleb()
			r.uleb()
			continue
		case lleBaseAddress:
			base = r.u64()
			continue
		case lleStartxEndx, lleStartxLength:
			a, err := c.debugAddr(r.uleb())
			if err != nil {
				return nil, err
			}
			lo = a
			if kind == lleStartxEndx {
				if hi, err = c.debugAddr(r.uleb()); err != nil {
					return nil, err
				}
			} else {
				hi = lo + r.uleb()
			}
		case lleOffsetPair:
			lo, hi = base+r.uleb(), base+r.uleb()
		case lleDefault:
			hasRange = false
		case lleStartEnd:
			lo, hi = r.u64(), r.u64()
		case lleStartLength:
			lo = r.u64()
			hi = lo + r.uleb()
		default:
			return nil, fmt.Errorf("unknown location list entry kind %#x at %#x", kind, r.off-1)
		}
		l := r.uleb()
		if l > uint64(r.left()) {
			break
		}
		expr := r.bytes(int(l))
		if !hasRange {
			def = expr
			continue
		}
		if c.pc >= lo && c.pc < hi {
			return expr, nil
		}
	}
	return nil, fmt.Errorf("truncated location list at %#x", off)
}
