package symbols

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// lineRow is one row of a DWARF line-number matrix (DWARF 5, 6.2.2),
// 24 bytes: a large table is millions of them, and every byte of a fresh
// process's heap costs page faults.
type lineRow struct {
	addr uint64
	file uint32 // index into lineTable.files
	line uint32
	disc uint32
	col  uint16 // columns past 65535 are kept as 65535
	// flags: rowStmt, rowPrologueEnd, rowEndSeq, and
	//   - rowFileUnset: no DW_LNS_set_file ran in this sequence yet.
	//     binutils 2.40 then uses file entry 0 of a DWARF 5 table, not 1
	//     (fixed in 2.42, PR 30783); addr2line-compatible output
	//     reproduces that;
	//   - rowNZDisc: a non-zero discriminator was set since the line last
	//     changed (gdb's m_line_has_non_zero_discriminator);
	//   - rowGDB: gdb 13 keeps this row in its line table (markGDBRows).
	flags uint8
}

// lineRow flags.
const (
	rowStmt = 1 << iota
	rowPrologueEnd
	rowEndSeq
	rowFileUnset
	rowNZDisc
	rowGDB
)

func (r *lineRow) isStmt() bool      { return r.flags&rowStmt != 0 }
func (r *lineRow) prologueEnd() bool { return r.flags&rowPrologueEnd != 0 }
func (r *lineRow) endSeq() bool      { return r.flags&rowEndSeq != 0 }
func (r *lineRow) fileUnset() bool   { return r.flags&rowFileUnset != 0 }
func (r *lineRow) nzDisc() bool      { return r.flags&rowNZDisc != 0 }
func (r *lineRow) gdbRow() bool      { return r.flags&rowGDB != 0 }

// set sets or clears flag.
func (r *lineRow) set(flag uint8, on bool) {
	if on {
		r.flags |= flag
	} else {
		r.flags &^= flag
	}
}

// lineSeq is one sequence of rows (ends with an end_sequence row).
type lineSeq struct {
	low  uint64
	rows []lineRow // as emitted, in program order
	// lookup is the BFD view: sorted by address, consecutive rows at the
	// same address collapsed to the last one (binutils dwarf2.c
	// add_line_info), or rows itself when they are sorted (see index).
	lookup []lineRow
	// sorted is rows stably sorted by address, duplicates kept (gdb's
	// view), made on first use (addr2line's view does not need it).
	sortOnce sync.Once
	sorted   []lineRow
}

// sortRows sorts rows stably by address; DWARF sequences are almost
// always in address order already (DWARF 5, 6.2.5.1), so check first.
func sortRows(rows []lineRow) {
	for i := 1; i < len(rows); i++ {
		if rows[i].addr < rows[i-1].addr {
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].addr < rows[j].addr })
			return
		}
	}
}

// gdbRows returns the sequence's rows stably sorted by address.
func (s *lineSeq) gdbRows() []lineRow {
	s.sortOnce.Do(func() {
		if slices.IsSortedFunc(s.rows, func(a, b lineRow) int { return cmp.Compare(a.addr, b.addr) }) {
			s.sorted = s.rows // nothing mutates either
			return
		}
		rows := append([]lineRow(nil), s.rows...)
		sortRows(rows)
		s.sorted = rows
	})
	return s.sorted
}

func (s *lineSeq) high() uint64 { return s.lookup[len(s.lookup)-1].addr }

// lineTable is a decoded .debug_line program.
type lineTable struct {
	version int
	// The header's directories and file entries; a file's full name is
	// joined the way binutils does on first use (fileName): a table names
	// every header a unit includes, an answer needs a few of them.
	compDir string
	dirs    []string
	raw     []fileEnt
	fileMu  sync.Mutex
	files   []string // raw[i] joined, when made[i]
	made    []bool
	all     []*lineSeq
	seqs    []*lineSeq // BFD's binary-searchable list: sorted, nested removed, overlaps trimmed
}

