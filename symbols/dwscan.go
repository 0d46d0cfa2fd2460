package symbols

import (
	"bytes"
	"debug/dwarf"
	"fmt"
	"slices"
)

// A lean .debug_info scanner (DWARF 2-5, DWARF 5 section 7.5): it walks
// the DIEs of a unit decoding only the attributes symbolization needs and
// skipping the others by form. debug/dwarf decodes every attribute of
// every DIE into interface values, which made the function index the
// bulk of `ukw symbolize`'s time (docs/symbols.md, "Speed").

// DWARF 5, 7.5.6 attribute forms.
const (
	fAddr          = 0x01
	fBlock2        = 0x03
	fBlock4        = 0x04
	fData2         = 0x05
	fData4         = 0x06
	fData8         = 0x07
	fString        = 0x08
	fBlock         = 0x09
	fBlock1        = 0x0a
	fData1         = 0x0b
	fFlag          = 0x0c
	fSdata         = 0x0d
	fStrp          = 0x0e
	fUdata         = 0x0f
	fRefAddr       = 0x10
	fRef1          = 0x11
	fRef2          = 0x12
	fRef4          = 0x13
	fRef8          = 0x14
	fRefUdata      = 0x15
	fIndirect      = 0x16
	fSecOffset     = 0x17
	fExprloc       = 0x18
	fFlagPresent   = 0x19
	fStrx          = 0x1a
	fAddrx         = 0x1b
	fRefSup4       = 0x1c
	fStrpSup       = 0x1d
	fData16        = 0x1e
	fLineStrp      = 0x1f
	fRefSig8       = 0x20
	fImplicitConst = 0x21
	fLoclistx      = 0x22
	fRnglistx      = 0x23
	fRefSup8       = 0x24
	fStrx1         = 0x25
	fStrx2         = 0x26
	fStrx3         = 0x27
	fStrx4         = 0x28
	fAddrx1        = 0x29
	fAddrx2        = 0x2a
	fAddrx3        = 0x2b
	fAddrx4        = 0x2c
	fGNUAddrIndex  = 0x1f01
	fGNUStrIndex   = 0x1f02
	fGNURefAlt     = 0x1f20
	fGNUStrpAlt    = 0x1f21
)

// DWARF 5, 7.5.4 attribute codes the scanner reads.
const (
	atSibling         = 0x01
	atLocation        = 0x02
	atName            = 0x03
	atStmtList        = 0x10
	atLowpc           = 0x11
	atHighpc          = 0x12
	atLanguage        = 0x13
	atCompDir         = 0x1b
	atAbstractOrigin  = 0x31
	atSpecification   = 0x47
	atRanges          = 0x55
	atCallColumn      = 0x57
	atCallFile        = 0x58
	atCallLine        = 0x59
	atLinkageName     = 0x6e
	atStrOffsetsBase  = 0x72
	atAddrBase        = 0x73
	atRnglistsBase    = 0x74
	atLoclistsBase    = 0x8c
	atMIPSLinkageName = 0x2007
	atGNUAddrBase     = 0x2133

	tagArrayType         = 0x01
	tagEntryPoint        = 0x03
	tagEnumerationType   = 0x04
	tagStructureType     = 0x13
	tagSubroutineType    = 0x15
	tagUnionType         = 0x17
	tagLexicalBlock      = 0x0b
	tagCompileUnit       = 0x11
	tagInlinedSubroutine = 0x1d
	tagSubprogram        = 0x2e
	tagPartialUnit       = 0x3c
)

type abbrevAttr struct {
	attr, form uint16 // values above 0xffff are kept as 0xffff (unknown)
	// size is the value's encoded size in units of the table's header
	// kind, -1 when it varies (set by parseAbbrevs only).
	size     int32
	implicit int64
}

// newAttr makes an abbrevAttr from the decoded numbers.
func newAttr(at, form uint64, implicit int64) abbrevAttr {
	return abbrevAttr{uint16(min(at, 0xffff)), uint16(min(form, 0xffff)), -1, implicit}
}

