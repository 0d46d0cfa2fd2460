package symbols

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// BreakLoc is one address a symbolic location resolves to.
type BreakLoc struct {
	Addr uint64
	Func string
	File string
	Line int
	// Bind says how the function symbol is bound (local for static
	// functions, weak, global); Unit is the compile unit's name.
	Bind SymBind
	Unit string
}

// Breakpoints resolves a symbolic location the way gdb's `break` does:
//
//   - "file.c:LINE": the first is_stmt address of LINE (or of the next
//     line that has code) in each block (function, inlined copy, lexical
//     block) in every file whose path ends with file.c, moved past the
//     prologue when it is in one (see lineBreakpoints);
//   - "func": the address after the function's prologue (the second
//     line-table row of the function, or gdb's prologue_end marker) for
//     every function of that name: several when static functions share
//     it or a weak definition is overridden (the result lists them all,
//     ambiguity is the caller's to show);
//   - "*0xADDR": that address.
func (f *File) Breakpoints(spec string) ([]BreakLoc, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "*") {
		a, err := strconv.ParseUint(strings.TrimPrefix(spec[1:], "0x"), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("bad address %q", spec)
		}
		loc := f.LookupGDB(a)
		b := BreakLoc{Addr: a}
		if len(loc.Frames) > 0 {
			b.Func, b.File, b.Line = loc.Frames[0].Func, loc.Frames[0].File, loc.Frames[0].Line
		}
		return []BreakLoc{b}, nil
	}
	if i := strings.LastIndexByte(spec, ':'); i > 0 {
		if n, err := strconv.Atoi(spec[i+1:]); err == nil {
			return f.lineBreakpoints(spec[:i], n)
		}
	}
	return f.funcBreakpoints(spec)
}

func fileMatches(path, want string) bool {
	return path == want || strings.HasSuffix(path, "/"+want)
}

