package symbols

import (
	"debug/dwarf"
	"fmt"
	"sort"
	"sync"
)

// unit is one DWARF compile unit.
type unit struct {
	idx     int
	off     dwarf.Offset
	entry   *dwarf.Entry
	name    string
	compDir string
	lang    int64
	version int
	lowPC   uint64
	ranges  [][2]uint64
	stmt    int64 // DW_AT_stmt_list, -1 when absent
	addrBase,
	locBase uint64

	lineOnce sync.Once
	lines    *lineTable
	lineErr  error

	funcOnce sync.Once
	funcs    []*function // DIE order
	byLow    []int       // funcs with ranges, sorted by their lowest address
	funcErr  error
	// hasLoclist: some variable of the unit uses a location list (gdb's
	// "locations valid" for optimized gcc code: no prologue skipping).
	hasLoclist bool

	scopeOnce sync.Once
	scope     *unitScope
}

type unitRange struct {
	low, high uint64
	u         *unit
	maxHigh   uint64 // max high over this and all earlier ranges
}

// function is a DW_TAG_subprogram or DW_TAG_inlined_subroutine with code.
type function struct {
	name     string
	linkage  bool // the name is the symbol name (C, or DW_AT_linkage_name)
	ranges   [][2]uint64
	low      uint64 // lowest address (entry for subprograms with low_pc)
	inlined  bool
	parent   int // enclosing function (index in unit.funcs), -1 for none
	callFile uint32
	callLine int
	callCol  int
	declFile uint32
	declLine int
	off      dwarf.Offset
	entry    *dwarf.Entry
	external bool
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
	r := f.dw.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagCompileUnit && e.Tag != dwarf.TagPartialUnit {
			r.SkipChildren()
			continue
		}
		u := &unit{idx: len(f.units), off: e.Offset, entry: e, stmt: -1}
		u.name, _ = e.Val(dwarf.AttrName).(string)
		u.compDir, _ = e.Val(dwarf.AttrCompDir).(string)
		u.lang, _ = e.Val(dwarf.AttrLanguage).(int64)
		if v, ok := e.Val(dwarf.AttrStmtList).(int64); ok {
			u.stmt = v
		}
		if v, ok := e.Val(dwarf.AttrLowpc).(uint64); ok {
			u.lowPC = v
		}
		if v, ok := e.Val(dwarf.AttrAddrBase).(int64); ok {
			u.addrBase = uint64(v)
		}
		if v, ok := e.Val(dwarf.AttrLoclistsBase).(int64); ok {
			u.locBase = uint64(v)
		}
		rg, err := f.dw.Ranges(e)
		if err != nil {
			rg = nil
		}
		for _, x := range rg {
			if x[1] > x[0] {
				u.ranges = append(u.ranges, x)
				f.unitRanges = append(f.unitRanges, unitRange{low: x[0], high: x[1], u: u})
			}
		}
		if len(u.ranges) == 0 {
			f.noRange = append(f.noRange, u)
		}
		f.units = append(f.units, u)
		r.SkipChildren()
	}
	sortUnitRanges(f.unitRanges)
	var m uint64
	for i := range f.unitRanges {
		m = max(m, f.unitRanges[i].high)
		f.unitRanges[i].maxHigh = m
	}
	return nil
}

// unitsFor returns the units whose ranges contain addr, in unit order,
// followed by the units that have no ranges (BFD tries those for every
// address).
func (f *File) unitsFor(addr uint64) []*unit {
	var out []*unit
	i := sort.Search(len(f.unitRanges), func(i int) bool { return f.unitRanges[i].low > addr }) - 1
	for ; i >= 0 && f.unitRanges[i].maxHigh > addr; i-- {
		ur := f.unitRanges[i]
		if addr < ur.high {
			dup := false
			for _, u := range out {
				dup = dup || u == ur.u
			}
			if !dup {
				out = append(out, ur.u)
			}
		}
	}
	if len(out) > 1 {
		sort.Slice(out, func(i, j int) bool { return out[i].idx < out[j].idx })
	}
	return append(out, f.noRange...)
}

// lineTable returns the unit's decoded line table (nil if it has none).
func (f *File) lineTable(u *unit) (*lineTable, error) {
	u.lineOnce.Do(func() {
		if u.stmt < 0 {
			return
		}
		defer func() {
			if p := recover(); p != nil {
				u.lines, u.lineErr = nil, fmt.Errorf("malformed line table: %v", p)
			}
		}()
		u.lines, u.lineErr = parseLineTable(&f.sec, u.stmt, u.compDir)
	})
	return u.lines, u.lineErr
}

