package symbols

import (
	"cmp"
	"debug/dwarf"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// unit is one DWARF compile unit.
type unit struct {
	idx int
	off dwarf.Offset // the unit DIE
	hdr cuHeader
	// strBase, rngBase: DW_AT_str_offsets_base, DW_AT_rnglists_base;
	// hasLocBase: the unit has DW_AT_loclists_base.
	strBase, rngBase uint64
	hasLocBase       bool
	name             string
	compDir          string
	lang             int64
	lowPC            uint64
	ranges           [][2]uint64
	stmt             int64 // DW_AT_stmt_list, -1 when absent
	addrBase,
	locBase uint64

	lineOnce sync.Once
	lines    *lineTable
	lineErr  error
	// lineStarted, funcStarted: building the line table or the function
	// index has begun (a warm worker skips it rather than wait).
	lineStarted, funcStarted atomic.Bool

	funcOnce sync.Once
	funcs    []*function // DIE order
	byLow    []int       // funcs with ranges, sorted by their lowest address
	segs     []segment   // funcAt's answers (buildSegments)
	// lexBlocks are the DW_TAG_lexical_blocks with code; blockSegs, built
	// on first use, answers blockAt.
	lexBlocks []lexBlock
	blockOnce sync.Once
	blockSegs []segment
	funcErr   error
	// hasLoclist: some variable of the unit uses a location list (gdb's
	// "locations valid" for optimized gcc code: no prologue skipping).
	hasLoclist bool

	scopeOnce sync.Once
	scope     *unitScope
}

type unitRange struct {
	low, high uint64
	u         *unit
}

// function is a DW_TAG_subprogram or DW_TAG_inlined_subroutine with code.
type function struct {
	name     string
	ranges   [][2]uint64
	low      uint64 // lowest address (entry for subprograms with low_pc)
	off      dwarf.Offset
	parent   int32 // enclosing function (index in unit.funcs), -1 for none
	callFile uint32
	callLine int32
	callCol  int32
	linkage  bool // the name is the symbol name (C, or DW_AT_linkage_name)
	inlined  bool
}

// DWARF 5, 7.12 language codes that BFD treats as unmangled
// (binutils dwarf2.c non_mangled).
func nonMangled(lang int64) bool {
	switch lang {
	case 0x1, 0x2, 0x3, 0x4, 0x5, 0x9, 0xc, 0xf, 0x12, 0x1d, 0x8001:
		return true
	}
	return false
}

func (f *File) indexUnits() error {
	info := f.sec.info
	for off := uint64(0); off < uint64(len(info)); {
		h, err := readCUHeader(info, off)
		if err != nil {
			return err
		}
		off = h.end
		r := &rbuf{b: info[:h.end], off: int(h.dieOff)}
		tag, attrs, err := findAbbrev(f.sec.abbrev, h.abbrevOff, r.uleb())
		if err != nil {
			return fmt.Errorf("unit at %#x: %v", h.off, err)
		}
		if tag != tagCompileUnit && tag != tagPartialUnit {
			continue
		}
		u := &unit{idx: len(f.units), off: dieOffset(h.dieOff), hdr: h, stmt: -1}
		vals := make([]aval, len(attrs))
		for i, at := range attrs {
			vals[i] = readAttr(r, &h, uint64(at.form), at.implicit)
		}
		if r.err != nil {
			return fmt.Errorf("unit at %#x: %v", h.off, r.err)
		}
		// The bases first: other attributes of the unit DIE may use them.
		for i, at := range attrs {
			switch at.attr {
			case atStrOffsetsBase:
				u.strBase = vals[i].u
			case atAddrBase, atGNUAddrBase:
				u.addrBase = vals[i].u
			case atRnglistsBase:
				u.rngBase = vals[i].u
			case atLoclistsBase:
				u.locBase, u.hasLocBase = vals[i].u, true
			}
		}
		c := &unitCtx{f: f, h: &u.hdr, u: u, strBase: u.strBase}
		var low, high, rng *aval
		for i, at := range attrs {
			v := &vals[i]
			switch at.attr {
			case atName:
				u.name = c.str(*v)
			case atCompDir:
				u.compDir = c.str(*v)
			case atLanguage:
				u.lang = int64(v.u)
			case atStmtList:
				u.stmt = int64(v.u)
			case atLowpc:
				low = v
				u.lowPC, _ = c.addr(*v)
			case atHighpc:
				high = v
			case atRanges:
				rng = v
			}
		}
		for _, x := range c.pcRanges(low, high, rng) {
			u.ranges = append(u.ranges, x)
			f.unitRanges = append(f.unitRanges, unitRange{low: x[0], high: x[1], u: u})
		}
		if len(u.ranges) == 0 {
			f.noRange = append(f.noRange, u)
		}
		f.units = append(f.units, u)
	}
	sortUnitRanges(f.unitRanges)
	f.buildUnitSegs()
	for _, u := range f.units {
		f.abbrevOffs = append(f.abbrevOffs, u.hdr.abbrevOff)
	}
	slices.Sort(f.abbrevOffs)
	return nil
}

// unitsFor returns the units whose ranges contain addr, in unit order,
// followed by the units that have no ranges (BFD tries those for every
// address). The slice is shared: callers must not modify it.
func (f *File) unitsFor(addr uint64) []*unit {
	seg := f.unitSegs
	i := sort.Search(len(seg), func(i int) bool { return seg[i].lo > addr }) - 1
	if i < 0 {
		return f.noRange
	}
	return seg[i].units
}

// unitsRange is unitsFor with the address range [lo, hi) the answer
// holds for.
func (f *File) unitsRange(addr uint64) ([]*unit, uint64, uint64) {
	seg := f.unitSegs
	i := sort.Search(len(seg), func(i int) bool { return seg[i].lo > addr }) - 1
	hi := ^uint64(0)
	if i+1 < len(seg) {
		hi = seg[i+1].lo
	}
	if i < 0 {
		lo := uint64(0)
		if len(seg) > 0 {
			hi = seg[0].lo
		}
		return f.noRange, lo, hi
	}
	return seg[i].units, seg[i].lo, hi
}

// unitSeg: from lo up to the next unitSeg's lo, unitsFor answers units.
type unitSeg struct {
	lo    uint64
	units []*unit
}

// buildUnitSegs flattens the unit ranges into disjoint segments, each
// with the list unitsFor returns there.
func (f *File) buildUnitSegs() {
	var bounds []uint64
	for _, r := range f.unitRanges {
		bounds = append(bounds, r.low, r.high)
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i] < bounds[j] })
	// unitRanges is sorted by low; active holds the ranges started so far
	// that have not ended.
	var active []unitRange
	next := 0
	for k, b := range bounds {
		if k > 0 && b == bounds[k-1] {
			continue
		}
		for next < len(f.unitRanges) && f.unitRanges[next].low <= b {
			active = append(active, f.unitRanges[next])
			next++
		}
		kept := active[:0]
		for _, r := range active {
			if r.high > b {
				kept = append(kept, r)
			}
		}
		active = kept
		var us []*unit
		for _, r := range active {
			dup := false
			for _, u := range us {
				dup = dup || u == r.u
			}
			if !dup {
				us = append(us, r.u)
			}
		}
		sort.Slice(us, func(i, j int) bool { return us[i].idx < us[j].idx })
		us = append(us, f.noRange...)
		f.unitSegs = append(f.unitSegs, unitSeg{b, us})
	}
}

