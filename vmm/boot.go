package vmm

import (
	"encoding/binary"
	"fmt"

	"ukw/vmm/kvm"
)

// Guest-physical layout of the VMM's boot structures. They live below
// BootAreaEnd, which the memory map marks reserved (layers/README.md).
const (
	bootGDT        = 0x1000
	bootPML4       = 0x2000
	bootPDPT       = 0x3000
	bootPD         = 0x4000 // four page directories: 4 GiB by 2 MiB pages
	bootMBI        = 0x8000 // struct multiboot_info (120 bytes)
	bootStartInfo  = 0x8100 // struct hvm_start_info (56 bytes)
	bootMmap       = 0x8200 // multiboot memory map (24-byte entries)
	bootPVHMap     = 0x8400 // hvm_memmap_table_entry[] (24-byte entries)
	bootMods       = 0x8600 // multiboot module list (16-byte entries)
	bootPVHMods    = 0x8a00 // hvm_modlist_entry[] (32-byte entries)
	bootLoaderName = 0x8f00
	bootStrings    = 0x9000 // kernel command line, then module command lines
	bootStringsEnd = 0x10000
	bootStackTop   = 0x20000 // rsp for the 64-bit entries (stack 0x10000-0x20000)
	// BootAreaEnd is the end of the reserved boot area; images may not load below it.
	BootAreaEnd = 0x20000
	// MaxModules is how many multiboot modules fit the module lists.
	MaxModules = 64

	lowMemEnd  = 0x9fc00 // conventional memory ends; EBDA, VGA and BIOS area follow
	highMemBeg = 0x100000

	selCode64 = 0x08
	selCode32 = 0x10
	selData   = 0x18

	// MinMemory is the smallest guest RAM ukw boots (boot area and 1 MiB hole plus room).
	MinMemory = 2 << 20
	// MaxMemory keeps guest RAM below the 32-bit PCI/APIC hole.
	MaxMemory = 3 << 30
)

// Module is a multiboot module's contents and command line.
type Module struct {
	Data    []byte
	Cmdline string
}

// BootState is what Load leaves for the vCPU: registers and how to change
// the vCPU's initial special registers.
type BootState struct {
	Regs  kvm.Regs
	Long  bool   // long mode with the VMM's page tables
	Info  uint64 // phys address of the multiboot info or hvm_start_info
	Entry uint64
}

