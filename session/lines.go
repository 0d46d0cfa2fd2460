package session

import (
	"debug/dwarf"
	"errors"
	"io"
	"sort"

	"ukw/symbols"
)

// lineIndex is the line table of an ELF flattened for the debugger core:
// which row an address is in, where statements start, and which addresses
// a file:line or a function resolves to (DWARF 5, 6.2 "Line Number
// Information").
type lineIndex struct {
	sym  *symbols.File
	rows []lineRow // sorted by addr; end_sequence rows included
	err  error
}

type lineRow struct {
	addr   uint64
	file   string
	line   int
	isStmt bool
	end    bool // end_sequence: addr is one past the sequence
}

func newLineIndex(f *symbols.File) *lineIndex {
	ix := &lineIndex{sym: f}
	d, err := f.ELF().DWARF()
	if err != nil {
		ix.err = err
		return ix
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			ix.err = err
			break
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		lr, err := d.LineReader(e)
		r.SkipChildren()
		if err != nil || lr == nil {
			continue
		}
		var le dwarf.LineEntry
		for {
			if err := lr.Next(&le); err != nil {
				if !errors.Is(err, io.EOF) {
					ix.err = err
				}
				break
			}
			name := ""
			if le.File != nil {
				name = le.File.Name
			}
			ix.rows = append(ix.rows, lineRow{addr: le.Address, file: name, line: le.Line, isStmt: le.IsStmt, end: le.EndSequence})
		}
	}
	sort.SliceStable(ix.rows, func(i, j int) bool { return ix.rows[i].addr < ix.rows[j].addr })
	return ix
}

// rowAt returns the row containing pc and the address where the next row
// starts (the end of pc's line range); ok is false outside any sequence.
func (ix *lineIndex) rowAt(pc uint64) (row lineRow, end uint64, ok bool) {
	i := sort.Search(len(ix.rows), func(i int) bool { return ix.rows[i].addr > pc }) - 1
	if i < 0 {
		return lineRow{}, 0, false
	}
	// Of the rows at the same address the last one describes it (an
	// end_sequence row there belongs to the previous sequence).
	a := ix.rows[i].addr
	j := i
	for j >= 0 && ix.rows[j].addr == a && ix.rows[j].end {
		j--
	}
	if j < 0 || ix.rows[j].addr != a {
		return lineRow{}, 0, false
	}
	row = ix.rows[j]
	for k := i + 1; k < len(ix.rows); k++ {
		r := ix.rows[k]
		if r.end || r.line != row.line || r.file != row.file {
			return row, r.addr, true
		}
	}
	return row, row.addr + 1, true
}

// stmtStart reports whether a statement (is_stmt row) begins exactly at pc.
func (ix *lineIndex) stmtStart(pc uint64) bool {
	i := sort.Search(len(ix.rows), func(i int) bool { return ix.rows[i].addr >= pc })
	for ; i < len(ix.rows) && ix.rows[i].addr == pc; i++ {
		if ix.rows[i].isStmt && !ix.rows[i].end {
			return true
		}
	}
	return false
}

// hasLines reports whether any line row covers pc.
func (ix *lineIndex) hasLines(pc uint64) bool {
	_, _, ok := ix.rowAt(pc)
	return ok
}

// funcRange returns the function symbol containing pc.
func (ix *lineIndex) funcRange(pc uint64) (name string, lo, hi uint64, ok bool) {
	s, _, found := ix.sym.SymbolAt(pc)
	if !found || s.Kind != symbols.SymFunc {
		return "", 0, 0, false
	}
	return s.Name, s.Addr, s.Addr + s.Size, true
}

// postPrologue is where a breakpoint on the function [lo, hi) goes: the
// address of the function's second line (gdb's skip_prologue_using_sal),
// or lo when the line table has nothing better.
func (ix *lineIndex) postPrologue(lo, hi uint64) uint64 {
	first, _, ok := ix.rowAt(lo)
	if !ok {
		return lo
	}
	i := sort.Search(len(ix.rows), func(i int) bool { return ix.rows[i].addr > lo })
	for ; i < len(ix.rows) && ix.rows[i].addr < hi; i++ {
		r := ix.rows[i]
		if r.end {
			break
		}
		if r.isStmt && (r.line != first.line || r.file != first.file) {
			return r.addr
		}
	}
	return lo
}
