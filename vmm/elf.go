package vmm

import (
	"encoding/binary"
	"fmt"
)

// A small, bounds-checked ELF reader for what booting needs: the header,
// PT_LOAD segments and notes (System V ABI, "ELF Header", "Program
// Header", "Note Section"). debug/elf is not used so that every field of an
// untrusted image is checked here, with an error that names it.

const (
	elfClass32 = 1
	elfClass64 = 2

	emX86    = 3  // EM_386
	emX86_64 = 62 // EM_X86_64

	ptLoad = 1
	ptNote = 4
	pfX    = 1 // p_flags: executable

	shtNote   = 7
	shtNoBits = 8

	// maxSections bounds the section table we look at.
	maxSections = 4096

	// maxLoadSegments bounds PT_LOAD segments (real kernels have a handful).
	maxLoadSegments = 64
)

type elfProg struct {
	typ    uint32
	flags  uint32 // p_flags: PF_X 1, PF_W 2, PF_R 4
	off    uint64
	vaddr  uint64
	paddr  uint64
	filesz uint64
	memsz  uint64
}

type elfNote struct {
	name string
	typ  uint32
	desc []byte
}

type elfFile struct {
	class   int
	machine uint16
	entry   uint64
	progs   []elfProg
	notes   []elfNote
	// sections is the section header table, when it and the file data of
	// every section a boot loader copies (sh_addr 0) are inside the file.
	sections *ELFSections
}

// ELFSections is an ELF image's section header table as Multiboot 1
// hands it to the kernel (§3.3, flags bit 5: num, size, addr, shndx).
type ELFSections struct {
	Table   []byte // e_shnum entries of e_shentsize bytes, as in the file
	Num     uint32
	EntSize uint32
	Shndx   uint32 // e_shstrndx
	class   int
	// load lists the sections a boot loader copies into memory: those
	// with sh_addr 0 and a non-zero size (GRUB's rule; the others are
	// part of the loaded segments or empty).
	load []elfSection
}

type elfSection struct {
	index int
	data  []byte // nil for SHT_NOBITS: zeros
	size  uint64
	align uint64
}

func isELF(data []byte) bool {
	return len(data) >= 4 && string(data[:4]) == "\x7fELF"
}

// span checks that [off, off+n) lies inside data and returns it.
func span(data []byte, off, n uint64, what string) ([]byte, error) {
	if off > uint64(len(data)) || n > uint64(len(data))-off {
		return nil, fmt.Errorf("%s [%#x,+%#x) lies outside the %d-byte file", what, off, n, len(data))
	}
	return data[off : off+n], nil
}

func parseELF(data []byte) (*elfFile, error) {
	if len(data) < 52 {
		return nil, fmt.Errorf("ELF header truncated: file is %d bytes", len(data))
	}
	if data[5] != 1 {
		return nil, fmt.Errorf("ELF e_ident[EI_DATA] = %d: only little-endian images boot on x86", data[5])
	}
	le := binary.LittleEndian
	f := &elfFile{class: int(data[4]), machine: le.Uint16(data[18:])}
	var phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx uint64
	switch f.class {
	case elfClass32:
		f.entry = uint64(le.Uint32(data[24:]))
		phoff = uint64(le.Uint32(data[28:]))
		shoff = uint64(le.Uint32(data[32:]))
		phentsize, phnum = uint64(le.Uint16(data[42:])), uint64(le.Uint16(data[44:]))
		shentsize, shnum = uint64(le.Uint16(data[46:])), uint64(le.Uint16(data[48:]))
		shstrndx = uint64(le.Uint16(data[50:]))
		if phnum > 0 && phentsize < 32 {
			return nil, fmt.Errorf("ELF32 e_phentsize %d is smaller than a program header (32)", phentsize)
		}
		if shnum > 0 && shentsize < 40 {
			shnum = 0 // sections are optional for booting: ignore a bad table
		}
	case elfClass64:
		if len(data) < 64 {
			return nil, fmt.Errorf("ELF64 header truncated: file is %d bytes", len(data))
		}
		f.entry = le.Uint64(data[24:])
		phoff = le.Uint64(data[32:])
		shoff = le.Uint64(data[40:])
		phentsize, phnum = uint64(le.Uint16(data[54:])), uint64(le.Uint16(data[56:]))
		shentsize, shnum = uint64(le.Uint16(data[58:])), uint64(le.Uint16(data[60:]))
		shstrndx = uint64(le.Uint16(data[62:]))
		if phnum > 0 && phentsize < 56 {
			return nil, fmt.Errorf("ELF64 e_phentsize %d is smaller than a program header (56)", phentsize)
		}
		if shnum > 0 && shentsize < 64 {
			shnum = 0
		}
	default:
		return nil, fmt.Errorf("ELF e_ident[EI_CLASS] = %d: neither ELF32 (1) nor ELF64 (2)", f.class)
	}
	if phnum == 0 {
		return nil, fmt.Errorf("ELF has no program headers (e_phnum = 0): nothing to load")
	}
	if _, err := span(data, phoff, phnum*phentsize, "program header table"); err != nil {
		return nil, err
	}
	for i := uint64(0); i < phnum; i++ {
		h := data[phoff+i*phentsize:]
		var p elfProg
		p.typ = le.Uint32(h)
		if f.class == elfClass32 { // ELF32 Elf32_Phdr: p_flags after p_memsz
			p.off, p.vaddr, p.paddr = uint64(le.Uint32(h[4:])), uint64(le.Uint32(h[8:])), uint64(le.Uint32(h[12:]))
			p.filesz, p.memsz, p.flags = uint64(le.Uint32(h[16:])), uint64(le.Uint32(h[20:])), le.Uint32(h[24:])
		} else { // Elf64_Phdr: p_flags second
			p.flags = le.Uint32(h[4:])
			p.off, p.vaddr, p.paddr = le.Uint64(h[8:]), le.Uint64(h[16:]), le.Uint64(h[24:])
			p.filesz, p.memsz = le.Uint64(h[32:]), le.Uint64(h[40:])
		}
		switch p.typ {
		case ptLoad:
			if len(f.progs) == maxLoadSegments {
				return nil, fmt.Errorf("more than %d PT_LOAD segments", maxLoadSegments)
			}
			if p.filesz > p.memsz {
				return nil, fmt.Errorf("program header %d: p_filesz %#x > p_memsz %#x", i, p.filesz, p.memsz)
			}
			if _, err := span(data, p.off, p.filesz, fmt.Sprintf("program header %d's file data", i)); err != nil {
				return nil, err
			}
			f.progs = append(f.progs, p)
		case ptNote:
			seg, err := span(data, p.off, p.filesz, fmt.Sprintf("note segment %d", i))
			if err != nil {
				return nil, err
			}
			ns, err := parseNotes(seg)
			if err != nil {
				return nil, fmt.Errorf("note segment %d: %w", i, err)
			}
			f.notes = append(f.notes, ns...)
		}
	}
	f.sections = parseSections(data, f.class, shoff, shentsize, shnum, shstrndx)
	// Notes in SHT_NOTE sections too (a linker script may leave them out of
	// PT_NOTE). A broken section table is ignored: sections are optional.
	if shnum > 0 && shnum <= maxSections {
		if _, err := span(data, shoff, shnum*shentsize, "section table"); err == nil {
			for i := uint64(0); i < shnum; i++ {
				h := data[shoff+i*shentsize:]
				if le.Uint32(h[4:]) != shtNote {
					continue
				}
				var off, size uint64
				if f.class == elfClass32 {
					off, size = uint64(le.Uint32(h[16:])), uint64(le.Uint32(h[20:]))
				} else {
					off, size = le.Uint64(h[24:]), le.Uint64(h[32:])
				}
				if sec, err := span(data, off, size, "note section"); err == nil {
					if ns, err := parseNotes(sec); err == nil {
						f.notes = append(f.notes, ns...)
					}
				}
			}
		}
	}
	return f, nil
}