// skipAttrs passes over the values of attrs; sized says their size
// fields hold for this unit (its header kind is the table's).
func skipAttrs(r *rbuf, h *cuHeader, attrs []abbrevAttr, sized bool) {
	for _, at := range attrs {
		if sized && at.size >= 0 {
			r.off += int(at.size)
			if r.off > len(r.b) {
				r.fail()
				return
			}
			continue
		}
		skipAttr(r, h, uint64(at.form), at.implicit)
	}
}

// skipAttr passes over one value: readAttr without decoding it.
func skipAttr(r *rbuf, h *cuHeader, form uint64, implicit int64) {
	switch form {
	case fExprloc, fBlock:
		n := r.uleb()
		if n > uint64(r.left()) {
			r.fail()
			return
		}
		r.off += int(n)
	case fUdata, fSdata, fRefUdata, fStrx, fAddrx, fLoclistx, fRnglistx, fGNUAddrIndex, fGNUStrIndex:
		for r.off < len(r.b) && r.b[r.off]&0x80 != 0 {
			r.off++
		}
		if r.off >= len(r.b) {
			r.fail()
			return
		}
		r.off++
	case fString:
		i := bytes.IndexByte(r.b[r.off:], 0)
		if i < 0 {
			r.fail()
			return
		}
		r.off += i + 1
	default:
		readAttr(r, h, form, implicit)
	}
}

// abbrev is one abbreviation declaration. It holds no pointers (nor
// does its table), so the tables cost the allocator no pointer bitmaps.
type abbrev struct {
	tag      uint64
	children bool
	// lo, n: its attributes are abbrevTable.attrs[lo:lo+n].
	lo, n uint32
	// skip says how readFunctions passes over a DIE of this abbreviation
	// in a unit of the table's header kind (abbrevTable.kind).
	skip skipInfo
}

// abbrevTable maps abbreviation codes to declarations: dense[code] is
// 1 + the declaration's index for the small dense codes compilers emit,
// a map for the others. kind is the unit header (version, offset and
// address sizes) the skip sizes were computed for.
type abbrevTable struct {
	decls  []abbrev
	attrs  []abbrevAttr
	dense  []int32
	sparse map[uint64]int32
	kind   headerKind
}

// headerKind is what the encoded size of a form depends on.
type headerKind struct{ version, offSize, addrSize int }

func kindOf(h *cuHeader) headerKind { return headerKind{h.version, h.offSize, h.addrSize} }

// get returns the declaration of code, nil for none.
func (t *abbrevTable) get(code uint64) *abbrev {
	var i int32
	if code < uint64(len(t.dense)) {
		i = t.dense[code]
	} else {
		i = t.sparse[code]
	}
	if i == 0 {
		return nil
	}
	return &t.decls[i-1]
}

// attrsOf returns a's attributes.
func (t *abbrevTable) attrsOf(a *abbrev) []abbrevAttr { return t.attrs[a.lo : a.lo+a.n] }

func (t *abbrevTable) set(code uint64, i int) {
	if code < 1<<14 {
		for uint64(len(t.dense)) <= code {
			t.dense = append(t.dense, 0)
		}
		t.dense[code] = int32(i + 1)
		return
	}
	if t.sparse == nil {
		t.sparse = map[uint64]int32{}
	}
	t.sparse[code] = int32(i + 1)
}

