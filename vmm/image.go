package vmm

import (
	"encoding/binary"
	"fmt"
)

// EntryKind says how the VMM enters an image (layers/README.md, "Boot").
type EntryKind int

// Entry kinds, in the order the VMM prefers them.
const (
	EntryUKW64     EntryKind = iota // ukw ELF note 0x75770001: long mode, built by the VMM
	EntryPVH                        // Xen ELF note 18 (XEN_ELFNOTE_PHYS32_ENTRY): 32-bit, ebx = hvm_start_info
	EntryMultiboot                  // Multiboot 1 header: 32-bit, eax = 0x2BADB002, ebx = multiboot info
	EntryELF64                      // plain ELF64 x86-64: long mode at e_entry
)

func (k EntryKind) String() string {
	switch k {
	case EntryUKW64:
		return "ukw64"
	case EntryPVH:
		return "pvh"
	case EntryMultiboot:
		return "multiboot"
	case EntryELF64:
		return "elf64"
	}
	return "unknown"
}

// Boot ABI constants (layers/README.md; Multiboot 1 spec §3.1; Xen
// include/public/elfnote.h).
const (
	UKWNoteName      = "ukw"
	UKWNoteEntry64   = 0x75770001 // UKW_NOTE_ENTRY64
	XenNoteName      = "Xen"
	XenNotePhys32    = 18 // XEN_ELFNOTE_PHYS32_ENTRY
	MultibootMagic   = 0x1BADB002
	MultibootBootEAX = 0x2BADB002
	multibootSearch  = 8192
	mbFlagAOutKludge = 1 << 16
	mbFlagsKnown     = 1<<0 | 1<<1 | 1<<2 // the required-feature bits 0-15 ukw honours
)

// MaxImagePhys bounds where an image may load: below 4 GiB (the VMM
// identity-maps the first 4 GiB and guest RAM lives below it).
const MaxImagePhys = 1 << 32

// Segment is one piece of an image to copy into guest-physical memory.
type Segment struct {
	Phys    uint64
	Data    []byte // copied from the file; the rest up to MemSize is zeroed
	MemSize uint64
	// Exec marks code: an ELF segment with PF_X, or an a.out kludge image
	// (all of it).
	Exec bool
}

// Image is a parsed bootable kernel.
type Image struct {
	Kind     EntryKind
	Entry    uint64 // guest-physical (32-bit kinds) or identity-mapped (64-bit kinds)
	Segments []Segment
	// MultibootFlags are the header's flags (EntryMultiboot).
	MultibootFlags uint32
	// Format describes the container: "elf32", "elf64", "a.out kludge".
	Format string
	// Sections is the ELF section header table of a Multiboot ELF kernel,
	// handed over in the multiboot info (flags bit 5); nil otherwise.
	Sections *ELFSections
}

// End is the first byte after the highest segment.
func (im *Image) End() uint64 {
	var end uint64
	for _, s := range im.Segments {
		if e := s.Phys + s.MemSize; e > end {
			end = e
		}
	}
	return end
}