// lineTable returns the unit's decoded line table (nil if it has none).
func (f *File) lineTable(u *unit) (*lineTable, error) {
	u.lineOnce.Do(func() {
		u.lineStarted.Store(true)
		if u.stmt < 0 {
			return
		}
		defer func() {
			if p := recover(); p != nil {
				u.lines, u.lineErr = nil, fmt.Errorf("malformed line table: %v", p)
			}
		}()
		u.lineErr = f.useMapped(func() error {
			var err error
			u.lines, err = parseLineTable(&f.sec, u.stmt, u.compDir)
			return err
		})
	})
	return u.lines, u.lineErr
}

// functions returns the unit's function index, reading its DIE tree once.
func (f *File) functions(u *unit) ([]*function, error) {
	u.funcOnce.Do(func() {
		u.funcStarted.Store(true)
		defer func() {
			if p := recover(); p != nil {
				u.funcs, u.byLow, u.funcErr = nil, nil, fmt.Errorf("malformed DWARF: %v", p)
			}
		}()
		u.funcErr = f.useMapped(func() error { return f.readFunctions(u) })
	})
	return u.funcs, u.funcErr
}

type lexBlock struct {
	off    dwarf.Offset
	ranges [][2]uint64
}

// rawName is what a function DIE says about its name (see nameOf). The
// names stay encoded until resolve needs them.
type rawName struct {
	name, linkage       strRef
	origin, spec        uint64 // .debug_info offsets, 0 for none
	hasName, hasLinkage bool
}