// parseAbbrevs reads the abbreviation table at off (DWARF 5, 7.5.3), with
// skip sizes for units whose header is h, in one pass. The declarations
// and their attributes are allocated at sizes bounded from hint, the
// table's size in bytes when known (0 otherwise).
func parseAbbrevs(b []byte, off uint64, h *cuHeader, hint int) (*abbrevTable, error) {
	if off >= uint64(len(b)) {
		return nil, fmt.Errorf("abbreviation offset %#x out of range", off)
	}
	if hint <= 0 || hint > len(b)-int(off) {
		hint = min(len(b)-int(off), 4096)
	}
	// A declaration takes at least 4 bytes (code, tag, children, 0 0),
	// an attribute at least 2.
	t := &abbrevTable{kind: kindOf(h), dense: make([]int32, 0, hint/8+1),
		decls: make([]abbrev, 0, hint/8+1), attrs: make([]abbrevAttr, 0, hint/3+1)}
	r := rbuf{b: b, off: int(off)}
	for r.err == nil {
		code := r.uleb()
		if code == 0 {
			break
		}
		a := abbrev{tag: r.uleb(), children: r.u8() != 0, lo: uint32(len(t.attrs)), skip: skipInfo{sibling: -1}}
		for r.err == nil {
			at, form, ic, ok := r.attrSpec()
			if !ok {
				break
			}
			x := newAttr(at, form, ic)
			x.size = int32(formSize(form, h))
			if x.attr == atLocation && (form == fSecOffset || form == fLoclistx ||
				h.version < 4 && (form == fData4 || form == fData8)) {
				a.skip.loclist = true
			}
			if x.attr == atSibling && a.skip.size >= 0 && a.skip.sibling < 0 {
				a.skip.sibling, a.skip.sibForm = int32(a.skip.size), x.form
			}
			if x.size < 0 || a.skip.size < 0 {
				a.skip.size = -1
			} else {
				a.skip.size += int(x.size)
			}
			t.attrs = append(t.attrs, x)
		}
		a.n = uint32(len(t.attrs)) - a.lo
		t.decls = append(t.decls, a)
		t.set(code, len(t.decls)-1)
	}
	if r.err != nil {
		return nil, fmt.Errorf("abbreviations at %#x: %w", off, r.err)
	}
	return t, nil
}

// attrSpec reads one attribute specification of an abbreviation (DWARF
// 5, 7.5.3: name, form, and for DW_FORM_implicit_const its value); ok is
// false at the (0, 0) pair that ends the list.
func (r *rbuf) attrSpec() (at, form uint64, ic int64, ok bool) {
	at, form = r.uleb(), r.uleb()
	if form == fImplicitConst {
		ic = r.sleb()
	}
	return at, form, ic, at != 0 || form != 0
}

// findAbbrev reads the abbreviation table at off only up to the
// declaration of code (the unit DIE's, when indexing units) and returns
// its tag and attributes.
func findAbbrev(b []byte, off, code uint64) (uint64, []abbrevAttr, error) {
	if off >= uint64(len(b)) {
		return 0, nil, fmt.Errorf("abbreviation offset %#x out of range", off)
	}
	r := rbuf{b: b, off: int(off)}
	for r.err == nil {
		c := r.uleb()
		if c == 0 {
			break
		}
		tag := r.uleb()
		r.u8() // children
		var attrs []abbrevAttr
		for r.err == nil {
			at, form, ic, ok := r.attrSpec()
			if !ok {
				break
			}
			if c == code {
				attrs = append(attrs, newAttr(at, form, ic))
			}
		}
		if c == code && r.err == nil {
			return tag, attrs, nil
		}
	}
	return 0, nil, fmt.Errorf("no abbreviation %d at %#x", code, off)
}

// cuHeader is a unit header (DWARF 5, 7.5.1).
type cuHeader struct {
	off, end  uint64 // the unit's extent in .debug_info
	dieOff    uint64 // its first DIE
	version   int
	offSize   int
	addrSize  int
	abbrevOff uint64
	unitType  byte
}

// DWARF 5, 7.5.1 unit types.
const (
	utCompile      = 0x01
	utType         = 0x02
	utPartial      = 0x03
	utSkeleton     = 0x04
	utSplitCompile = 0x05
	utSplitType    = 0x06
)