// DWARF 5, 7.22 line number opcodes and 7.22 content types.
const (
	lnsCopy             = 1
	lnsAdvancePC        = 2
	lnsAdvanceLine      = 3
	lnsSetFile          = 4
	lnsSetColumn        = 5
	lnsNegateStmt       = 6
	lnsSetBasicBlock    = 7
	lnsConstAddPC       = 8
	lnsFixedAdvancePC   = 9
	lnsSetPrologueEnd   = 10
	lnsSetEpilogueBegin = 11
	lnsSetISA           = 12

	lneEndSequence      = 1
	lneSetAddress       = 2
	lneDefineFile       = 3
	lneSetDiscriminator = 4

	lnctPath     = 1
	lnctDirIndex = 2
)

// DWARF 5, 7.5.6 attribute forms used in line-table headers.
const (
	formBlock2   = 0x03
	formBlock4   = 0x04
	formData2    = 0x05
	formData4    = 0x06
	formData8    = 0x07
	formString   = 0x08
	formBlock    = 0x09
	formBlock1   = 0x0a
	formData1    = 0x0b
	formSdata    = 0x0d
	formStrp     = 0x0e
	formUdata    = 0x0f
	formStrx     = 0x1a
	formData16   = 0x1e
	formLineStrp = 0x1f
	formStrx1    = 0x25
	formStrx2    = 0x26
	formStrx3    = 0x27
	formStrx4    = 0x28
)