// ParseImage recognises a kernel image and checks every header field it
// uses. The error says which field is wrong.
func ParseImage(data []byte) (*Image, error) {
	mbOff, mb, mbErr := findMultiboot(data)
	if mbErr != nil {
		return nil, mbErr
	}
	var ef *elfFile
	if isELF(data) {
		var err error
		if ef, err = parseELF(data); err != nil {
			return nil, err
		}
	}
	if ef != nil && ef.machine != emX86 && ef.machine != emX86_64 {
		return nil, fmt.Errorf("ELF e_machine = %d: not x86 (3) or x86-64 (62)", ef.machine)
	}
	if ef != nil {
		for _, n := range ef.notes {
			if n.name == UKWNoteName && n.typ == UKWNoteEntry64 {
				if len(n.desc) != 8 {
					return nil, fmt.Errorf("ukw note UKW_NOTE_ENTRY64 has a %d-byte desc, want 8", len(n.desc))
				}
				return elfImage(ef, data, EntryUKW64, binary.LittleEndian.Uint64(n.desc), false)
			}
		}
		for _, n := range ef.notes {
			if n.name == XenNoteName && n.typ == XenNotePhys32 {
				var e uint64
				switch len(n.desc) {
				case 4:
					e = uint64(binary.LittleEndian.Uint32(n.desc))
				case 8:
					e = binary.LittleEndian.Uint64(n.desc)
				default:
					return nil, fmt.Errorf("Xen note XEN_ELFNOTE_PHYS32_ENTRY has a %d-byte desc, want 4 or 8", len(n.desc))
				}
				return elfImage(ef, data, EntryPVH, e, false)
			}
		}
	}
	if mb != nil {
		if mb.flags&mbFlagAOutKludge != 0 {
			return aoutImage(data, mbOff, mb)
		}
		if ef == nil {
			return nil, fmt.Errorf("multiboot header at %#x without the a.out kludge (flags bit 16) in a file that is not ELF", mbOff)
		}
		im, err := elfImage(ef, data, EntryMultiboot, ef.entry, true)
		if err != nil {
			return nil, err
		}
		im.MultibootFlags = mb.flags
		im.Sections = ef.sections
		return im, nil
	}
	if ef != nil && ef.class == elfClass64 && ef.machine == emX86_64 {
		return elfImage(ef, data, EntryELF64, ef.entry, false)
	}
	if ef != nil {
		return nil, fmt.Errorf("ELF32 image without a multiboot header or PVH note: no way to boot it")
	}
	return nil, fmt.Errorf("not a bootable image: no ELF header and no multiboot header in the first %d bytes", multibootSearch)
}

// elfImage makes an Image of ef's PT_LOAD segments, loaded at p_paddr. When
// translate is set, an entry inside a segment's virtual range is moved to
// its physical address (what GRUB does for multiboot ELF kernels).
func elfImage(ef *elfFile, data []byte, kind EntryKind, entry uint64, translate bool) (*Image, error) {
	im := &Image{Kind: kind, Format: "elf32"}
	if ef.class == elfClass64 {
		im.Format = "elf64"
	}
	for i, p := range ef.progs {
		if p.memsz == 0 {
			continue
		}
		if p.paddr >= MaxImagePhys || p.memsz > MaxImagePhys-p.paddr {
			return nil, fmt.Errorf("PT_LOAD %d: p_paddr %#x + p_memsz %#x reaches past 4 GiB", i, p.paddr, p.memsz)
		}
		if translate && entry >= p.vaddr && entry-p.vaddr < p.memsz {
			entry = entry - p.vaddr + p.paddr
			translate = false
		}
		im.Segments = append(im.Segments, Segment{Phys: p.paddr, Data: data[p.off : p.off+p.filesz], MemSize: p.memsz, Exec: p.flags&pfX != 0})
	}
	if len(im.Segments) == 0 {
		return nil, fmt.Errorf("ELF has no PT_LOAD segment with a non-zero p_memsz")
	}
	if err := checkOverlap(im.Segments); err != nil {
		return nil, err
	}
	if !inSegments(im.Segments, entry) {
		return nil, fmt.Errorf("%s entry %#x is not inside any PT_LOAD segment", kind, entry)
	}
	im.Entry = entry
	return im, nil
}

func inSegments(segs []Segment, a uint64) bool {
	for _, s := range segs {
		if a >= s.Phys && a-s.Phys < s.MemSize {
			return true
		}
	}
	return false
}

func checkOverlap(segs []Segment) error {
	for i, a := range segs {
		for j := i + 1; j < len(segs); j++ {
			b := segs[j]
			if a.Phys < b.Phys+b.MemSize && b.Phys < a.Phys+a.MemSize {
				return fmt.Errorf("segments at %#x (+%#x) and %#x (+%#x) overlap in physical memory", a.Phys, a.MemSize, b.Phys, b.MemSize)
			}
		}
	}
	return nil
}

type multibootHeader struct {
	flags                                      uint32
	headerAddr, loadAddr, loadEnd, bssEnd, ent uint32
}

