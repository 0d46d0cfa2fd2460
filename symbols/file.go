package symbols

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/go-delve/delve/pkg/dwarf/frame"
	"golang.org/x/sys/unix"
)

// File is an opened ELF image with its symbol table and (lazily indexed)
// DWARF. All methods are safe for concurrent use.
type File struct {
	path string
	elf  *elf.File
	rd   io.Closer

	// mapping is the file mapped read-only (Open only, mmap.go); the
	// indexers read sec's mapped sections from it inside useMapped, and
	// Close unmaps it under mapMu once they are done.
	mapping []byte
	mapMu   sync.RWMutex
	closed  bool

	// Syms are the function-like and object symbols of .symtab (or
	// .dynsym when there is no .symtab) in file order.
	syms []Symbol
	// byAddr indexes syms of kind SymFunc/SymNoType by address.
	byAddr []int
	// byName indexes syms by name, built on first use (LookupSymbol).
	nameOnce sync.Once
	byName   map[string][]int

	sections []Section

	// hasDW: the unit index was read (dwscan.go); dwData, the
	// debug/dwarf view used for types and variables, is made on first
	// use (dwarfData).
	hasDW  bool
	dwOnce sync.Once
	dwData *dwarf.Data
	dwErr  error

	abbrevMu    sync.Mutex
	abbrevCache map[uint64]*abbrevTable
	abbrevOffs  []uint64 // the units' abbreviation table offsets, sorted
	units       []*unit
	// unitRanges maps address ranges to units, sorted by Low.
	unitRanges []unitRange
	unitSegs   []unitSeg // unitsFor's answers
	// noRange lists units without any address range: BFD tries them for
	// every address.
	noRange []*unit

	sec     sectionData
	locOnce sync.Once

	frameOnce sync.Once
	frames    *frameIndex
	// cfiCache remembers CFI rows by pc (frameRules).
	cfiMu    sync.Mutex
	cfiCache map[uint64]*frame.FrameContext
	// hasExcStubs: some symbol is a lib/panic exception stub.
	excOnce     sync.Once
	hasExcStubs bool

	srcMu sync.Mutex
	src   map[string][]string
}

// Section is one SHF_ALLOC section of the image.
type Section struct {
	Name       string
	Addr, Size uint64
	Exec       bool
	index      int
}

// sectionData holds the raw DWARF sections the standard library does not
// expose. info, abbrev, line, lineStr, str and strOffsets point into the
// mapping when there is one: they are read only inside useMapped and
// cleared by Close. addr, ranges and rnglists are heap copies read at
// Open; loc and loclists are heap copies read on first use (locSections):
// those are also read when variables are evaluated.
type sectionData struct {
	info, abbrev, line, lineStr, str, strOffsets []byte
	addr, ranges, rnglists                       []byte
	loc, loclists                                []byte
}

// Open opens the ELF file at path and indexes its symbol table and its
// DWARF compile units (ranges only: line tables and function trees are
// read on first use). It returns an error, never panics, on malformed input.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	m := mapFile(fh)
	f, err := newFile(fh, m)
	if err != nil {
		if m != nil {
			unix.Munmap(m)
		}
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path = path
	f.rd = fh
	return f, nil
}

// NewFile reads an ELF image from r (see Open).
func NewFile(r io.ReaderAt) (*File, error) { return newFile(r, nil) }

// newFile is NewFile with the image's bytes mapped in memory (m, nil for
// none); the File owns m from here on, Close unmaps it.
func newFile(r io.ReaderAt, m []byte) (f *File, err error) {
	defer func() {
		// debug/elf and debug/dwarf are meant not to panic on bad input,
		// but a malformed image must never take the process down.
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("malformed ELF: %v", p)
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	f = &File{elf: ef, mapping: m, src: map[string][]string{}, abbrevCache: map[uint64]*abbrevTable{}}
	for i, s := range ef.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Type != elf.SHT_NULL {
			f.sections = append(f.sections, Section{Name: s.Name, Addr: s.Addr, Size: s.Size, Exec: s.Flags&elf.SHF_EXECINSTR != 0, index: i})
		}
	}
	// The symbol table and the unit index are independent: read them on
	// two cores.
	var symPanic any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { symPanic = recover() }()
		f.loadSymbols()
	}()
	f.loadDWARF()
	<-done
	if symPanic != nil {
		return nil, fmt.Errorf("malformed ELF: %v", symPanic)
	}
	return f, nil
}

// Close releases the file: it unmaps the image (after any indexing in
// progress ends) and closes it. What was looked up before stays valid;
// afterwards, what needs data not indexed yet finds nothing (or returns
// an error), it never reads the unmapped memory.
func (f *File) Close() error {
	err := f.unmap()
	if f.rd != nil {
		if e := f.rd.Close(); err == nil {
			err = e
		}
		f.rd = nil
	}
	return err
}

// Path is the file name given to Open ("" for NewFile).
func (f *File) Path() string { return f.path }