// parseNotes splits a note area: namesz, descsz, type, name, desc, each
// padded to 4 bytes (System V ABI; Linux and Xen use 4-byte alignment on x86-64 too).
func parseNotes(b []byte) ([]elfNote, error) {
	le := binary.LittleEndian
	var out []elfNote
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, fmt.Errorf("note header truncated (%d bytes left)", len(b))
		}
		namesz, descsz, typ := uint64(le.Uint32(b)), uint64(le.Uint32(b[4:])), le.Uint32(b[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if namesz > uint64(len(b)) || descsz > uint64(len(b)) || descEnd > uint64(len(b)) {
			return nil, fmt.Errorf("note (namesz %d, descsz %d) runs past its area of %d bytes", namesz, descsz, len(b))
		}
		name := b[12 : 12+namesz]
		if n := len(name); n > 0 && name[n-1] == 0 {
			name = name[:n-1]
		}
		out = append(out, elfNote{name: string(name), typ: typ, desc: b[nameEnd : nameEnd+descsz]})
		b = b[descEnd:]
	}
	return out, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// parseSections reads the section header table for the Multiboot
// section-header info. Sections are optional for booting, so a table (or
// a copied section) outside the file gives nil rather than an error.
func parseSections(data []byte, class int, shoff, shentsize, shnum, shstrndx uint64) *ELFSections {
	if shnum == 0 || shnum > maxSections {
		return nil
	}
	tab, err := span(data, shoff, shnum*shentsize, "section table")
	if err != nil {
		return nil
	}
	le := binary.LittleEndian
	es := &ELFSections{Table: tab, Num: uint32(shnum), EntSize: uint32(shentsize), Shndx: uint32(shstrndx), class: class}
	for i := uint64(0); i < shnum; i++ {
		h := tab[i*shentsize:]
		typ := le.Uint32(h[4:])
		var addr, off, size, align uint64
		if class == elfClass32 {
			addr, off, size, align = uint64(le.Uint32(h[12:])), uint64(le.Uint32(h[16:])), uint64(le.Uint32(h[20:])), uint64(le.Uint32(h[32:]))
		} else {
			addr, off, size, align = le.Uint64(h[16:]), le.Uint64(h[24:]), le.Uint64(h[32:]), le.Uint64(h[48:])
		}
		if addr != 0 || size == 0 {
			continue
		}
		sec := elfSection{index: int(i), size: size, align: align}
		if typ != shtNoBits {
			if sec.data, err = span(data, off, size, "section"); err != nil {
				return nil
			}
		} else if size > MaxMemory {
			return nil
		}
		es.load = append(es.load, sec)
	}
	return es
}

// setSectionAddr writes sh_addr of section i in a copy of the table.
func (es *ELFSections) setSectionAddr(table []byte, i int, addr uint64) {
	h := table[uint64(i)*uint64(es.EntSize):]
	if es.class == elfClass32 {
		binary.LittleEndian.PutUint32(h[12:], uint32(addr))
	} else {
		binary.LittleEndian.PutUint64(h[16:], addr)
	}
}