func readCUHeader(info []byte, off uint64) (cuHeader, error) {
	r := &rbuf{b: info, off: int(off)}
	h := cuHeader{off: off, offSize: 4}
	n := uint64(r.u32())
	if n == 0xffffffff {
		n, h.offSize = r.u64(), 8
	}
	if r.err != nil || n > uint64(r.left()) || n < 7 {
		return h, fmt.Errorf("unit at %#x: bad length %d", off, n)
	}
	h.end = uint64(r.off) + n
	h.version = int(r.u16())
	if h.version < 2 || h.version > 5 {
		return h, fmt.Errorf("unit at %#x: unsupported DWARF version %d", off, h.version)
	}
	if h.version >= 5 {
		h.unitType = r.u8()
		h.addrSize = int(r.u8())
		h.abbrevOff = r.uintN(h.offSize)
		switch h.unitType {
		case utSkeleton, utSplitCompile:
			r.u64() // dwo_id
		case utType, utSplitType:
			r.u64() // type signature
			r.uintN(h.offSize)
		}
	} else {
		h.unitType = utCompile
		h.abbrevOff = r.uintN(h.offSize)
		h.addrSize = int(r.u8())
	}
	if r.err != nil || (h.addrSize != 4 && h.addrSize != 8) {
		return h, fmt.Errorf("unit at %#x: bad header", off)
	}
	h.dieOff = uint64(r.off)
	return h, nil
}

// aval is one decoded attribute value.
type aval struct {
	form uint64
	u    uint64 // numbers, addresses, offsets, indices; references as absolute .debug_info offsets
	i    int64  // sdata, implicit_const
	b    []byte // blocks, exprlocs, inline strings
}

// readAttr decodes (skip false) or skips one attribute value.
func readAttr(r *rbuf, h *cuHeader, form uint64, implicit int64) aval {
	v := aval{form: form}
	switch form {
	case fAddr:
		v.u = r.uintN(h.addrSize)
	case fBlock1:
		v.b = r.bytes(int(r.u8()))
	case fBlock2:
		v.b = r.bytes(int(r.u16()))
	case fBlock4:
		v.b = r.bytes(int(r.u32()))
	case fBlock, fExprloc:
		n := r.uleb()
		if n > uint64(r.left()) {
			r.fail()
			return v
		}
		v.b = r.bytes(int(n))
	case fData1, fRef1, fFlag, fStrx1, fAddrx1:
		v.u = uint64(r.u8())
	case fData2, fRef2, fStrx2, fAddrx2:
		v.u = uint64(r.u16())
	case fStrx3, fAddrx3:
		b := r.bytes(3)
		if b != nil {
			v.u = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
		}
	case fData4, fRef4, fStrx4, fAddrx4, fRefSup4:
		v.u = uint64(r.u32())
	case fData8, fRef8, fRefSig8, fRefSup8:
		v.u = r.u64()
	case fData16:
		r.bytes(16)
	case fSdata:
		v.i = r.sleb()
		v.u = uint64(v.i)
	case fUdata, fRefUdata, fStrx, fAddrx, fLoclistx, fRnglistx, fGNUAddrIndex, fGNUStrIndex:
		v.u = r.uleb()
	case fString:
		start := r.off
		for r.off < len(r.b) && r.b[r.off] != 0 {
			r.off++
		}
		if r.off >= len(r.b) {
			r.fail()
			return v
		}
		v.b = r.b[start:r.off]
		r.off++
	case fStrp, fLineStrp, fSecOffset, fStrpSup, fGNURefAlt, fGNUStrpAlt:
		v.u = r.uintN(h.offSize)
	case fRefAddr:
		if h.version <= 2 {
			v.u = r.uintN(h.addrSize)
		} else {
			v.u = r.uintN(h.offSize)
		}
	case fFlagPresent:
		v.u = 1
	case fImplicitConst:
		v.i = implicit
		v.u = uint64(implicit)
	case fIndirect:
		f := r.uleb()
		if f == fIndirect {
			r.fail()
			return v
		}
		return readAttr(r, h, f, implicit)
	default:
		r.fail()
	}
	switch form {
	case fRef1, fRef2, fRef4, fRef8, fRefUdata:
		v.u += h.off
	}
	return v
}

