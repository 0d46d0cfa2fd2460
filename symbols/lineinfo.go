package symbols

import "sort"

// LineInfo is the line-table row covering a pc (DWARF 5, 6.2) and the
// range of the source line it belongs to.
type LineInfo struct {
	// File is the source file as the line table names it (directory
	// joined, not cleaned); Line 0 means the compiler marked the code as
	// belonging to no line.
	File   string
	Line   int
	Column int
	// IsStmt is the row's is_stmt flag; RowAddr is the address where the
	// row starts.
	IsStmt  bool
	RowAddr uint64
	// Lo and Hi bound the line [Lo, Hi): the consecutive rows around pc
	// with the same file and line, which is the range gdb's `step` and
	// `next` run through before they stop (gdb keeps stepping when it
	// enters a new row of the same line).
	Lo, Hi uint64
}

// LineAt returns the line-table row for pc with gdb's choice of row (an
// is_stmt row wins where several rows share an address, as in
// find_pc_sect_line) and the step range of its line. ok is false when no
// line table covers pc.
func (f *File) LineAt(pc uint64) (li LineInfo, ok bool) {
	if !f.hasDW {
		return LineInfo{}, false
	}
	for _, u := range f.unitsFor(pc) {
		lt, err := f.lineTable(u)
		if err != nil || lt == nil {
			continue
		}
		seq, j := lt.rowIndex(pc)
		if seq == nil {
			continue
		}
		rows := seq.gdbRows()
		r := rows[j]
		li = LineInfo{File: lt.fileName(r.file), Line: int(r.line), Column: int(r.col), IsStmt: r.isStmt(), RowAddr: r.addr}
		// Walk the address groups (rows sharing an address) around pc;
		// each group describes the line gdb picks for it (pickRow).
		same := func(last int) bool {
			x := rows[pickRow(rows, last)]
			return !x.endSeq() && x.line == r.line && x.file == r.file
		}
		lo := j
		for lo > 0 && rows[lo-1].addr == rows[lo].addr {
			lo--
		}
		for lo > 0 && same(lo-1) {
			lo--
			for lo > 0 && rows[lo-1].addr == rows[lo].addr {
				lo--
			}
		}
		li.Lo = rows[lo].addr
		hi := j + 1
		for hi < len(rows) && rows[hi].addr == r.addr {
			hi++
		}
		for hi < len(rows) {
			last := hi
			for last+1 < len(rows) && rows[last+1].addr == rows[hi].addr {
				last++
			}
			if !same(last) {
				break
			}
			hi = last + 1
		}
		if hi < len(rows) {
			li.Hi = rows[hi].addr
		} else {
			li.Hi = rows[len(rows)-1].addr
		}
		if li.Hi <= pc {
			li.Hi = pc + 1
		}
		return li, true
	}
	return LineInfo{}, false
}

// rowIndex finds the sequence covering addr and the index in its sorted
// rows of gdb's row for addr (see findStmt); seq is nil when none covers it.
func (t *lineTable) rowIndex(addr uint64) (*lineSeq, int) {
	i := sort.Search(len(t.seqs), func(i int) bool { return t.seqs[i].high() > addr })
	if i == len(t.seqs) || addr < t.seqs[i].low {
		return nil, 0
	}
	s := t.seqs[i]
	rows := s.gdbRows()
	j := sort.Search(len(rows), func(j int) bool { return rows[j].addr > addr }) - 1
	if j < 0 || rows[j].endSeq() {
		return nil, 0
	}
	return s, pickRow(rows, j)
}

// pickRow is gdb's choice among the rows sharing rows[j]'s address, j
// being the last of them: that row, unless it is not a statement and an
// is_stmt row at the same address precedes it (find_pc_sect_line).
func pickRow(rows []lineRow, j int) int {
	k := j
	for k > 0 && rows[k-1].addr == rows[k].addr && rows[k-1].line != 0 && !rows[k].isStmt() {
		k--
	}
	if rows[k].isStmt() {
		return k
	}
	return j
}

// IsStmtStart reports whether a line-table row with is_stmt set starts
// exactly at pc (a statement boundary: where gdb's `step` may stop). Rows
// gdb drops from its own line table (a repeated line with discriminators,
// line 0; see markGDBRows) do not count, so the answer matches gdb's
// `maint info line-table`.
func (f *File) IsStmtStart(pc uint64) bool {
	if !f.hasDW {
		return false
	}
	for _, u := range f.unitsFor(pc) {
		lt, err := f.lineTable(u)
		if err != nil || lt == nil {
			continue
		}
		for _, s := range lt.all {
			rows := s.gdbRows()
			if len(rows) == 0 || pc < rows[0].addr || pc >= rows[len(rows)-1].addr {
				continue
			}
			j := sort.Search(len(rows), func(j int) bool { return rows[j].addr >= pc })
			for ; j < len(rows) && rows[j].addr == pc; j++ {
				if rows[j].isStmt() && rows[j].gdbRow() {
					return true
				}
			}
		}
	}
	return false
}

// Func is a function's extent.
type Func struct {
	// Name is the function's (linkage) name.
	Name string
	// Entry is the function's entry address (DW_AT_low_pc, or the symbol
	// value). [Lo, Hi) is its address range that contains the queried pc:
	// functions gcc split into hot and cold parts have several.
	Entry, Lo, Hi uint64
	// FromDWARF says the answer came from DWARF, not the symbol table.
	FromDWARF bool
}

// FuncAt returns the out-of-line function containing pc: the
// DW_TAG_subprogram whose ranges contain it (inlined code belongs to the
// function it was inlined into), else the sized function symbol covering
// it.
func (f *File) FuncAt(pc uint64) (Func, bool) {
	if f.hasDW {
		for _, u := range f.unitsFor(pc) {
			fi := f.funcAt(u, pc)
			if fi < 0 {
				continue
			}
			fn := u.funcs[fi]
			for fn.inlined && fn.parent >= 0 {
				fn = u.funcs[fn.parent]
			}
			for _, x := range fn.ranges {
				if pc >= x[0] && pc < x[1] {
					return Func{Name: fn.name, Entry: fn.low, Lo: x[0], Hi: x[1], FromDWARF: true}, true
				}
			}
		}
	}
	s, ok := f.findFunction(pc)
	if !ok || s.Kind != SymFunc || (s.Size > 0 && pc >= s.Addr+s.Size) {
		return Func{}, false
	}
	hi := s.Addr + s.Size
	if s.Size == 0 {
		hi = pc + 1
	}
	return Func{Name: s.Name, Entry: s.Addr, Lo: s.Addr, Hi: hi}, true
}

// AfterPrologue returns where `break FUNC` puts a breakpoint for the
// function entered at entry: past the prologue the way gdb 13 finds it
// for gcc code (see Breakpoints). It returns entry when nothing better is
// known.
func (f *File) AfterPrologue(entry uint64) uint64 {
	// Like funcBreakpoints: the symbol's size bounds the search; DWARF's
	// range serves for functions without a sized symbol.
	var size uint64
	if fn, ok := f.FuncAt(entry); ok && fn.Lo == entry {
		size = fn.Hi - fn.Lo
	}
	k := sort.Search(len(f.byAddr), func(k int) bool { return f.syms[f.byAddr[k]].Addr >= entry })
	for ; k < len(f.byAddr) && f.syms[f.byAddr[k]].Addr == entry; k++ {
		if s := &f.syms[f.byAddr[k]]; s.Kind == SymFunc && s.Size > 0 {
			size = s.Size
			break
		}
	}
	return f.skipPrologue(entry, size)
}