// strRef is an undecoded string attribute: its form and value (for
// DW_FORM_string, the string's offset in .debug_info).
type strRef struct {
	u    uint64
	form uint32
}

// ref records string attribute v, which r has just read.
func ref(v aval, r *rbuf) strRef {
	if v.form == fString {
		return strRef{uint64(r.off - len(v.b) - 1), fString}
	}
	return strRef{v.u, uint32(v.form)}
}

// refStr decodes a strRef (see unitCtx.str).
func (c *unitCtx) refStr(s strRef) string {
	if s.form == fString {
		str, _ := strAt(c.f.sec.info, s.u)
		return str
	}
	return c.str(aval{form: uint64(s.form), u: s.u})
}

// funcSlab is the most functions readFunctions allocates at once (it
// starts with fewer: every allocated byte is a page fault in a fresh
// process with the collector off).
const funcSlab = 256

// readFunctions indexes the unit's subprograms and inlined subroutines
// with the lean scanner (dwscan.go). It runs inside useMapped.
func (f *File) readFunctions(u *unit) error {
	h := &u.hdr
	ab, err := f.abbrevs(h.abbrevOff, h)
	if err != nil {
		return err
	}
	fixedSkips := ab.kind == kindOf(h)
	c := &unitCtx{f: f, h: h, u: u, strBase: u.strBase}
	r := &rbuf{b: f.sec.info[:h.end], off: int(h.dieOff)}
	// About one function DIE per 256 bytes of a unit (gcc, C).
	est := max(16, int(h.end-h.dieOff)/256)
	var (
		raws  = make([]rawName, 0, est) // raws[i] describes u.funcs[i]
		slab  []function
		arena = make([][2]uint64, 0, est) // every function's and block's ranges
	)
	u.funcs = make([]*function, 0, est)
	// stack of enclosing function indices per DIE depth (-1 = none)
	var stack []int
	for r.err == nil && r.off < len(r.b) {
		dieOff := uint64(r.off)
		code := r.uleb()
		if code == 0 {
			if len(stack) == 0 {
				break
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				break
			}
			continue
		}
		a := ab.get(code)
		if a == nil {
			return fmt.Errorf("unit at %#x: bad abbreviation code %d at %#x", h.off, code, dieOff)
		}
		isFunc := a.tag == tagSubprogram || a.tag == tagInlinedSubroutine || a.tag == tagEntryPoint
		isBlock := a.tag == tagLexicalBlock
		if !isFunc && !isBlock && stack != nil {
			// Most DIEs: only whether a location is a location list
			// matters; their attributes are skipped, in one step when
			// all forms have a fixed size.
			sk := a.skip
			if !fixedSkips {
				sk = skipOf(ab.attrsOf(a), h)
			}
			if sk.loclist {
				u.hasLoclist = true
			}
			if a.children && sk.sibling >= 0 && skipsChildren(a.tag, u.lang) {
				// A type: no code, no variables below it. Jump to its
				// sibling instead of walking its members.
				if to, ok := siblingAt(r, h, int(sk.sibling), sk.sibForm); ok && to > dieOff && to <= h.end {
					r.off = int(to)
					continue
				}
			}
			if sk.size >= 0 {
				r.off += sk.size
				if r.off > len(r.b) {
					r.fail()
				}
			} else {
				skipAttrs(r, h, ab.attrsOf(a), fixedSkips)
			}
			if a.children {
				stack = append(stack, stack[len(stack)-1])
			}
			continue
		}
		var (
			fn                     function
			rn                     rawName
			low, high, rngs        aval
			hasLow, hasHigh, hasRg bool
		)
		if isFunc {
			fn = function{off: dieOffset(dieOff), parent: -1, inlined: a.tag == tagInlinedSubroutine}
		}
		attrs := ab.attrsOf(a)
		for k := range attrs {
			at := &attrs[k]
			switch at.attr {
			case atLocation, atLowpc, atHighpc, atRanges, atName, atLinkageName, atMIPSLinkageName,
				atAbstractOrigin, atSpecification, atCallFile, atCallLine, atCallColumn:
			default:
				skipAttrs(r, h, attrs[k:k+1], fixedSkips)
				continue
			}
			v := readAttr(r, h, uint64(at.form), at.implicit)
			switch at.attr {
			case atLocation:
				if at.form == fSecOffset || at.form == fLoclistx ||
					h.version < 4 && (at.form == fData4 || at.form == fData8) {
					u.hasLoclist = true
				}
			case atLowpc:
				low, hasLow = v, true
			case atHighpc:
				high, hasHigh = v, true
			case atRanges:
				rngs, hasRg = v, true
			}
			if !isFunc {
				continue
			}
			switch at.attr {
			case atName:
				rn.name, rn.hasName = ref(v, r), true
			case atLinkageName, atMIPSLinkageName:
				rn.linkage, rn.hasLinkage = ref(v, r), true
			case atAbstractOrigin:
				if isRef(v.form) {
					rn.origin = v.u
				}
			case atSpecification:
				if isRef(v.form) {
					rn.spec = v.u
				}
			case atCallFile:
				fn.callFile = uint32(v.u)
			case atCallLine:
				fn.callLine = int32(v.u)
			case atCallColumn:
				fn.callCol = int32(v.u)
			}
		}
		if stack == nil {
			// The unit DIE itself.
			if a.children {
				stack = []int{-1}
				continue
			}
			break
		}
		parent := stack[len(stack)-1]
		cur := parent
		var rg [][2]uint64
		if hasLow || hasRg {
			n := len(arena)
			arena = c.appendPCRanges(arena, low, high, rngs, hasLow, hasHigh, hasRg)
			rg = arena[n:len(arena):len(arena)]
			if len(rg) == 0 {
				rg = nil
			}
		}
		if isBlock && len(rg) > 0 {
			u.lexBlocks = append(u.lexBlocks, lexBlock{dieOffset(dieOff), rg})
		}
		if isFunc {
			if fn.inlined {
				fn.parent = int32(parent)
			}
			fn.ranges = rg
			if len(rg) > 0 {
				fn.low = minLow(&fn)
				if hasLow {
					if a, ok := c.addr(low); ok {
						fn.low = a
					}
				}
			}
			if len(slab) == cap(slab) {
				slab = make([]function, 0, min(funcSlab, max(32, 2*cap(slab))))
			}
			slab = append(slab, fn)
			u.funcs = append(u.funcs, &slab[len(slab)-1])
			raws = append(raws, rn)
			cur = len(u.funcs) - 1
		}
		if a.children {
			stack = append(stack, cur)
		}
	}
	if r.err != nil {
		return fmt.Errorf("unit at %#x: %v", h.off, r.err)
	}
	// Names: those of the functions with code and of their callers.
	need := make([]bool, len(u.funcs))
	for i, fn := range u.funcs {
		if len(fn.ranges) == 0 {
			continue
		}
		for k := i; k >= 0 && !need[k]; k = int(u.funcs[k].parent) {
			need[k] = true
		}
	}
	nr := &nameResolver{f: f, u: u, c: c, raws: raws, memo: make([]nameInfo, len(u.funcs)), state: make([]uint8, len(u.funcs))}
	for i, fn := range u.funcs {
		if need[i] {
			ni := nr.resolve(uint64(fn.off), 0)
			fn.name, fn.linkage = ni.name, ni.linkage
		}
	}
	u.byLow = make([]int, 0, len(u.funcs))
	for i, fn := range u.funcs {
		if len(fn.ranges) > 0 {
			u.byLow = append(u.byLow, i)
		}
	}
	slices.SortStableFunc(u.byLow, func(i, j int) int {
		return cmp.Compare(u.funcs[i].low0(), u.funcs[j].low0())
	})
	u.buildSegments()
	return nil
}

