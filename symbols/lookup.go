package symbols

import "fmt"

// SourceFrame is one source-level frame at an address: the function and
// the file:line:column being executed in it. An address inside inlined
// code has several (see Location.Frames).
type SourceFrame struct {
	// Func is the function name ("" when unknown).
	Func string
	// File is the source file as DWARF names it (directory joined the way
	// binutils does, without cleaning), "" when unknown.
	File string
	// Line is 0 when unknown.
	Line          int
	Column        int
	Discriminator int
	// Inlined is true when this function was inlined into the next frame
	// of the chain.
	Inlined bool
}

// Location is everything known about one code address.
type Location struct {
	Addr uint64
	// Frames is the inline chain, innermost first: Frames[0] is the
	// function and line the address belongs to (line from the line table);
	// each following frame is the caller an inlined function was expanded
	// into, at its DW_AT_call_file:call_line. Empty when nothing is known.
	Frames []SourceFrame
	// Symbol and Offset give symbol+offset from the ELF symbol table
	// ("" when no symbol covers Addr).
	Symbol string
	Offset uint64
	// Found reports what addr2line calls found: the address is in an
	// allocated section and DWARF or the symbol table knows something.
	Found bool
}

// String formats the innermost frame like "func+0x12 (file.c:34)".
func (l Location) String() string {
	s := fmt.Sprintf("%#x", l.Addr)
	if l.Symbol != "" {
		s = fmt.Sprintf("%s+%#x", l.Symbol, l.Offset)
	} else if len(l.Frames) > 0 && l.Frames[0].Func != "" {
		s = l.Frames[0].Func
	}
	if len(l.Frames) > 0 && l.Frames[0].File != "" && l.Frames[0].Line > 0 {
		s += fmt.Sprintf(" (%s:%d)", l.Frames[0].File, l.Frames[0].Line)
	}
	return s
}

// Lookup symbolizes addr: function, file:line with the inline chain, and
// symbol+offset. It follows binutils addr2line's rules so `ukw symbolize`
// prints the same thing (docs/symbols.md lists where and why they differ).
func (f *File) Lookup(addr uint64) Location { return f.lookup(addr, nil, false) }

// LookupGDB is Lookup with gdb's choice of line row: where several rows
// share an address, gdb reports the is_stmt one (find_pc_sect_line),
// binutils the last one. Backtraces, crash reports and stops use it, so
// they show what gdb shows.
func (f *File) LookupGDB(addr uint64) Location { return f.lookup(addr, nil, true) }

// bfdState is the state binutils 2.40 keeps between addr2line queries, so
// that `ukw symbolize` output stays byte-identical:
//   - elf_find_function caches the last symbol it chose and answers any
//     later address inside [symbol, symbol+size) with it, even when a
//     closer label lies in between (an answer depends on earlier queries);
//   - DWARF 5 rows before the first DW_LNS_set_file use file entry 0, not
//     1 (fixed in binutils 2.42, PR 30783).
//
// A nil *bfdState gives the DWARF-correct, order-independent answer.
type bfdState struct {
	sym    *Symbol
	secIdx int
	size   uint64
	// spec, in a speculative run (symbolize_split.go), logs the symbol
	// cache's consultations while it holds no symbol.
	spec *specLog

	// Answers valid for an address range, reused while a run of nearby
	// addresses stays inside it (Symbolize's input is often sorted).
	secLo, secHi uint64 // an allocated section
	uLo, uHi     uint64 // unitsFor
	units        []*unit
	fu           *unit // funcAt for this unit
	fLo, fHi     uint64
	fi           int
	si           int        // fi's segment in fu.segs
	lt           *lineTable // find for this table
	seq          *lineSeq   // row is seq.lookup[j]
	j            int
	rLo, rHi     uint64
	row          lineRow

	// ansLo, ansHi: the last answer is the answer for every address in
	// [ansLo, ansHi) (empty when it cannot be known): the same section,
	// units, function segment, line row and, when it was consulted, the
	// same cached symbol. Symbolize repeats its text there.
	ansLo, ansHi uint64
}

// nextRow moves the cached row to the next one when addr lies in it (a
// sorted run of addresses leaving a row enters the next one): what
// lineTable.locate would find, without the searches.
func (st *bfdState) nextRow(addr uint64) bool {
	rows := st.seq.lookup
	k := st.j + 1
	if k+1 >= len(rows) || rows[k].addr > addr || addr >= rows[k+1].addr || rows[k].endSeq() {
		return false
	}
	st.j, st.row = k, rows[k]
	st.rLo, st.rHi = max(rows[k].addr, st.seq.low), rows[k+1].addr
	return true
}

// nextSeg moves the cached function segment to the next one when addr
// lies in it (see nextRow).
func (st *bfdState) nextSeg(addr uint64) bool {
	seg := st.fu.segs
	k := st.si + 1
	if k >= len(seg) || seg[k].lo > addr || k+1 < len(seg) && addr >= seg[k+1].lo {
		return false
	}
	hi := ^uint64(0)
	if k+1 < len(seg) {
		hi = seg[k+1].lo
	}
	st.si, st.fi, st.fLo, st.fHi = k, int(seg[k].fi), seg[k].lo, hi
	return true
}