// ELF exposes the underlying debug/elf file (read only).
func (f *File) ELF() *elf.File { return f.elf }

// HasDWARF reports whether the image carries usable DWARF; DWARFError says
// why not.
func (f *File) HasDWARF() bool { return f.hasDW }

// dwarfData is the debug/dwarf view of the image, made on first use; nil
// (with DWARFError set) when debug/dwarf cannot read it.
func (f *File) dwarfData() *dwarf.Data {
	f.dwOnce.Do(func() {
		if !f.hasDW {
			return
		}
		defer func() {
			if p := recover(); p != nil {
				f.dwData, f.dwErr = nil, fmt.Errorf("malformed DWARF: %v", p)
			}
		}()
		d, err := f.elf.DWARF()
		if err != nil {
			f.dwErr = err
			return
		}
		f.dwData = d
	})
	return f.dwData
}

// DWARFError is the reason DWARF could not be read (nil if it was, or if
// the image simply has none).
func (f *File) DWARFError() error { return f.dwErr }

// Sections lists the allocated sections.
func (f *File) Sections() []Section { return f.sections }

// SectionAt returns the allocated section containing addr.
func (f *File) SectionAt(addr uint64) (Section, bool) {
	for _, s := range f.sections {
		if addr >= s.Addr && addr-s.Addr < s.Size && s.Size > 0 {
			return s, true
		}
	}
	return Section{}, false
}

// rawSection reads the named section into the heap (decompressed).
func (f *File) rawSection(name string) []byte {
	s := f.elf.Section(name)
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil
	}
	b, err := s.Data()
	if err != nil {
		return nil
	}
	return b
}

// mappedSection is the named section's bytes in the mapping, or a heap
// copy when there is no mapping or the section is compressed.
func (f *File) mappedSection(name string) []byte {
	s := f.elf.Section(name)
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil
	}
	if f.mapping == nil || s.Flags&elf.SHF_COMPRESSED != 0 ||
		s.Offset > uint64(len(f.mapping)) || s.FileSize > uint64(len(f.mapping))-s.Offset {
		return f.rawSection(name)
	}
	return f.mapping[s.Offset : s.Offset+s.FileSize : s.Offset+s.FileSize]
}

// locSections returns .debug_loc and .debug_loclists, read on first use
// (only variables need them).
func (f *File) locSections() (loc, loclists []byte) {
	f.locOnce.Do(func() {
		f.sec.loc = f.rawSection(".debug_loc")
		f.sec.loclists = f.rawSection(".debug_loclists")
	})
	return f.sec.loc, f.sec.loclists
}

func (f *File) loadDWARF() {
	if f.elf.Section(".debug_info") == nil {
		return
	}
	f.sec = sectionData{
		info:       f.mappedSection(".debug_info"),
		abbrev:     f.mappedSection(".debug_abbrev"),
		strOffsets: f.mappedSection(".debug_str_offsets"),
		line:       f.mappedSection(".debug_line"),
		lineStr:    f.mappedSection(".debug_line_str"),
		str:        f.mappedSection(".debug_str"),
		ranges:     f.rawSection(".debug_ranges"),
		addr:       f.rawSection(".debug_addr"),
		rnglists:   f.rawSection(".debug_rnglists"),
	}
	if err := f.indexUnits(); err != nil {
		f.dwErr = err
		f.units, f.unitRanges, f.noRange = nil, nil, nil
		return
	}
	f.hasDW = true
}

// ReadAt reads the image's initial memory contents (PROGBITS of loadable
// segments) at virtual address addr; bytes in .bss read as zero. It lets
// the unwinder and the disassembler see code without a live guest.
func (f *File) ReadAt(p []byte, addr int64) (int, error) {
	a := uint64(addr)
	n := 0
	for n < len(p) {
		cur := a + uint64(n)
		found := false
		for _, pr := range f.elf.Progs {
			if pr.Type != elf.PT_LOAD || cur < pr.Vaddr || cur-pr.Vaddr >= pr.Memsz {
				continue
			}
			off := cur - pr.Vaddr
			chunk := pr.Memsz - off
			if uint64(len(p)-n) < chunk {
				chunk = uint64(len(p) - n)
			}
			buf := p[n : n+int(chunk)]
			if off < pr.Filesz {
				fc := pr.Filesz - off
				if fc > chunk {
					fc = chunk
				}
				if _, err := pr.ReadAt(buf[:fc], int64(off)); err != nil {
					return n, err
				}
				clear(buf[fc:])
			} else {
				clear(buf)
			}
			n += int(chunk)
			found = true
			break
		}
		if !found {
			return n, fmt.Errorf("address %#x is not in the image", cur)
		}
	}
	return n, nil
}

// errNoDWARF is returned by queries that need DWARF on an image without it.
var errNoDWARF = errors.New("no DWARF debug information")

func sortUnitRanges(r []unitRange) {
	sort.SliceStable(r, func(i, j int) bool { return r[i].low < r[j].low })
}