// lineBreakpoints follows gdb 13's linespec.c (decode_digits_ordinary,
// create_sals_line_offset): every is_stmt row gdb keeps (markGDBRows)
// for the line in every file whose path ends with file, or for the
// smallest later line that has rows when the line has none; of the rows
// in one block (function, inlined copy or lexical block) only the first
// stays; then each location in a function's prologue moves past it
// (skip_prologue_sal).
func (f *File) lineBreakpoints(file string, line int) ([]BreakLoc, error) {
	if !f.hasDW {
		return nil, errNoDWARF
	}
	type cand struct {
		addr uint64
		file string
		u    *unit
	}
	collect := func(want int) (found []cand, best int) {
		best = -1
		for _, u := range f.units {
			lt, err := f.lineTable(u)
			if err != nil || lt == nil {
				continue
			}
			var mine []cand
			for _, s := range lt.all {
				for _, r := range s.rows {
					if r.endSeq() || !r.isStmt() || !r.gdbRow() {
						continue
					}
					name := lt.fileName(r.file)
					if !fileMatches(name, file) {
						continue
					}
					switch {
					case int(r.line) == want:
						mine = append(mine, cand{r.addr, name, u})
					case int(r.line) > want && (best < 0 || int(r.line) < best):
						best = int(r.line)
					}
				}
			}
			sort.SliceStable(mine, func(i, j int) bool { return mine[i].addr < mine[j].addr })
			found = append(found, mine...)
		}
		return found, best
	}
	found, best := collect(line)
	if len(found) == 0 && best >= 0 {
		line = best
		found, _ = collect(line)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no code at %s:%d", file, line)
	}
	type blockKey struct {
		u   *unit
		off uint64
	}
	seenBlock := map[blockKey]bool{}
	seenAddr := map[uint64]bool{}
	var out []BreakLoc
	for _, c := range found {
		if b, ok := f.blockAt(c.u, c.addr); ok {
			if seenBlock[blockKey{c.u, b}] {
				continue
			}
			seenBlock[blockKey{c.u, b}] = true
		}
		addr := c.addr
		if fn, ok := f.FuncAt(addr); ok && addr >= fn.Entry {
			if post := f.AfterPrologue(fn.Entry); addr < post {
				addr = post
			}
		}
		if seenAddr[addr] {
			continue
		}
		seenAddr[addr] = true
		b := BreakLoc{Addr: addr, File: c.file, Line: line, Unit: c.u.name}
		if loc := f.LookupGDB(addr); len(loc.Frames) > 0 {
			b.Func = loc.Frames[0].Func
			if addr != c.addr {
				b.File, b.Line = loc.Frames[0].File, loc.Frames[0].Line
			}
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

func (f *File) funcBreakpoints(name string) ([]BreakLoc, error) {
	var out []BreakLoc
	seen := map[uint64]bool{}
	for _, s := range f.LookupSymbol(name) {
		if s.Kind != SymFunc || seen[s.Addr] {
			continue
		}
		seen[s.Addr] = true
		b := BreakLoc{Addr: f.skipPrologue(s.Addr, s.Size), Func: name, Bind: s.Bind, Unit: s.File}
		loc := f.LookupGDB(b.Addr)
		if len(loc.Frames) > 0 {
			b.File, b.Line = loc.Frames[0].File, loc.Frames[0].Line
		}
		out = append(out, b)
	}
	// Inlined copies of the function: gdb breaks at each one's entry.
	if f.hasDW {
		for _, u := range f.units {
			funcs, _ := f.functions(u)
			for _, fn := range funcs {
				if !fn.inlined || fn.name != name || len(fn.ranges) == 0 || seen[fn.low] {
					continue
				}
				seen[fn.low] = true
				b := BreakLoc{Addr: fn.low, Func: name, Bind: BindLocal, Unit: u.name}
				if lt, _ := f.lineTable(u); lt != nil {
					if r, ok := lt.findStmt(fn.low); ok {
						b.File, b.Line = lt.fileName(r.file), int(r.line)
					}
				}
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no function %q", name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

// skipPrologue finds the breakpoint address of a function the way gdb 13
// does for gcc code on amd64 (symtab.c skip_prologue_sal,
// amd64_skip_prologue): a prologue_end row inside the function wins;
// otherwise skip "[endbr64;] push %rbp; mov %rsp,%rbp" when present
// (frameless functions keep their entry), and when that lands inside a
// line-table row, move to the next row's address.
func (f *File) skipPrologue(start, size uint64) uint64 {
	end := start + size
	if size == 0 {
		end = start + 1
	}
	var seq *lineSeq
	for _, u := range f.unitsFor(start) {
		lt, err := f.lineTable(u)
		if err != nil || lt == nil {
			continue
		}
		for _, s := range lt.all {
			if len(s.gdbRows()) > 0 && s.gdbRows()[0].addr <= start && start < s.gdbRows()[len(s.gdbRows())-1].addr {
				seq = s
				break
			}
		}
		if seq != nil {
			break
		}
	}
	if seq == nil {
		return start
	}
	// gdb trusts the entry of functions in units whose variables have
	// location lists (symtab.c skip_prologue_sal, locations_valid).
	for _, u := range f.unitsFor(start) {
		if f.functions(u); u.hasLoclist {
			return start
		}
	}
	for _, x := range seq.gdbRows() {
		if x.addr > start && x.addr < end && x.prologueEnd() {
			return x.addr
		}
	}
	pc := start
	var code [16]byte
	if _, err := f.ReadAt(code[:], int64(start)); err == nil {
		c := code[:]
		off := uint64(0)
		if c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa {
			off = 4
		}
		if c[off] == 0x55 {
			m := c[off+1 : off+4]
			if (m[0] == 0x48 && m[1] == 0x89 && m[2] == 0xe5) || (m[0] == 0x48 && m[1] == 0x8b && m[2] == 0xec) {
				pc = start + off + 4
			}
		}
	}
	if pc == start {
		return start
	}
	// In the middle of a row: go to the next row's address.
	rows := seq.gdbRows()
	j := sort.Search(len(rows), func(j int) bool { return rows[j].addr > pc }) - 1
	if j >= 0 && rows[j].addr != pc {
		for k := j + 1; k < len(rows); k++ {
			if rows[k].addr > pc {
				if rows[k].addr < end {
					return rows[k].addr
				}
				break
			}
		}
	}
	return pc
}