// parseLineTable decodes the line program at off in sec.debug_line
// (DWARF 2-5, DWARF 5 section 6.2). compDir is the unit's DW_AT_comp_dir.
func parseLineTable(sec *sectionData, off int64, compDir string) (*lineTable, error) {
	if off < 0 || off >= int64(len(sec.line)) {
		return nil, fmt.Errorf("line table offset %#x out of range", off)
	}
	r := &rbuf{b: sec.line, off: int(off)}
	length := uint64(r.u32())
	offSize := 4
	if length == 0xffffffff {
		length = r.u64()
		offSize = 8
	}
	if length > uint64(r.left()) {
		return nil, fmt.Errorf("line table at %#x: length %d past the section end", off, length)
	}
	end := r.off + int(length)
	r.b = r.b[:end]
	t := &lineTable{version: int(r.u16())}
	if t.version < 2 || t.version > 5 {
		return nil, fmt.Errorf("line table at %#x: unsupported version %d", off, t.version)
	}
	addrSize := 8
	if t.version >= 5 {
		addrSize = int(r.u8())
		r.u8() // segment selector size
	}
	hdrLen := r.uintN(offSize)
	progStart := r.off + int(hdrLen)
	if hdrLen > uint64(r.left()) {
		return nil, fmt.Errorf("line table at %#x: header length past the end", off)
	}
	minInst := uint64(r.u8())
	if t.version >= 4 {
		r.u8() // maximum_operations_per_instruction (VLIW only)
	}
	defStmt := r.u8() != 0
	lineBase := int64(int8(r.u8()))
	lineRange := uint64(r.u8())
	opBase := int(r.u8())
	if lineRange == 0 {
		return nil, fmt.Errorf("line table at %#x: line_range 0", off)
	}
	stdLens := r.bytes(max(opBase-1, 0))
	var dirs []string
	var files []fileEnt
	if t.version >= 5 {
		readEntries := func(f func(kind, val uint64, s string)) error {
			nfmt := int(r.u8())
			fmts := make([][2]uint64, nfmt)
			for i := range fmts {
				fmts[i] = [2]uint64{r.uleb(), r.uleb()}
			}
			n := r.uleb()
			if n > uint64(r.left()) {
				return errTruncated
			}
			for i := uint64(0); i < n && r.err == nil; i++ {
				for _, fm := range fmts {
					v, s, err := readForm(r, sec, fm[1], offSize)
					if err != nil {
						return err
					}
					f(fm[0], v, s)
				}
				f(0, 0, "") // end of entry
			}
			return r.err
		}
		var cur string
		if err := readEntries(func(kind, _ uint64, s string) {
			switch kind {
			case lnctPath:
				cur = s
			case 0:
				dirs = append(dirs, cur)
				cur = ""
			}
		}); err != nil {
			return nil, fmt.Errorf("line table at %#x: directories: %w", off, err)
		}
		var fe fileEnt
		if err := readEntries(func(kind, v uint64, s string) {
			switch kind {
			case lnctPath:
				fe.name = s
			case lnctDirIndex:
				fe.dir = v
			case 0:
				files = append(files, fe)
				fe = fileEnt{}
			}
		}); err != nil {
			return nil, fmt.Errorf("line table at %#x: file names: %w", off, err)
		}
	} else {
		for r.err == nil {
			s := r.cstr()
			if s == "" {
				break
			}
			dirs = append(dirs, s)
		}
		for r.err == nil {
			s := r.cstr()
			if s == "" {
				break
			}
			d := r.uleb()
			r.uleb()
			r.uleb()
			files = append(files, fileEnt{name: s, dir: d})
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("line table at %#x: header: %w", off, r.err)
	}
	t.compDir, t.dirs = compDir, dirs
	if t.version < 5 {
		// Pre-DWARF 5 file numbers are 1-based: index 0 is "unknown".
		t.raw = append(t.raw, fileEnt{none: true})
	}
	t.raw = append(t.raw, files...)

	// The line program (DWARF 5, 6.2.5).
	r.off = progStart
	var (
		row    lineRow
		seq    *lineSeq
		disc   uint32
		lineNZ bool
	)
	reset := func() {
		row = lineRow{file: 1, line: 1, flags: rowFileUnset}
		row.set(rowStmt, defStmt)
		disc = 0
		lineNZ = false
	}
	advLine := func(d int64) {
		row.line = uint32(int64(row.line) + d)
		if d != 0 {
			lineNZ = disc != 0
		}
	}
	reset()
	// Each special opcode's address and line advance (DWARF 5, 6.2.5.1),
	// computed once instead of dividing for every row.
	var special [256]struct {
		addr uint64
		line int64
	}
	for op := opBase; op < 256; op++ {
		adj := uint64(op - opBase)
		special[op].addr = (adj / lineRange) * minInst
		special[op].line = lineBase + int64(adj%lineRange)
	}
	// All rows go into one array (a row takes at least one byte of the
	// program, usually two or three); each sequence is a slice of it.
	all := make([]lineRow, 0, (len(r.b)-progStart)/3+16)
	seqStart := 0
	emit := func() {
		row.disc = disc
		row.set(rowNZDisc, lineNZ)
		if seq == nil {
			seq = &lineSeq{low: row.addr}
			seqStart = len(all)
		}
		all = append(all, row)
		if row.endSeq() {
			seq.rows = all[seqStart:len(all):len(all)]
			t.all = append(t.all, seq)
			seq = nil
		}
		disc = 0
		row.set(rowPrologueEnd, false)
	}
	for r.err == nil && r.off < len(r.b) {
		op := int(r.u8())
		switch {
		case op >= opBase:
			row.addr += special[op].addr
			advLine(special[op].line)
			emit()
		case op == 0:
			n := r.uleb()
			if n == 0 || n > uint64(r.left()) {
				r.fail()
				break
			}
			next := r.off + int(n)
			sub := r.u8()
			switch sub {
			case lneEndSequence:
				row.set(rowEndSeq, true)
				emit()
				reset()
			case lneSetAddress:
				row.addr = r.uintN(int(n - 1))
				_ = addrSize
			case lneSetDiscriminator:
				disc = uint32(r.uleb())
				lineNZ = lineNZ || disc != 0
			case lneDefineFile:
				name := r.cstr()
				d := r.uleb()
				t.raw = append(t.raw, fileEnt{name: name, dir: d})
			}
			r.off = next
		case op == lnsCopy:
			emit()
		case op == lnsAdvancePC:
			row.addr += r.uleb() * minInst
		case op == lnsAdvanceLine:
			advLine(r.sleb())
		case op == lnsSetFile:
			row.file = uint32(r.uleb())
			row.set(rowFileUnset, false)
		case op == lnsSetColumn:
			row.col = uint16(min(r.uleb(), 0xffff))
		case op == lnsNegateStmt:
			row.flags ^= rowStmt
		case op == lnsSetBasicBlock, op == lnsSetEpilogueBegin:
		case op == lnsConstAddPC:
			row.addr += ((255 - uint64(opBase)) / lineRange) * minInst
		case op == lnsFixedAdvancePC:
			row.addr += uint64(r.u16())
		case op == lnsSetPrologueEnd:
			row.set(rowPrologueEnd, true)
		case op == lnsSetISA:
			r.uleb()
		default:
			// An opcode this reader does not know: skip its ULEB operands.
			if op-1 < len(stdLens) {
				for i := 0; i < int(stdLens[op-1]); i++ {
					r.uleb()
				}
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("line table at %#x: program: %w", off, r.err)
	}
	t.files, t.made = make([]string, len(t.raw)), make([]bool, len(t.raw))
	t.index()
	return t, nil
}

// readForm reads one attribute value of a DWARF 5 line-table entry format.
func readForm(r *rbuf, sec *sectionData, form uint64, offSize int) (uint64, string, error) {
	switch form {
	case formString:
		return 0, r.cstr(), r.err
	case formLineStrp, formStrp:
		o := r.uintN(offSize)
		s := sec.lineStr
		if form == formStrp {
			s = sec.str
		}
		str, ok := strAt(s, o)
		if !ok && r.err == nil {
			return 0, "", fmt.Errorf("string offset %#x out of range", o)
		}
		return 0, str, r.err
	case formUdata:
		return r.uleb(), "", r.err
	case formSdata:
		return uint64(r.sleb()), "", r.err
	case formData1:
		return uint64(r.u8()), "", r.err
	case formData2:
		return uint64(r.u16()), "", r.err
	case formData4:
		return uint64(r.u32()), "", r.err
	case formData8:
		return r.u64(), "", r.err
	case formData16:
		r.bytes(16)
		return 0, "", r.err
	case formBlock:
		r.bytes(int(min(r.uleb(), uint64(r.left()+1))))
		return 0, "", r.err
	case formBlock1:
		r.bytes(int(r.u8()))
		return 0, "", r.err
	case formBlock2:
		r.bytes(int(r.u16()))
		return 0, "", r.err
	case formBlock4:
		r.bytes(int(min(uint64(r.u32()), uint64(r.left()+1))))
		return 0, "", r.err
	case formStrx, formStrx1, formStrx2, formStrx3, formStrx4:
		return 0, "", fmt.Errorf("form %#x in a line table header is not supported", form)
	}
	return 0, "", fmt.Errorf("unknown form %#x in a line table header", form)
}

// index builds BFD's lookup view (binutils dwarf2.c: add_line_info,
// sort_line_sequences).
func (t *lineTable) index() {
	for _, s := range t.all {
		markGDBRows(s.rows)
		if slices.IsSortedFunc(s.rows, func(a, b lineRow) int { return cmp.Compare(a.addr, b.addr) }) {
			// The usual case. Rows at one address are adjacent and BFD
			// keeps the last of them, which is the one a search for the
			// last row at or below an address finds: the rows serve as
			// the lookup view as they are, without a copy.
			s.lookup = s.rows
			s.low = s.rows[0].addr
			continue
		}
		rows := make([]lineRow, len(s.rows))
		copy(rows, s.rows)
		sortRows(rows)
		out := rows[:0]
		for _, rw := range rows {
			if n := len(out); n > 0 && out[n-1].addr == rw.addr && out[n-1].endSeq() == rw.endSeq() {
				out[n-1] = rw
				continue
			}
			out = append(out, rw)
		}
		s.lookup = out
		s.low = out[0].addr
	}
	seqs := make([]*lineSeq, len(t.all))
	copy(seqs, t.all)
	sort.SliceStable(seqs, func(i, j int) bool {
		a, b := seqs[i], seqs[j]
		if a.low != b.low {
			return a.low < b.low
		}
		return a.high() > b.high()
	})
	if len(seqs) == 0 {
		return
	}
	out := []*lineSeq{seqs[0]}
	lastHigh := seqs[0].high()
	for _, s := range seqs[1:] {
		if s.low < lastHigh {
			if s.high() <= lastHigh {
				continue // nested
			}
			// Overlapping: BFD trims the low end.
			s = &lineSeq{low: lastHigh, rows: s.rows, lookup: s.lookup}
		}
		lastHigh = s.high()
		out = append(out, s)
	}
	t.seqs = out
}

// locate finds the row covering addr like find: it is s.lookup[j], and
// the same row answers for [max(row.addr, s.low), s.lookup[j+1].addr).
// s is nil when no row covers addr.
func (t *lineTable) locate(addr uint64) (s *lineSeq, j int) {
	i := sort.Search(len(t.seqs), func(i int) bool { return t.seqs[i].high() > addr })
	if i == len(t.seqs) || addr < t.seqs[i].low {
		return nil, 0
	}
	s = t.seqs[i]
	rows := s.lookup
	j = sort.Search(len(rows), func(j int) bool { return rows[j].addr > addr }) - 1
	if j < 0 || j+1 >= len(rows) || rows[j].endSeq() {
		return nil, 0
	}
	return s, j
}

// findStmt returns the row covering addr the way gdb's find_pc_sect_line
// does: the last row at or below addr; if that row is not a statement, an
// is_stmt row at the same address just before it wins.
func (t *lineTable) findStmt(addr uint64) (lineRow, bool) {
	s, j := t.rowIndex(addr)
	if s == nil {
		return lineRow{}, false
	}
	return s.gdbRows()[j], true
}

// fileEnt is a line-table header's file entry (none: the unused entry 0
// before DWARF 5).
type fileEnt struct {
	name string
	dir  uint64
	none bool
}

func (t *lineTable) fileName(i uint32) string {
	if int(i) >= len(t.raw) {
		return "<unknown>"
	}
	t.fileMu.Lock()
	if !t.made[i] {
		t.files[i], t.made[i] = t.join(t.raw[i]), true
	}
	s := t.files[i]
	t.fileMu.Unlock()
	if s == "" && t.version < 5 {
		return "<unknown>"
	}
	return s
}

// join makes a file entry's full name like binutils dwarf2.c
// concat_filename: no path cleaning.
func (t *lineTable) join(fe fileEnt) string {
	if fe.none {
		return ""
	}
	name, dir := fe.name, fe.dir
	if strings.HasPrefix(name, "/") {
		return name
	}
	sub := ""
	if t.version < 5 {
		dir-- // wraps for 0: no subdirectory
	}
	if dir < uint64(len(t.dirs)) {
		sub = t.dirs[dir]
	}
	dirName := ""
	if sub == "" || !strings.HasPrefix(sub, "/") {
		dirName = t.compDir
	}
	if dirName == "" {
		dirName, sub = sub, ""
	}
	if dirName == "" {
		return name
	}
	if sub != "" {
		return dirName + "/" + sub + "/" + name
	}
	return dirName + "/" + name
}

// markGDBRows sets gdbRow on the rows gdb 13 keeps in its line tables
// (gdb/dwarf2/read.c lnp_state_machine::record_line and
// dwarf_record_line_p, buildsym.c record_line): rows of line 0 are
// dropped; a row repeating the previous kept row's file and line is
// dropped once the line had a non-zero discriminator; a non-statement
// row that switches files at an unchanged address is dropped; and a
// switch of files ends the previous file's table at the new row's
// address, which removes that file's rows at the same address.
func markGDBRows(rows []lineRow) {
	var (
		lastFile uint32
		lastLine uint32
		lastAddr uint64
		started  bool
	)
	for i := range rows {
		r := &rows[i]
		if r.endSeq() {
			break
		}
		fileChanged := !started || r.file != lastFile
		if r.line == 0 || (started && fileChanged && r.addr == lastAddr && !r.isStmt()) {
			lastAddr = r.addr
			continue
		}
		if started && fileChanged {
			for k := i - 1; k >= 0 && rows[k].addr == r.addr; k-- {
				if rows[k].file == lastFile {
					rows[k].set(rowGDB, false)
				}
			}
		}
		r.set(rowGDB, fileChanged || r.line != lastLine || !r.nzDisc())
		lastFile, lastLine, lastAddr, started = r.file, r.line, r.addr, true
	}
}