// functions returns the unit's function index, reading its DIE tree once.
func (f *File) functions(u *unit) ([]*function, error) {
	u.funcOnce.Do(func() {
		defer func() {
			if p := recover(); p != nil {
				u.funcs, u.byLow, u.funcErr = nil, nil, fmt.Errorf("malformed DWARF: %v", p)
			}
		}()
		u.funcErr = f.readFunctions(u)
	})
	return u.funcs, u.funcErr
}

func (f *File) readFunctions(u *unit) error {
	r := f.dw.Reader()
	r.Seek(u.off)
	cu, err := r.Next()
	if err != nil || cu == nil {
		return fmt.Errorf("unit at %#x: %v", u.off, err)
	}
	if !cu.Children {
		return nil
	}
	origin := f.dw.Reader()
	names := map[dwarf.Offset]nameInfo{}
	// stack of enclosing function indices per DIE depth (-1 = none)
	stack := []int{-1}
	for {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("unit at %#x: %v", u.off, err)
		}
		if e == nil {
			break
		}
		if e.Tag == 0 {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				break
			}
			continue
		}
		if fl := e.AttrField(dwarf.AttrLocation); fl != nil && (fl.Class == dwarf.ClassLocListPtr || fl.Class == dwarf.ClassLocList) {
			u.hasLoclist = true
		}
		parent := stack[len(stack)-1]
		cur := parent
		switch e.Tag {
		case dwarf.TagSubprogram, dwarf.TagInlinedSubroutine, dwarf.TagEntryPoint:
			fn := &function{off: e.Offset, entry: e, parent: -1, inlined: e.Tag == dwarf.TagInlinedSubroutine}
			if fn.inlined {
				fn.parent = parent
			}
			ni := f.nameOf(e, u, origin, names, 0)
			fn.name, fn.linkage, fn.declFile, fn.declLine, fn.external = ni.name, ni.linkage, ni.declFile, ni.declLine, ni.external
			if v, ok := e.Val(dwarf.AttrCallFile).(int64); ok {
				fn.callFile = uint32(v)
			}
			if v, ok := e.Val(dwarf.AttrCallLine).(int64); ok {
				fn.callLine = int(v)
			}
			if v, ok := e.Val(dwarf.AttrCallColumn).(int64); ok {
				fn.callCol = int(v)
			}
			rg, _ := f.dw.Ranges(e)
			for _, x := range rg {
				if x[1] > x[0] {
					fn.ranges = append(fn.ranges, x)
				}
			}
			if len(fn.ranges) > 0 {
				fn.low = fn.ranges[0][0]
				for _, x := range fn.ranges {
					fn.low = min(fn.low, x[0])
				}
				if v, ok := e.Val(dwarf.AttrLowpc).(uint64); ok {
					fn.low = v
				}
			}
			u.funcs = append(u.funcs, fn)
			cur = len(u.funcs) - 1
		}
		if e.Children {
			stack = append(stack, cur)
		}
	}
	for i, fn := range u.funcs {
		if len(fn.ranges) > 0 {
			u.byLow = append(u.byLow, i)
		}
	}
	sort.SliceStable(u.byLow, func(i, j int) bool {
		return minLow(u.funcs[u.byLow[i]]) < minLow(u.funcs[u.byLow[j]])
	})
	return nil
}

func minLow(fn *function) uint64 {
	m := fn.ranges[0][0]
	for _, x := range fn.ranges {
		m = min(m, x[0])
	}
	return m
}

type nameInfo struct {
	name     string
	linkage  bool
	declFile uint32
	declLine int
	external bool
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
	if v, ok := e.Val(dwarf.AttrDeclFile).(int64); ok {
		ni.declFile = uint32(v)
	}
	if v, ok := e.Val(dwarf.AttrDeclLine).(int64); ok {
		ni.declLine = int(v)
	}
	if v, ok := e.Val(dwarf.AttrExternal).(bool); ok && v {
		ni.external = true
	}
	return ni
}

// funcAt returns the index of the function with the smallest range
// containing addr (binutils lookup_address_in_function_table; ties go to
// the later DIE), or -1.
func (f *File) funcAt(u *unit, addr uint64) int {
	funcs, _ := f.functions(u)
	best := -1
	var bestLen uint64
	for _, i := range u.byLow {
		fn := funcs[i]
		if minLow(fn) > addr {
			break
		}
		for _, x := range fn.ranges {
			if addr < x[0] || addr >= x[1] {
				continue
			}
			l := x[1] - x[0]
			if best < 0 || l < bestLen || (l == bestLen && i > best) {
				best, bestLen = i, l
			}
		}
	}
	return best
}