// nameResolver is resolveName's state for one unit: the scanned DIEs
// (raws, parallel to unit.funcs, found by offset with a binary search)
// and the names resolved so far.
type nameResolver struct {
	f     *File
	u     *unit
	c     *unitCtx
	raws  []rawName
	memo  []nameInfo
	state []uint8 // 0 new, 1 in progress, 2 done
}

// resolve is nameOf over the scanned DIEs: the name comes through
// DW_AT_abstract_origin and DW_AT_specification, DW_AT_linkage_name
// preferred, like binutils' find_abstract_instance. A reference outside
// the unit's functions is read with debug/dwarf.
func (nr *nameResolver) resolve(off uint64, depth int) nameInfo {
	u := nr.u
	i, found := slices.BinarySearchFunc(u.funcs, off, func(fn *function, off uint64) int { return cmp.Compare(uint64(fn.off), off) })
	if !found {
		if d := nr.f.dwarfData(); d != nil && depth <= 8 {
			rd := d.Reader()
			rd.Seek(dwarf.Offset(off))
			if e, err := rd.Next(); err == nil && e != nil {
				return nr.f.nameOf(e, u, rd, map[dwarf.Offset]nameInfo{}, depth+1)
			}
		}
		return nameInfo{}
	}
	if nr.state[i] == 2 {
		return nr.memo[i]
	}
	rn := &nr.raws[i]
	var ni nameInfo
	if depth <= 8 && nr.state[i] == 0 {
		nr.state[i] = 1
		for _, t := range [2]uint64{rn.origin, rn.spec} {
			if t != 0 && t != off {
				ni = nr.resolve(t, depth+1)
			}
		}
	}
	if rn.hasLinkage {
		ni.name, ni.linkage = nr.c.refStr(rn.linkage), true
	} else if rn.hasName && !ni.linkage {
		ni.name, ni.linkage = nr.c.refStr(rn.name), nonMangled(u.lang)
	}
	nr.memo[i], nr.state[i] = ni, 2
	return ni
}