// symbolFor is findFunction through st's cache (when st is not nil).
func (f *File) symbolFor(addr uint64, st *bfdState) (*Symbol, bool) {
	if st == nil {
		return f.findFunction(addr)
	}
	sec, ok := f.SectionAt(addr)
	if !ok {
		return nil, false
	}
	if st.sym != nil && st.secIdx == sec.index && addr >= st.sym.Addr && addr < st.sym.Addr+st.size {
		return st.sym, true
	}
	s, ok := f.findFunction(addr)
	if st.spec != nil && st.sym == nil {
		st.spec.record(specCall{addr: addr, secIdx: sec.index, sym: s, ok: ok})
	}
	if ok {
		st.sym, st.secIdx, st.size = s, sec.index, codeSize(s)
	}
	return s, ok
}

func (f *File) lookup(addr uint64, st *bfdState, gdb bool) Location {
	return f.lookupInto(addr, st, gdb, nil)
}

// lookupInto is lookup building Location.Frames in buf's storage.
func (f *File) lookupInto(addr uint64, st *bfdState, gdb bool, buf []SourceFrame) Location {
	bfd240 := st != nil
	loc := Location{Addr: addr}
	if st != nil {
		st.ansLo, st.ansHi = 0, 0
	}
	if st == nil { // addr2line output does not show symbol+offset
		if s, off, ok := f.SymbolAt(addr); ok {
			loc.Symbol, loc.Offset = s.Name, off
		}
	}
	if st != nil && addr >= st.secLo && addr < st.secHi {
		// same section as the last address
	} else if sec, ok := f.SectionAt(addr); !ok {
		return loc
	} else if st != nil {
		st.secLo, st.secHi = sec.Addr, sec.Addr+sec.Size
	}
	if f.hasDW {
		var units []*unit
		if st != nil && addr >= st.uLo && addr < st.uHi {
			units = st.units
		} else {
			var lo, hi uint64
			units, lo, hi = f.unitsRange(addr)
			if st != nil {
				st.units, st.uLo, st.uHi = units, lo, hi
			}
		}
		for ui, u := range units {
			var fi int
			if st != nil && u == st.fu && addr >= st.fLo && addr < st.fHi {
				fi = st.fi
			} else if st != nil && u == st.fu && addr >= st.fHi && st.nextSeg(addr) {
				fi = st.fi // the next segment (sorted input)
			} else {
				var lo, hi uint64
				var si int
				fi, si, lo, hi = f.funcSeg(u, addr)
				if st != nil {
					st.fu, st.fi, st.si, st.fLo, st.fHi = u, fi, si, lo, hi
				}
			}
			lt, _ := f.lineTable(u)
			var row lineRow
			lineOK := false
			if lt != nil {
				switch {
				case gdb:
					row, lineOK = lt.findStmt(addr)
				case st != nil && lt == st.lt && addr >= st.rLo && addr < st.rHi:
					row, lineOK = st.row, true
				case st != nil && lt == st.lt && addr >= st.rHi && st.nextRow(addr):
					row, lineOK = st.row, true // the next row (sorted input)
				default:
					seq, j := lt.locate(addr)
					if lineOK = seq != nil; lineOK {
						row = seq.lookup[j]
						if st != nil {
							st.lt, st.seq, st.j, st.row = lt, seq, j, row
							st.rLo, st.rHi = max(row.addr, seq.low), seq.lookup[j+1].addr
						}
					}
				}
			}
			if fi < 0 && !lineOK {
				continue
			}
			loc.Found = true
			// The answer holds wherever all its inputs do (see ansLo).
			cacheable := st != nil && ui == 0 && lineOK
			if cacheable {
				st.ansLo = max(st.secLo, st.uLo, st.fLo, st.rLo)
				st.ansHi = min(st.secHi, st.uHi, st.fHi, st.rHi)
			}
			first := SourceFrame{}
			if lineOK {
				file := row.file
				if bfd240 && row.fileUnset() && lt.version >= 5 {
					file = 0
				}
				first.File, first.Line, first.Column, first.Discriminator = lt.fileName(file), int(row.line), int(row.col), int(row.disc)
			}
			if fi < 0 || !u.funcs[fi].linkage {
				if s, ok := f.symbolFor(addr, st); ok {
					first.Func = s.Name
					if !lineOK {
						first.File = s.File
					}
					if cacheable {
						st.ansLo = max(st.ansLo, s.Addr)
						st.ansHi = min(st.ansHi, s.Addr+st.size)
					}
				} else {
					if cacheable {
						st.ansLo, st.ansHi = 0, 0
					}
					if fi >= 0 {
						first.Func = u.funcs[fi].name
					}
				}
				if fi < 0 {
					loc.Frames = append(buf, first)
					return loc
				}
			} else {
				first.Func = u.funcs[fi].name
			}
			loc.Frames = append(buf, first)
			for fn := u.funcs[fi]; fn.inlined && fn.parent >= 0; fn = u.funcs[fn.parent] {
				loc.Frames[len(loc.Frames)-1].Inlined = true
				caller := u.funcs[fn.parent]
				sf := SourceFrame{Func: caller.name, Line: int(fn.callLine), Column: int(fn.callCol)}
				if lt != nil {
					sf.File = lt.fileName(fn.callFile)
				}
				loc.Frames = append(loc.Frames, sf)
			}
			return loc
		}
	}
	if s, ok := f.symbolFor(addr, st); ok {
		loc.Found = true
		loc.Frames = append(buf, SourceFrame{Func: s.Name, File: s.File})
	}
	return loc
}