// findMultiboot finds a Multiboot 1 header (§3.1.1: within the first 8192
// bytes, 32-bit aligned, magic + flags + checksum = 0).
func findMultiboot(data []byte) (int, *multibootHeader, error) {
	le := binary.LittleEndian
	limit := len(data)
	if limit > multibootSearch {
		limit = multibootSearch
	}
	for off := 0; off+12 <= limit; off += 4 {
		if le.Uint32(data[off:]) != MultibootMagic {
			continue
		}
		flags, sum := le.Uint32(data[off+4:]), le.Uint32(data[off+8:])
		if MultibootMagic+flags+sum != 0 {
			continue // not a header: the checksum does not hold
		}
		if unknown := flags & 0xffff &^ mbFlagsKnown; unknown != 0 {
			return off, nil, fmt.Errorf("multiboot header at %#x requires features %#x (flags bits 0-15) that ukw does not provide", off, unknown)
		}
		h := &multibootHeader{flags: flags}
		if flags&mbFlagAOutKludge != 0 {
			if off+32 > len(data) {
				return off, nil, fmt.Errorf("multiboot header at %#x sets the a.out kludge (bit 16) but its address fields run past the file", off)
			}
			h.headerAddr, h.loadAddr = le.Uint32(data[off+12:]), le.Uint32(data[off+16:])
			h.loadEnd, h.bssEnd, h.ent = le.Uint32(data[off+20:]), le.Uint32(data[off+24:]), le.Uint32(data[off+28:])
		}
		return off, h, nil
	}
	return 0, nil, nil
}

// aoutImage loads by the header's address fields (Multiboot 1 §3.1.3).
func aoutImage(data []byte, off int, h *multibootHeader) (*Image, error) {
	if h.headerAddr < h.loadAddr {
		return nil, fmt.Errorf("multiboot header_addr %#x < load_addr %#x", h.headerAddr, h.loadAddr)
	}
	delta := uint64(h.headerAddr - h.loadAddr)
	if delta > uint64(off) {
		return nil, fmt.Errorf("multiboot load_addr %#x would start %#x bytes before the file (header at file offset %#x, header_addr %#x)", h.loadAddr, delta-uint64(off), off, h.headerAddr)
	}
	fileOff := uint64(off) - delta
	size := uint64(len(data)) - fileOff
	if h.loadEnd != 0 {
		if h.loadEnd < h.loadAddr {
			return nil, fmt.Errorf("multiboot load_end_addr %#x < load_addr %#x", h.loadEnd, h.loadAddr)
		}
		if n := uint64(h.loadEnd - h.loadAddr); n > size {
			return nil, fmt.Errorf("multiboot load_end_addr %#x asks for %#x bytes but the file has %#x from load_addr", h.loadEnd, n, size)
		} else {
			size = n
		}
	}
	memsz := size
	if h.bssEnd != 0 {
		if uint64(h.bssEnd) < uint64(h.loadAddr)+size {
			return nil, fmt.Errorf("multiboot bss_end_addr %#x is below the end of the loaded text and data %#x", h.bssEnd, uint64(h.loadAddr)+size)
		}
		memsz = uint64(h.bssEnd) - uint64(h.loadAddr)
	}
	if memsz == 0 {
		return nil, fmt.Errorf("multiboot a.out kludge loads nothing (load_addr %#x, load_end_addr %#x)", h.loadAddr, h.loadEnd)
	}
	seg := Segment{Phys: uint64(h.loadAddr), Data: data[fileOff : fileOff+size], MemSize: memsz, Exec: true}
	if uint64(h.ent) < seg.Phys || uint64(h.ent)-seg.Phys >= memsz {
		return nil, fmt.Errorf("multiboot entry_addr %#x is outside the loaded image [%#x,%#x)", h.ent, seg.Phys, seg.Phys+memsz)
	}
	return &Image{Kind: EntryMultiboot, Entry: uint64(h.ent), Segments: []Segment{seg}, MultibootFlags: h.flags, Format: "a.out kludge"}, nil
}