// Load copies im and the boot structures into mem (guest RAM at phys 0)
// and returns the entry state. Every address is checked against len(mem).
func Load(im *Image, mem []byte, cmdline string, mods []Module) (*BootState, error) {
	ram := uint64(len(mem))
	if ram < MinMemory {
		return nil, fmt.Errorf("guest RAM %d KiB is below the minimum %d KiB", ram>>10, MinMemory>>10)
	}
	for _, s := range im.Segments {
		if s.Phys < BootAreaEnd {
			return nil, fmt.Errorf("segment at %#x overlaps the VMM's boot area below %#x", s.Phys, BootAreaEnd)
		}
		if s.Phys+s.MemSize > ram {
			return nil, fmt.Errorf("segment [%#x,%#x) does not fit in %d MiB of guest RAM", s.Phys, s.Phys+s.MemSize, ram>>20)
		}
		copy(mem[s.Phys:], s.Data)
		clear(mem[s.Phys+uint64(len(s.Data)) : s.Phys+s.MemSize])
	}
	if len(mods) > MaxModules {
		return nil, fmt.Errorf("%d modules, at most %d", len(mods), MaxModules)
	}
	le := binary.LittleEndian
	strs := stringArea{mem: mem, next: bootStrings}
	cmdAddr, err := strs.put(cmdline)
	if err != nil {
		return nil, fmt.Errorf("command line: %w", err)
	}
	// Modules go page-aligned after the kernel (Multiboot 1 §3.3, flags bit 0).
	next := alignUp(im.End(), 4096)
	type placed struct{ start, end, cmd uint64 }
	var pm []placed
	for i, m := range mods {
		size := uint64(len(m.Data))
		if next+size > ram {
			return nil, fmt.Errorf("module %d (%d bytes) does not fit in guest RAM above %#x", i, size, next)
		}
		copy(mem[next:], m.Data)
		c, err := strs.put(m.Cmdline)
		if err != nil {
			return nil, fmt.Errorf("module %d command line: %w", i, err)
		}
		pm = append(pm, placed{next, next + size, c})
		next = alignUp(next+size, 4096)
	}
	copy(mem[bootLoaderName:], "ukw\x00")
	// The ELF section headers (Multiboot 1 §3.3, flags bit 5), after the
	// modules: the sections a boot loader copies (sh_addr 0: symbol and
	// string tables, debug info) each at its alignment with sh_addr set
	// to where it went, then the table. Multiboot ELF kernels only; when
	// they do not fit in guest RAM the kernel boots without them.
	var shdrAddr uint64
	if im.Sections != nil && im.Kind == EntryMultiboot {
		shdrAddr = loadSections(im.Sections, mem, next)
	}

	// Memory map: boot area reserved, conventional memory, the legacy hole, RAM.
	type region struct {
		base, size uint64
		typ        uint32
	}
	regions := []region{
		{0, BootAreaEnd, 2},
		{BootAreaEnd, lowMemEnd - BootAreaEnd, 1},
		{lowMemEnd, highMemBeg - lowMemEnd, 2},
		{highMemBeg, ram - highMemBeg, 1},
	}
	for i, r := range regions {
		e := mem[bootMmap+24*i:]
		le.PutUint32(e[0:], 20) // size of the rest of the entry
		le.PutUint64(e[4:], r.base)
		le.PutUint64(e[12:], r.size)
		le.PutUint32(e[20:], r.typ)
		p := mem[bootPVHMap+24*i:]
		le.PutUint64(p[0:], r.base)
		le.PutUint64(p[8:], r.size)
		le.PutUint32(p[16:], r.typ)
		le.PutUint32(p[20:], 0)
	}

	// struct multiboot_info (Multiboot 1 §3.3).
	mbi := mem[bootMBI : bootMBI+120]
	clear(mbi)
	flags := uint32(1<<0 | 1<<2 | 1<<6 | 1<<9) // mem_*, cmdline, mmap, boot_loader_name
	le.PutUint32(mbi[4:], lowMemEnd>>10)
	le.PutUint32(mbi[8:], uint32((ram-highMemBeg)>>10))
	le.PutUint32(mbi[16:], uint32(cmdAddr))
	if len(pm) > 0 {
		flags |= 1 << 3
		le.PutUint32(mbi[20:], uint32(len(pm)))
		le.PutUint32(mbi[24:], bootMods)
		for i, m := range pm {
			e := mem[bootMods+16*i:]
			le.PutUint32(e[0:], uint32(m.start))
			le.PutUint32(e[4:], uint32(m.end))
			le.PutUint32(e[8:], uint32(m.cmd))
			le.PutUint32(e[12:], 0)
			p := mem[bootPVHMods+32*i:]
			le.PutUint64(p[0:], m.start)
			le.PutUint64(p[8:], m.end-m.start)
			le.PutUint64(p[16:], m.cmd)
			le.PutUint64(p[24:], 0)
		}
	}
	if shdrAddr != 0 {
		flags |= 1 << 5
		le.PutUint32(mbi[28:], im.Sections.Num)
		le.PutUint32(mbi[32:], im.Sections.EntSize)
		le.PutUint32(mbi[36:], uint32(shdrAddr))
		le.PutUint32(mbi[40:], im.Sections.Shndx)
	}
	le.PutUint32(mbi[44:], uint32(24*len(regions)))
	le.PutUint32(mbi[48:], bootMmap)
	le.PutUint32(mbi[64:], bootLoaderName)
	le.PutUint32(mbi[0:], flags)

	// struct hvm_start_info, version 1 (Xen include/public/arch-x86/hvm/start_info.h).
	si := mem[bootStartInfo : bootStartInfo+56]
	clear(si)
	le.PutUint32(si[0:], 0x336ec578) // XEN_HVM_START_MAGIC_VALUE
	le.PutUint32(si[4:], 1)
	le.PutUint32(si[12:], uint32(len(pm)))
	if len(pm) > 0 {
		le.PutUint64(si[16:], bootPVHMods)
	}
	le.PutUint64(si[24:], cmdAddr)
	le.PutUint64(si[40:], bootPVHMap)
	le.PutUint32(si[48:], uint32(len(regions)))

	writeGDT(mem)
	st := &BootState{Entry: im.Entry}
	st.Regs.RFLAGS = 2
	st.Regs.RIP = im.Entry
	switch im.Kind {
	case EntryUKW64, EntryELF64:
		if im.Entry >= MaxImagePhys {
			return nil, fmt.Errorf("64-bit entry %#x is outside the identity-mapped 4 GiB", im.Entry)
		}
		writePageTables(mem)
		st.Long = true
		st.Info = bootMBI
		st.Regs.RDI, st.Regs.RSI = MultibootBootEAX, bootMBI
		st.Regs.RAX, st.Regs.RBX = MultibootBootEAX, bootMBI
		st.Regs.RSP = bootStackTop
	case EntryPVH:
		st.Info = bootStartInfo
		st.Regs.RBX = bootStartInfo
	case EntryMultiboot:
		st.Info = bootMBI
		st.Regs.RAX, st.Regs.RBX = MultibootBootEAX, bootMBI
	}
	return st, nil
}

