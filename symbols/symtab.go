package symbols

import (
	"cmp"
	"debug/elf"
	"slices"
	"sort"
)

// SymKind is the ELF symbol type of a Symbol.
type SymKind int

// Symbol kinds (ELF st_info type).
const (
	SymNoType SymKind = iota // STT_NOTYPE (assembly labels)
	SymFunc                  // STT_FUNC or STT_GNU_IFUNC
	SymObject                // STT_OBJECT or STT_TLS
)

// SymBind is the ELF symbol binding of a Symbol.
type SymBind int

// Symbol bindings (ELF st_info binding).
const (
	BindLocal SymBind = iota
	BindGlobal
	BindWeak
)

func (b SymBind) String() string {
	switch b {
	case BindLocal:
		return "local"
	case BindGlobal:
		return "global"
	}
	return "weak"
}

// Symbol is one ELF symbol-table entry.
type Symbol struct {
	Name       string
	Addr, Size uint64
	Kind       SymKind
	Bind       SymBind
	// File is the name of the STT_FILE symbol this symbol follows, when
	// BFD would attribute it (locals after their file symbol).
	File string

	shndx  elf.SectionIndex
	hidden bool
}

// Symbols returns every function, label and object symbol in file order.
func (f *File) Symbols() []Symbol { return f.syms }

// LookupSymbol returns all symbols named name (several for static
// functions defined in more than one file, or weak and strong pairs).
func (f *File) LookupSymbol(name string) []Symbol {
	var out []Symbol
	f.nameOnce.Do(func() {
		f.byName = make(map[string][]int, len(f.syms))
		for i, s := range f.syms {
			if s.Name != "" {
				f.byName[s.Name] = append(f.byName[s.Name], i)
			}
		}
	})
	for _, i := range f.byName[name] {
		out = append(out, f.syms[i])
	}
	return out
}

func (f *File) loadSymbols() {
	syms, err := f.elf.Symbols()
	if err != nil || len(syms) == 0 {
		syms, _ = f.elf.DynamicSymbols()
	}
	f.syms = make([]Symbol, 0, len(syms))
	f.byAddr = make([]int, 0, len(syms))
	file := ""
	state := 0 // 0 nothing seen, 1 symbol seen, 2 file after symbol seen (BFD's elf_find_function)
	for _, s := range syms {
		typ := elf.ST_TYPE(s.Info)
		if typ == elf.STT_FILE {
			file = s.Name
			if state == 1 {
				state = 2
			}
			continue
		}
		if typ == elf.STT_SECTION {
			continue
		}
		if state == 0 {
			state = 1
		}
		var kind SymKind
		switch typ {
		case elf.STT_FUNC, elf.STT_GNU_IFUNC:
			kind = SymFunc
		case elf.STT_NOTYPE:
			kind = SymNoType
		case elf.STT_OBJECT, elf.STT_TLS, elf.STT_COMMON:
			kind = SymObject
		default:
			continue
		}
		if s.Section == elf.SHN_UNDEF {
			continue
		}
		var bind SymBind
		switch elf.ST_BIND(s.Info) {
		case elf.STB_LOCAL:
			bind = BindLocal
		case elf.STB_WEAK:
			bind = BindWeak
		default:
			bind = BindGlobal
		}
		sym := Symbol{Name: s.Name, Addr: s.Value, Size: s.Size, Kind: kind, Bind: bind, shndx: s.Section,
			hidden: elf.ST_VISIBILITY(s.Other) == elf.STV_HIDDEN}
		if file != "" && (bind == BindLocal || state != 2) {
			sym.File = file
		}
		f.syms = append(f.syms, sym)
		idx := len(f.syms) - 1
		if kind != SymObject && s.Section < elf.SHN_LORESERVE {
			f.byAddr = append(f.byAddr, idx)
		}
	}
	slices.SortStableFunc(f.byAddr, func(i, j int) int { return cmp.Compare(f.syms[i].Addr, f.syms[j].Addr) })
}

// codeSize is BFD's _bfd_elf_maybe_function_sym: the size a symbol is
// taken to cover (at least 1), or 0 when it is not function-like.
func codeSize(s *Symbol) uint64 {
	if s.Kind == SymObject {
		return 0
	}
	if s.Size == 0 && s.Bind == BindLocal && s.Kind == SymNoType && s.hidden {
		return 0
	}
	if s.Size == 0 {
		return 1
	}
	return s.Size
}

// findFunction picks the symbol covering addr the way binutils'
// elf_find_function does (used by addr2line when DWARF names no function):
// the closest symbol at or below addr in the same section; among symbols at
// the same address, one that covers addr, then functions over labels.
func (f *File) findFunction(addr uint64) (*Symbol, bool) {
	sec, ok := f.SectionAt(addr)
	if !ok {
		return nil, false
	}
	// Candidates: all symbols with Addr <= addr, scanned in file order
	// like BFD (order matters for ties).
	hi := sort.Search(len(f.byAddr), func(i int) bool { return f.syms[f.byAddr[i]].Addr > addr })
	if hi == 0 {
		return nil, false
	}
	// The best code_off is the highest address <= addr among symbols of
	// this section; collect the symbols at that address plus lower ones
	// that might cover more (BFD keeps only the closest address).
	best := -1
	var bestOff, bestSize uint64
	for i := hi - 1; i >= 0; i-- {
		si := f.byAddr[i]
		s := &f.syms[si]
		if int(s.shndx) != sec.index {
			continue
		}
		size := codeSize(s)
		if size == 0 {
			continue
		}
		if best >= 0 && s.Addr < bestOff {
			break
		}
		if best < 0 || betterFit(&f.syms[best], bestOff, bestSize, s, s.Addr, size, addr, si < best) {
			best, bestOff, bestSize = si, s.Addr, size
		}
	}
	if best < 0 {
		return nil, false
	}
	return &f.syms[best], true
}

// betterFit is BFD's better_fit for two symbols at the same address.
// earlier says the candidate comes before the current best in file order;
// BFD scans in file order and replaces only on a strictly better fit.
func betterFit(cur *Symbol, curOff, curSize uint64, s *Symbol, off, size, addr uint64, earlier bool) bool {
	if off > curOff {
		return true
	}
	better := func(a, aSize, b, bSize uint64, as, bs *Symbol) bool {
		// is (as) better than (bs) when bs is the current best
		if b+bSize <= addr {
			return aSize > bSize
		}
		if a+aSize <= addr {
			return false
		}
		if bs.Kind == SymFunc && as.Kind != SymFunc {
			return false
		}
		if as.Kind == SymFunc && bs.Kind != SymFunc {
			return true
		}
		return false
	}
	if earlier {
		// In file order s came first: it stays unless cur beats it.
		return !better(curOff, curSize, off, size, cur, s)
	}
	return better(off, size, curOff, curSize, s, cur)
}

// SymbolAt returns the function symbol covering addr and addr's offset
// from it (function+offset), preferring a sized symbol that covers addr.
func (f *File) SymbolAt(addr uint64) (Symbol, uint64, bool) {
	s, ok := f.findFunction(addr)
	if !ok {
		return Symbol{}, 0, false
	}
	return *s, addr - s.Addr, true
}

// DataSymbolAt names the symbol whose extent holds addr (a sized object or
// function containing it, or an unsized symbol exactly at it) and addr's
// offset in it: gdb's <sym+off> annotation of a pointer.
func (f *File) DataSymbolAt(addr uint64) (string, uint64, bool) { return f.dataSymbolAt(addr) }
