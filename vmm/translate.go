package vmm

import (
	"encoding/binary"
	"fmt"
)

// Paging bits (Intel SDM Vol. 3A, chapter 4 "Paging").
const (
	ptePresent = 1 << 0
	ptePS      = 1 << 7
	pteAddr    = 0x000ffffffffff000
	cr4PSE     = 1 << 4
	cr4LA57    = 1 << 12
)

// mmu is the paging state a translation needs.
type mmu struct {
	cr0, cr3, cr4, efer uint64
}

// translate walks the guest's page tables in mem (guest RAM from phys 0)
// for linear address va: none, 32-bit, PAE or 4-level paging (Intel SDM
// Vol. 3A, 4.3, 4.4 and 4.5). It never reads outside mem.
func (m mmu) translate(mem []byte, va uint64) (uint64, error) {
	if m.cr0&cr0PG == 0 {
		return va, nil
	}
	read := func(a uint64, size int) (uint64, error) {
		if a+uint64(size) > uint64(len(mem)) || a+uint64(size) < a {
			return 0, fmt.Errorf("page table entry at %#x is outside guest RAM", a)
		}
		if size == 4 {
			return uint64(binary.LittleEndian.Uint32(mem[a:])), nil
		}
		return binary.LittleEndian.Uint64(mem[a:]), nil
	}
	notMapped := func(level string) error { return fmt.Errorf("%#x not mapped (%s entry not present)", va, level) }
	switch {
	case m.efer&eferLMA != 0:
		if m.cr4&cr4LA57 != 0 {
			return 0, fmt.Errorf("5-level paging is not supported")
		}
		table := m.cr3 & pteAddr
		names := [4]string{"PML4", "PDPT", "PD", "PT"}
		for lvl := 0; lvl < 4; lvl++ {
			shift := uint(39 - 9*lvl)
			e, err := read(table+(va>>shift&511)*8, 8)
			if err != nil {
				return 0, err
			}
			if e&ptePresent == 0 {
				return 0, notMapped(names[lvl])
			}
			if lvl == 3 || (lvl > 0 && e&ptePS != 0) {
				mask := uint64(1)<<shift - 1
				return (e & pteAddr &^ mask) | va&mask, nil
			}
			table = e & pteAddr
		}
	case m.cr4&cr4PAE != 0:
		e, err := read(m.cr3&0xffffffe0+(va>>30&3)*8, 8)
		if err != nil {
			return 0, err
		}
		if e&ptePresent == 0 {
			return 0, notMapped("PDPT")
		}
		e, err = read(e&pteAddr+(va>>21&511)*8, 8)
		if err != nil {
			return 0, err
		}
		if e&ptePresent == 0 {
			return 0, notMapped("PD")
		}
		if e&ptePS != 0 {
			return e&pteAddr&^(1<<21-1) | va&(1<<21-1), nil
		}
		e, err = read(e&pteAddr+(va>>12&511)*8, 8)
		if err != nil {
			return 0, err
		}
		if e&ptePresent == 0 {
			return 0, notMapped("PT")
		}
		return e&pteAddr | va&0xfff, nil
	default:
		va &= 0xffffffff
		e, err := read(m.cr3&0xfffff000+(va>>22)*4, 4)
		if err != nil {
			return 0, err
		}
		if e&ptePresent == 0 {
			return 0, notMapped("PD")
		}
		if e&ptePS != 0 && m.cr4&cr4PSE != 0 {
			return e&0xffc00000 | va&0x3fffff, nil
		}
		e, err = read(e&0xfffff000+(va>>12&1023)*4, 4)
		if err != nil {
			return 0, err
		}
		if e&ptePresent == 0 {
			return 0, notMapped("PT")
		}
		return e&0xfffff000 | va&0xfff, nil
	}
	return 0, fmt.Errorf("unreachable")
}

// tablePages returns the guest-physical pages of the page tables a
// 4-level walk for va reads (the CR3 page alone in other paging modes),
// and nothing with paging off.
func (m mmu) tablePages(mem []byte, va uint64) []uint64 {
	if m.cr0&cr0PG == 0 {
		return nil
	}
	table := m.cr3 & pteAddr
	if m.efer&eferLMA == 0 {
		return []uint64{m.cr3 &^ (pageSize - 1)}
	}
	var out []uint64
	for lvl := 0; lvl < 4; lvl++ {
		out = append(out, table)
		a := table + (va>>uint(39-9*lvl)&511)*8
		if a+8 > uint64(len(mem)) {
			break
		}
		e := binary.LittleEndian.Uint64(mem[a:])
		if e&ptePresent == 0 || lvl == 3 || (lvl > 0 && e&ptePS != 0) {
			break
		}
		table = e & pteAddr
	}
	return out
}