// loadSections copies es's loaded sections and then its table into mem
// from next on and returns the table's address, or 0 when they do not fit.
func loadSections(es *ELFSections, mem []byte, next uint64) uint64 {
	ram := uint64(len(mem))
	table := append([]byte(nil), es.Table...)
	for _, sec := range es.load {
		a := next // sh_addralign is untrusted: any value, overflow checked
		if r := next % max(sec.align, 1); r != 0 {
			a = next + (sec.align - r)
		}
		if a < next || a > ram || sec.size > ram-a {
			return 0
		}
		copy(mem[a:], sec.data)
		clear(mem[a+uint64(len(sec.data)) : a+sec.size])
		es.setSectionAddr(table, sec.index, a)
		next = a + sec.size
	}
	a := alignUp(next, 8)
	if a > ram || uint64(len(table)) > ram-a {
		return 0
	}
	copy(mem[a:], table)
	return a
}

// stringArea hands out NUL-terminated strings in [bootStrings, bootStringsEnd).
type stringArea struct {
	mem  []byte
	next uint64
}

func (s *stringArea) put(str string) (uint64, error) {
	n := uint64(len(str)) + 1
	if s.next+n > bootStringsEnd {
		return 0, fmt.Errorf("%d bytes do not fit the %d-byte string area", n, bootStringsEnd-bootStrings)
	}
	a := s.next
	copy(s.mem[a:], str)
	s.mem[a+n-1] = 0
	s.next += n
	return a, nil
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

// writeGDT writes null, 64-bit code, 32-bit code and flat data descriptors
// (Intel SDM Vol. 3A, 3.4.5 "Segment Descriptors").
func writeGDT(mem []byte) {
	le := binary.LittleEndian
	le.PutUint64(mem[bootGDT:], 0)
	le.PutUint64(mem[bootGDT+selCode64:], 0x00af9b000000ffff)
	le.PutUint64(mem[bootGDT+selCode32:], 0x00cf9b000000ffff)
	le.PutUint64(mem[bootGDT+selData:], 0x00cf93000000ffff)
}

// writePageTables identity-maps the first 4 GiB with 2 MiB pages (Intel SDM
// Vol. 3A, 4.5 "4-Level Paging").
func writePageTables(mem []byte) {
	le := binary.LittleEndian
	clear(mem[bootPML4 : bootPD+4*4096])
	le.PutUint64(mem[bootPML4:], bootPDPT|3)
	for i := uint64(0); i < 4; i++ {
		le.PutUint64(mem[bootPDPT+8*i:], (bootPD+4096*i)|3)
		for j := uint64(0); j < 512; j++ {
			le.PutUint64(mem[bootPD+4096*i+8*j:], (i*512+j)<<21|0x83) // P, RW, PS
		}
	}
}

// Control register and EFER bits (Intel SDM Vol. 3A, 2.5; Vol. 4 for EFER).
const (
	cr0PE   = 1 << 0
	cr0MP   = 1 << 1
	cr0ET   = 1 << 4
	cr0NE   = 1 << 5
	cr0WP   = 1 << 16
	cr0PG   = 1 << 31
	cr4PAE  = 1 << 5
	eferLME = 1 << 8
	eferLMA = 1 << 10
)

// EntrySregs sets s (the vCPU's reset state from KVM_GET_SREGS) to the
// entry state: flat 32-bit protected mode, or long mode with the VMM's
// page tables and GDT.
func EntrySregs(s *kvm.Sregs, long bool) {
	code := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: selCode32, Type: 0xb, Present: 1, S: 1, DB: 1, G: 1}
	data := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: selData, Type: 0x3, Present: 1, S: 1, DB: 1, G: 1}
	s.CR0 = cr0PE | cr0ET
	s.CR4 = 0
	s.EFER = 0
	if long {
		code.Selector, code.DB, code.L = selCode64, 0, 1
		s.CR0 = cr0PE | cr0MP | cr0ET | cr0NE | cr0WP | cr0PG
		s.CR3 = bootPML4
		s.CR4 = cr4PAE
		s.EFER = eferLME | eferLMA
	}
	s.CS = code
	s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
	s.TR = kvm.Segment{Limit: 0x67, Type: 0xb, Present: 1}
	s.LDT = kvm.Segment{Type: 0x2, Present: 1, Unusable: 1}
	s.GDT = kvm.DTable{Base: bootGDT, Limit: 4*8 - 1}
	s.IDT = kvm.DTable{}
}