// low0 is the start of the function's first range.
func (fn *function) low0() uint64 { return minLow(fn) }

func minLow(fn *function) uint64 {
	m := fn.ranges[0][0]
	for _, x := range fn.ranges {
		m = min(m, x[0])
	}
	return m
}

type nameInfo struct {
	name    string
	linkage bool
}

// nameOf resolves a function DIE's name through DW_AT_abstract_origin and
// DW_AT_specification, preferring DW_AT_linkage_name like binutils'
// find_abstract_instance.
func (f *File) nameOf(e *dwarf.Entry, u *unit, rd *dwarf.Reader, cache map[dwarf.Offset]nameInfo, depth int) nameInfo {
	var ni nameInfo
	if depth > 8 {
		return ni
	}
	for _, a := range []dwarf.Attr{dwarf.AttrAbstractOrigin, dwarf.AttrSpecification} {
		if off, ok := e.Val(a).(dwarf.Offset); ok {
			if c, ok := cache[off]; ok {
				ni = c
			} else {
				rd.Seek(off)
				oe, err := rd.Next()
				if err == nil && oe != nil {
					ni = f.nameOf(oe, u, rd, cache, depth+1)
					cache[off] = ni
				}
			}
		}
	}
	if s, ok := e.Val(dwarf.AttrLinkageName).(string); ok {
		ni.name, ni.linkage = s, true
	} else if s, ok := e.Val(dwarf.AttrName).(string); ok && !ni.linkage {
		ni.name, ni.linkage = s, nonMangled(u.lang)
	}
	return ni
}