// isRef reports whether a form is a reference into .debug_info.
func isRef(form uint64) bool {
	switch form {
	case fRef1, fRef2, fRef4, fRef8, fRefUdata, fRefAddr:
		return true
	}
	return false
}

// unitCtx resolves the indexed forms of one unit (strx, addrx, rnglistx).
type unitCtx struct {
	f       *File
	h       *cuHeader
	u       *unit
	strBase uint64 // DW_AT_str_offsets_base
}

func (c *unitCtx) str(v aval) string {
	switch v.form {
	case fString:
		return string(v.b)
	case fStrp:
		s, _ := strAt(c.f.sec.str, v.u)
		return s
	case fLineStrp:
		s, _ := strAt(c.f.sec.lineStr, v.u)
		return s
	case fStrx, fStrx1, fStrx2, fStrx3, fStrx4, fGNUStrIndex:
		base := c.strBase
		if base == 0 && c.h.version >= 5 {
			base = 8 // the first table's header (DWARF 5, 7.26)
		}
		o := base + v.u*uint64(c.h.offSize)
		so := c.f.sec.strOffsets
		if o+uint64(c.h.offSize) > uint64(len(so)) || o < base {
			return ""
		}
		r := &rbuf{b: so, off: int(o)}
		s, _ := strAt(c.f.sec.str, r.uintN(c.h.offSize))
		return s
	}
	return ""
}

// addr resolves an address-class value (DW_FORM_addr or an addrx form).
func (c *unitCtx) addr(v aval) (uint64, bool) {
	switch v.form {
	case fAddr:
		return v.u, true
	case fAddrx, fAddrx1, fAddrx2, fAddrx3, fAddrx4, fGNUAddrIndex:
		o := c.u.addrBase + v.u*uint64(c.h.addrSize)
		if o+uint64(c.h.addrSize) > uint64(len(c.f.sec.addr)) {
			return 0, false
		}
		r := &rbuf{b: c.f.sec.addr, off: int(o)}
		return r.uintN(c.h.addrSize), true
	}
	return 0, false
}

func isAddrForm(form uint64) bool {
	switch form {
	case fAddr, fAddrx, fAddrx1, fAddrx2, fAddrx3, fAddrx4, fGNUAddrIndex:
		return true
	}
	return false
}

// pcRanges returns a DIE's address ranges from low_pc/high_pc or
// DW_AT_ranges (DWARF 5, 2.17), with base the unit's base address.
func (c *unitCtx) pcRanges(low, high, rng *aval) [][2]uint64 {
	var l, h, g aval
	if low != nil {
		l = *low
	}
	if high != nil {
		h = *high
	}
	if rng != nil {
		g = *rng
	}
	return c.appendPCRanges(nil, l, h, g, low != nil, high != nil, rng != nil)
}

// appendPCRanges is pcRanges appending to dst.
func (c *unitCtx) appendPCRanges(dst [][2]uint64, low, high, rng aval, hasLow, hasHigh, hasRng bool) [][2]uint64 {
	if hasRng {
		return c.appendRangeList(dst, rng)
	}
	if !hasLow || !hasHigh {
		return dst
	}
	lo, ok := c.addr(low)
	if !ok {
		return dst
	}
	hi := lo + high.u // DWARF 4+: DW_AT_high_pc as a constant is an offset
	if isAddrForm(high.form) {
		if hi, ok = c.addr(high); !ok {
			return dst
		}
	}
	if hi <= lo {
		return dst
	}
	return append(dst, [2]uint64{lo, hi})
}

// DWARF 5, 7.25 range list entry kinds.
const (
	rleEndOfList    = 0
	rleBaseAddressx = 1
	rleStartxEndx   = 2
	rleStartxLength = 3
	rleOffsetPair   = 4
	rleBaseAddress  = 5
	rleStartEnd     = 6
	rleStartLength  = 7
)

