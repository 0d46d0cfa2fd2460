package qemu

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// bootImage is what QEMU's -kernel gets and where the kernel starts.
type bootImage struct {
	Path  string // the file QEMU loads (an ELF32 or a.out-kludge multiboot kernel)
	Entry uint64 // the kernel's first instruction, for the entry stop
	Temp  bool   // Path is a converted copy the Machine removes
}

// multibootMagic is the Multiboot 1 header magic (Multiboot spec 0.6.96, 3.1.1).
const multibootMagic = 0x1BADB002

// findMultiboot returns the header's flags and, for the a.out kludge (flags
// bit 16), its entry_addr; ok is false when the first 8 KiB hold no header.
func findMultiboot(data []byte) (flags uint32, entry uint32, ok bool) {
	n := min(len(data), 8192)
	for off := 0; off+12 <= n; off += 4 {
		if binary.LittleEndian.Uint32(data[off:]) != multibootMagic {
			continue
		}
		fl := binary.LittleEndian.Uint32(data[off+4:])
		sum := binary.LittleEndian.Uint32(data[off+8:])
		if multibootMagic+fl+sum != 0 {
			continue
		}
		if fl&(1<<16) != 0 && off+32 <= len(data) {
			entry = binary.LittleEndian.Uint32(data[off+28:])
		}
		return fl, entry, true
	}
	return 0, 0, false
}

// prepareImage finds what QEMU can boot for image. QEMU's multiboot loader
// takes ELF32 (or the a.out kludge) only (MACHINE.md: "Cannot load x86-64
// image"), so for an ELF64 it uses the ukw build's sibling NAME.img when
// there is one, else writes an ELF32 copy into dir.
func prepareImage(image, dir string) (bootImage, error) {
	data, err := os.ReadFile(image)
	if err != nil {
		return bootImage{}, fmt.Errorf("qemu: reading the image: %w", err)
	}
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		flags, entry, ok := findMultiboot(data)
		if !ok || flags&(1<<16) == 0 {
			return bootImage{}, fmt.Errorf("qemu: %s is neither ELF nor a multiboot a.out-kludge kernel", image)
		}
		return bootImage{Path: image, Entry: uint64(entry)}, nil
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return bootImage{}, fmt.Errorf("qemu: %s: %w", image, err)
	}
	_, kludgeEntry, hasMB := findMultiboot(data)
	if !hasMB {
		return bootImage{}, fmt.Errorf("qemu: %s has no multiboot header in its first 8 KiB; QEMU's -kernel needs one (or use the native VMM)", image)
	}
	entry := f.Entry
	if kludgeEntry != 0 {
		entry = uint64(kludgeEntry)
	}
	if f.Class == elf.ELFCLASS32 {
		return bootImage{Path: image, Entry: entry}, nil
	}
	if sib := strings.TrimSuffix(image, ".elf") + ".img"; sib != image {
		if sd, err := os.ReadFile(sib); err == nil {
			if sf, err := elf.NewFile(bytes.NewReader(sd)); err == nil && sf.Class == elf.ELFCLASS32 {
				return bootImage{Path: sib, Entry: sf.Entry}, nil
			}
		}
	}
	out, err := elf32Copy(data, f)
	if err != nil {
		return bootImage{}, fmt.Errorf("qemu: %s: %w", image, err)
	}
	p := filepath.Join(dir, "kernel32.elf")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		return bootImage{}, err
	}
	if kludgeEntry == 0 {
		entry = physEntry(f)
	}
	return bootImage{Path: p, Entry: entry, Temp: true}, nil
}

// physEntry translates e_entry to a physical address through the segment
// that contains it (kernels linked high, with virtual != physical).
func physEntry(f *elf.File) uint64 {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && f.Entry >= p.Vaddr && f.Entry < p.Vaddr+p.Memsz {
			return f.Entry - p.Vaddr + p.Paddr
		}
	}
	return f.Entry
}

// elf32Copy rewrites an ELF64 x86-64 executable as an ELF32 i386 one with
// the same loadable segments at the same file offsets (so the multiboot
// header stays in the first 8 KiB), no sections, and the entry truncated to
// 32 bits: the form QEMU's multiboot loader accepts (the ELF32 copy a ukw
// build writes as NAME.img; System V gABI "ELF Header", "Program Header").
func elf32Copy(data []byte, f *elf.File) ([]byte, error) {
	if f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("ELF machine %v, want x86-64", f.Machine)
	}
	var loads []*elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			if p.Paddr+p.Memsz > 1<<32 || p.Off+p.Filesz > uint64(len(data)) {
				return nil, fmt.Errorf("segment at phys %#x (+%#x) does not fit a 32-bit copy", p.Paddr, p.Memsz)
			}
			loads = append(loads, p)
		}
	}
	if len(loads) == 0 {
		return nil, errors.New("no loadable segments")
	}
	entry := physEntry(f)
	if entry >= 1<<32 {
		return nil, fmt.Errorf("entry %#x above 4 GiB", entry)
	}
	const ehsize, phsize = 52, 32
	hdrEnd := uint64(ehsize + phsize*len(loads))
	for _, p := range loads {
		if p.Filesz > 0 && p.Off < hdrEnd && p.Off != 0 {
			return nil, errors.New("no room for ELF32 headers before the first segment")
		}
	}
	out := bytes.Clone(data)
	// Clear the ELF64 header and program headers, then write ELF32 ones.
	oldEnd := uint64(64)
	if ph := 64 + uint64(len(f.Progs))*56; ph > oldEnd {
		oldEnd = ph
	}
	clear(out[:min(oldEnd, uint64(len(out)))])
	le := binary.LittleEndian
	copy(out, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	le.PutUint16(out[16:], uint16(elf.ET_EXEC))
	le.PutUint16(out[18:], uint16(elf.EM_386))
	le.PutUint32(out[20:], uint32(elf.EV_CURRENT))
	le.PutUint32(out[24:], uint32(entry))
	le.PutUint32(out[28:], ehsize) // e_phoff
	le.PutUint32(out[32:], 0)      // e_shoff: no sections
	le.PutUint16(out[40:], ehsize)
	le.PutUint16(out[42:], phsize)
	le.PutUint16(out[44:], uint16(len(loads)))
	le.PutUint16(out[46:], 40) // e_shentsize
	for i, p := range loads {
		h := out[ehsize+phsize*i:]
		le.PutUint32(h[0:], uint32(elf.PT_LOAD))
		le.PutUint32(h[4:], uint32(p.Off))
		le.PutUint32(h[8:], uint32(p.Paddr)) // p_vaddr: the loader runs unpaged
		le.PutUint32(h[12:], uint32(p.Paddr))
		le.PutUint32(h[16:], uint32(p.Filesz))
		le.PutUint32(h[20:], uint32(p.Memsz))
		le.PutUint32(h[24:], uint32(p.Flags))
		le.PutUint32(h[28:], uint32(max(p.Align, 1)))
	}
	return out, nil
}