// frameBaseExpr reads a function's DW_AT_frame_base expression.
func (f *File) frameBaseExpr(fn *function) ([]byte, bool) {
	e, err := f.entryAt(fn.off)
	if err != nil {
		return nil, false
	}
	fb, ok := e.Val(dwarf.AttrFrameBase).([]byte)
	return fb, ok
}

// skipInfo says how to pass over a DIE of one abbreviation: size is the
// fixed byte size of its attributes (-1 when a form has a variable size);
// loclist says one of them is a location list.
type skipInfo struct {
	size    int
	loclist bool
	// sibling is where the DW_AT_sibling value starts after the
	// abbreviation code, when only fixed-size values precede it (-1
	// otherwise); sibForm is its form (parseAbbrevs only).
	sibling int32
	sibForm uint16
}

// skipsChildren reports whether readFunctions may jump over the children
// of a DIE with this tag: types, whose children are members, enumerators,
// subranges and parameter types. Structures, unions and classes only in
// C units (C++ declares member functions inside them, which
// DW_AT_specification refers to).
func skipsChildren(tag uint64, lang int64) bool {
	switch tag {
	case tagArrayType, tagEnumerationType, tagSubroutineType:
		return true
	case tagStructureType, tagUnionType:
		switch lang {
		case 0x1, 0x2, 0xc, 0x1d, 0x2c: // DW_LANG_C89, C, C99, C11, C17
			return true
		}
	}
	return false
}

// siblingAt reads the DW_AT_sibling reference that starts off bytes
// after r's position, as a .debug_info offset.
func siblingAt(r *rbuf, h *cuHeader, off int, form uint16) (uint64, bool) {
	p := r.off + off
	var n int
	switch form {
	case fRef1:
		n = 1
	case fRef2:
		n = 2
	case fRef4:
		n = 4
	case fRef8:
		n = 8
	default:
		return 0, false
	}
	if p < 0 || p+n > len(r.b) {
		return 0, false
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(r.b[p+i])
	}
	return h.off + v, true
}

// skipOf computes a's skipInfo for units with header h.
func skipOf(attrs []abbrevAttr, h *cuHeader) skipInfo {
	sk := skipInfo{sibling: -1}
	for _, at := range attrs {
		if at.attr == atLocation && (at.form == fSecOffset || at.form == fLoclistx ||
			h.version < 4 && (at.form == fData4 || at.form == fData8)) {
			sk.loclist = true
		}
		n := formSize(uint64(at.form), h)
		if at.attr == atSibling && sk.size >= 0 && sk.sibling < 0 {
			sk.sibling, sk.sibForm = int32(sk.size), at.form
		}
		if n < 0 || sk.size < 0 {
			sk.size = -1
			continue
		}
		sk.size += n
	}
	return sk
}

// formSize is the encoded size of a fixed-size form, -1 for the others
// (DWARF 5, 7.5.6).
func formSize(form uint64, h *cuHeader) int {
	switch form {
	case fFlagPresent, fImplicitConst:
		return 0
	case fData1, fRef1, fFlag, fStrx1, fAddrx1:
		return 1
	case fData2, fRef2, fStrx2, fAddrx2:
		return 2
	case fStrx3, fAddrx3:
		return 3
	case fData4, fRef4, fStrx4, fAddrx4, fRefSup4:
		return 4
	case fData8, fRef8, fRefSig8, fRefSup8:
		return 8
	case fData16:
		return 16
	case fAddr:
		return h.addrSize
	case fStrp, fLineStrp, fSecOffset, fStrpSup, fGNURefAlt, fGNUStrpAlt:
		return h.offSize
	case fRefAddr:
		if h.version <= 2 {
			return h.addrSize
		}
		return h.offSize
	}
	return -1
}