// appendRangeList decodes DW_AT_ranges — .debug_rnglists for DWARF 5
// (sec_offset or rnglistx), .debug_ranges before — appending to out.
func (c *unitCtx) appendRangeList(out [][2]uint64, v aval) [][2]uint64 {
	base := c.u.lowPC
	start := len(out)
	add := func(lo, hi uint64) {
		if hi > lo {
			out = append(out, [2]uint64{lo, hi})
		}
	}
	if c.h.version < 5 {
		b := c.f.sec.ranges
		if v.u >= uint64(len(b)) {
			return out
		}
		r := &rbuf{b: b, off: int(v.u)}
		maxA := ^uint64(0) >> (64 - 8*uint(c.h.addrSize))
		for r.err == nil && len(out)-start < 1<<16 {
			lo, hi := r.uintN(c.h.addrSize), r.uintN(c.h.addrSize)
			switch {
			case lo == 0 && hi == 0:
				return out
			case lo == maxA:
				base = hi
			default:
				add(base+lo, base+hi)
			}
		}
		return out
	}
	b := c.f.sec.rnglists
	off := v.u
	if v.form == fRnglistx {
		rb := c.u.rngBase
		if rb == 0 {
			rb = 12 // after the first table's header
			if c.h.offSize == 8 {
				rb = 20
			}
		}
		o := rb + v.u*uint64(c.h.offSize)
		if o+uint64(c.h.offSize) > uint64(len(b)) {
			return out
		}
		r := &rbuf{b: b, off: int(o)}
		off = rb + r.uintN(c.h.offSize)
	}
	if off >= uint64(len(b)) {
		return out
	}
	r := &rbuf{b: b, off: int(off)}
	ax := func(i uint64) uint64 {
		a, _ := c.addr(aval{form: fAddrx, u: i})
		return a
	}
	for r.err == nil && len(out)-start < 1<<16 {
		switch r.u8() {
		case rleEndOfList:
			return out
		case rleBaseAddressx:
			base = ax(r.uleb())
		case rleStartxEndx:
			lo := ax(r.uleb())
			add(lo, ax(r.uleb()))
		case rleStartxLength:
			lo := ax(r.uleb())
			add(lo, lo+r.uleb())
		case rleOffsetPair:
			lo := r.uleb()
			add(base+lo, base+r.uleb())
		case rleBaseAddress:
			base = r.uintN(c.h.addrSize)
		case rleStartEnd:
			lo := r.uintN(c.h.addrSize)
			add(lo, r.uintN(c.h.addrSize))
		case rleStartLength:
			lo := r.uintN(c.h.addrSize)
			add(lo, lo+r.uleb())
		default:
			return out
		}
	}
	return out
}

// abbrevs returns the (cached) abbreviation table at off, for a unit
// with header h.
func (f *File) abbrevs(off uint64, h *cuHeader) (*abbrevTable, error) {
	f.abbrevMu.Lock()
	m, ok := f.abbrevCache[off]
	f.abbrevMu.Unlock()
	if ok {
		return m, nil
	}
	// Parsed outside the lock: units indexed in parallel each have their
	// own table (two that share one may both parse it; one is kept).
	m, err := parseAbbrevs(f.sec.abbrev, off, h, f.abbrevSize(off))
	if err != nil {
		return nil, err
	}
	f.abbrevMu.Lock()
	defer f.abbrevMu.Unlock()
	if prev, ok := f.abbrevCache[off]; ok {
		return prev, nil
	}
	f.abbrevCache[off] = m
	return m, nil
}

// abbrevSize bounds the size of the abbreviation table at off: up to the
// next table a unit uses, or the end of the section.
func (f *File) abbrevSize(off uint64) int {
	i, _ := slices.BinarySearch(f.abbrevOffs, off+1)
	if i < len(f.abbrevOffs) {
		return int(f.abbrevOffs[i] - off)
	}
	return len(f.sec.abbrev) - int(off)
}

// dieOffset converts a .debug_info offset to debug/dwarf's type.
func dieOffset(o uint64) dwarf.Offset { return dwarf.Offset(o) }
