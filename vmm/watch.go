package vmm

import (
	"fmt"
	"sort"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// Watchpoints by memslots ("readonly-memslot").
//
// Where KVM reports no data breakpoints (kvm-pvm: DR7 RW=01 raises no #DB
// at all, ../shared/MACHINE.md), the 4 KiB guest-physical pages holding
// watched bytes are taken out of the plain RAM slot:
//
//   - a page with only write watchpoints becomes a KVM_MEM_READONLY slot
//     (api.rst 4.35): a guest write exits as KVM_EXIT_MMIO with address,
//     length and data and does not reach memory; reads and instruction
//     fetches are served from memory as before;
//   - a page with a read or access watchpoint gets no slot at all (a
//     hole): every data access to it exits as KVM_EXIT_MMIO, reads
//     included, and the VMM answers reads from guest RAM. The CPU's own
//     accesses cannot be answered so: setWatch refuses a page that holds
//     code (an executable segment), the GDT, IDT or TSS, the page tables
//     that map the watch, or the stack (ukw's link.ld keeps the CPU's
//     tables in a page of their own and .text apart from data).
//
// The VMM applies a write to guest RAM itself and answers a read from it
// (access, a pure function of the exit). When the access touches a watched
// range of a kind that sees it (write: writes; read: reads; access: both),
// it completes the instruction (KVM_RUN with immediate_exit, api.rst
// "KVM_CAP_IMMEDIATE_EXIT": pending MMIO is finished, no further
// instruction runs) and stops with StopWatchpoint, rip after the accessing
// instruction as the CPU reports a data breakpoint (Intel SDM Vol. 3B,
// 17.3.1.2 "Data Memory and I/O Breakpoint Exception Conditions": trap).
// Other accesses to the page are carried out and the guest goes on.
//
// Watches are kept by virtual address and translated through the vCPU's
// page tables (translate.go: 4 KiB, 2 MiB and 1 GiB pages) each time the
// guest is resumed; the memslot layout changes only when the set of pages
// does (gdb removes and re-inserts its watchpoints around every stop).

// Limits of the readonly-memslot strategy.
const (
	pageSize = 4096
	// maxWatchLen bounds one watchpoint (gdb may watch a whole struct).
	maxWatchLen = 1 << 16
	// maxWatchPages bounds the read-only pages, and so the memslots
	// (2 per page + 1); KVM offers at least 32 user slots.
	maxWatchPages = 12
)

// watchpoint is one watchpoint and the guest-physical pieces its bytes
// occupied at the last translation.
type watchpoint struct {
	bp   guest.Breakpoint
	segs []physSeg
}

// physSeg is a guest-physical byte range inside one page.
type physSeg struct{ pa, n uint64 }

// pageMode is how a watched page is mapped.
type pageMode int

const (
	pageReadOnly pageMode = 1 + iota // a read-only slot: writes exit
	pageHole                         // no slot: every access exits
)

// watchSet is the vCPU's watchpoints. It is owned by the vCPU thread.
type watchSet struct {
	list  []*watchpoint
	pages map[uint64]pageMode // page-aligned GPAs of the segments and how each is mapped
}

func newWatchSet() *watchSet { return &watchSet{pages: map[uint64]pageMode{}} }

// add inserts bp (idempotent).
func (w *watchSet) add(bp guest.Breakpoint) {
	for _, x := range w.list {
		if x.bp == bp {
			return
		}
	}
	w.list = append(w.list, &watchpoint{bp: bp})
}

// remove deletes the watchpoint at bp's kind and address (and length when
// given); it reports whether there was one.
func (w *watchSet) remove(bp guest.Breakpoint) bool {
	for i, x := range w.list {
		if x.bp.Kind == bp.Kind && x.bp.Addr == bp.Addr && (bp.Len == 0 || x.bp.Len == bp.Len) {
			w.list = append(w.list[:i], w.list[i+1:]...)
			return true
		}
	}
	return false
}

// translate recomputes every watchpoint's physical pieces and the page
// set through tr over mem. Bytes that are not mapped (or outside RAM) are
// not watched until they are; the error names the first such address.
func (w *watchSet) translate(tr mmu, mem []byte) error {
	var first error
	w.pages = map[uint64]pageMode{}
	for _, x := range w.list {
		x.segs = x.segs[:0]
		for done := uint64(0); done < uint64(x.bp.Len); {
			va := x.bp.Addr + done
			n := min(pageSize-va%pageSize, uint64(x.bp.Len)-done)
			done += n
			pa, err := tr.translate(mem, va)
			if err == nil && (pa >= uint64(len(mem)) || n > uint64(len(mem))-pa) {
				err = fmt.Errorf("%#x is outside guest RAM", va)
			}
			if err != nil {
				if first == nil {
					first = fmt.Errorf("watchpoint at %#x: %w", x.bp.Addr, err)
				}
				continue
			}
			x.segs = append(x.segs, physSeg{pa, n})
			mode := pageReadOnly
			if x.bp.Kind != guest.WatchWrite {
				mode = pageHole
			}
			pg := pa &^ (pageSize - 1)
			w.pages[pg] = max(w.pages[pg], mode)
		}
	}
	return first
}

// covers reports whether guest-physical addr lies in a watched page.
func (w *watchSet) covers(addr uint64) bool { return w != nil && w.pages[addr&^(pageSize-1)] != 0 }

// access carries out an MMIO exit on a watched page: a write is applied
// to mem, a read is answered from mem into the run page. It returns the
// first watchpoint whose bytes the access touched and whose kind sees it.
// The access must lie in mem.
func (w *watchSet) access(e kvm.MMIOExit, run, mem []byte) (*guest.Breakpoint, error) {
	if e.Addr >= uint64(len(mem)) || uint64(e.Len) > uint64(len(mem))-e.Addr {
		return nil, fmt.Errorf("MMIO %d bytes at %#x: outside guest RAM", e.Len, e.Addr)
	}
	if e.IsWrite {
		copy(mem[e.Addr:e.Addr+uint64(e.Len)], e.Data[:e.Len])
	} else {
		copy(run[mmioDataStart:mmioDataStart+e.Len], mem[e.Addr:])
	}
	end := e.Addr + uint64(e.Len)
	for _, x := range w.list {
		if !sees(x.bp.Kind, e.IsWrite) {
			continue
		}
		for _, s := range x.segs {
			if e.Addr < s.pa+s.n && s.pa < end {
				bp := x.bp
				return &bp, nil
			}
		}
	}
	return nil, nil
}

// sees reports whether a watchpoint of kind k fires on a write (or a read).
func sees(k guest.BreakKind, write bool) bool {
	switch k {
	case guest.WatchWrite:
		return write
	case guest.WatchRead:
		return !write
	}
	return k == guest.WatchAccess
}

// memslot is one KVM user memory slot over guest RAM.
type memslot struct {
	gpa, size uint64
	readOnly  bool
}

// layout splits guest RAM [0, size) into slots: each maximal run of
// read-only pages is one read-only slot, holes get no slot, the RAM
// between them is writable.
func layout(size uint64, pages map[uint64]pageMode) []memslot {
	ro := make([]uint64, 0, len(pages))
	for p := range pages {
		if p < size {
			ro = append(ro, p)
		}
	}
	sort.Slice(ro, func(i, j int) bool { return ro[i] < ro[j] })
	var out []memslot
	at := uint64(0)
	for i := 0; i < len(ro); {
		j := i + 1
		for j < len(ro) && ro[j] == ro[j-1]+pageSize && pages[ro[j]] == pages[ro[i]] {
			j++
		}
		if ro[i] > at {
			out = append(out, memslot{gpa: at, size: ro[i] - at})
		}
		end := min(ro[j-1]+pageSize, size)
		if pages[ro[i]] == pageReadOnly {
			out = append(out, memslot{gpa: ro[i], size: end - ro[i], readOnly: true})
		}
		at = end
		i = j
	}
	if at < size {
		out = append(out, memslot{gpa: at, size: size - at})
	}
	return out
}

// slotChanges plans the move from the applied slots (by id) to want: the
// ids to delete first, then the slots to create with their ids. Slots
// present in both keep their ids, so a change costs only the slots it
// touches (each KVM_SET_USER_MEMORY_REGION costs 0.1 ms here, 5-20 ms
// with an in-kernel irqchip: docs/vmm.md).
func slotChanges(applied map[uint32]memslot, want []memslot) (del []uint32, add map[uint32]memslot) {
	keep := map[memslot]bool{}
	for _, s := range want {
		keep[s] = true
	}
	used := map[uint32]bool{}
	have := map[memslot]bool{}
	for id, s := range applied {
		if keep[s] {
			used[id], have[s] = true, true
		} else {
			del = append(del, id)
		}
	}
	sort.Slice(del, func(i, j int) bool { return del[i] < del[j] })
	add = map[uint32]memslot{}
	next := uint32(0)
	for _, s := range want {
		if have[s] {
			continue
		}
		for used[next] {
			next++
		}
		used[next] = true
		add[next] = s
	}
	return del, add
}

// syncMemslots makes the VM's memslots match the watched pages: it
// retranslates the watchpoints through the current page tables and
// changes only the slots that differ. It runs on the vCPU thread before
// each run.
func (v *vcpuState) syncMemslots() error {
	if len(v.ws.list) == 0 && len(v.memslots) == 1 {
		return nil // the boot layout: one writable slot over all of RAM
	}
	if len(v.ws.list) > 0 {
		tr, err := v.mmu()
		if err != nil {
			return err
		}
		v.ws.translate(tr, v.mem) // unmapped bytes are watched once mapped
	} else {
		v.ws.pages = map[uint64]pageMode{}
	}
	del, add := slotChanges(v.memslots, layout(uint64(len(v.mem)), v.ws.pages))
	for _, id := range del {
		if err := v.vm.DeleteUserMemoryRegion(id); err != nil {
			return err
		}
		delete(v.memslots, id)
	}
	ids := make([]uint32, 0, len(add))
	for id := range add {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		s := add[id]
		var flags uint32
		if s.readOnly {
			flags = kvm.KVM_MEM_READONLY
		}
		if err := v.vm.SetUserMemoryRegion(id, flags, s.gpa, v.mem[s.gpa:s.gpa+s.size]); err != nil {
			return err
		}
		v.memslots[id] = s
	}
	return nil
}

// setWatch adds a write watchpoint under the readonly-memslot strategy.
// The slots change at the next run.
func (v *vcpuState) setWatch(bp guest.Breakpoint) error {
	if bp.Len < 1 || bp.Len > maxWatchLen {
		return fmt.Errorf("watchpoint length %d: want 1..%d bytes", bp.Len, maxWatchLen)
	}
	tr, err := v.mmu()
	if err != nil {
		return err
	}
	v.ws.add(bp)
	err = v.ws.translate(tr, v.mem)
	if err == nil && len(v.ws.pages) > maxWatchPages {
		err = fmt.Errorf("watchpoints would cover %d pages; at most %d", len(v.ws.pages), maxWatchPages)
	}
	if err == nil && bp.Kind != guest.WatchWrite {
		err = v.holeConflict(bp, tr)
	}
	if err != nil {
		v.ws.remove(bp)
		v.ws.translate(tr, v.mem)
		return err
	}
	return nil
}

// holeConflict refuses a read or access watchpoint whose page the CPU
// must read itself: a page with no memslot answers only the instructions
// KVM emulates, not instruction fetches, descriptor-table reads, page
// walks or exception frames.
func (v *vcpuState) holeConflict(bp guest.Breakpoint, tr mmu) error {
	r := v.known
	if !v.knownOK {
		var err error
		if r, err = v.regs(); err != nil {
			return err
		}
	}
	type use struct {
		what   string
		lo, hi uint64 // physical [lo, hi)
	}
	var uses []use
	for _, s := range v.m.image.Segments {
		if s.Exec {
			uses = append(uses, use{"code (an executable segment)", s.Phys, s.Phys + s.MemSize})
		}
	}
	linear := func(what string, va, n uint64) {
		for off := uint64(0); off < n; off += pageSize - (va+off)%pageSize {
			if pa, err := tr.translate(v.mem, va+off); err == nil {
				uses = append(uses, use{what, pa, pa + 1})
			}
		}
	}
	linear("the GDT", r.GDTBase, uint64(r.GDTLimit)+1)
	linear("the IDT", r.IDTBase, uint64(r.IDTLimit)+1)
	linear("the TSS", r.TR.Base, uint64(r.TR.Limit)+1)
	linear("the stack", r.RSP-8, 16)
	for _, pg := range tr.tablePages(v.mem, bp.Addr) {
		uses = append(uses, use{"page tables", pg, pg + pageSize})
	}
	for _, x := range v.ws.list {
		if x.bp != bp {
			continue
		}
		for _, sg := range x.segs {
			pg := sg.pa &^ (pageSize - 1)
			for _, u := range uses {
				if u.lo < pg+pageSize && pg < u.hi {
					return fmt.Errorf("%v at %#x: its page (%#x) also holds %s, which the CPU reads itself; "+
						"a read watchpoint takes the page out of guest RAM, so it needs the page to itself", bp.Kind, bp.Addr, pg, u.what)
				}
			}
		}
	}
	return nil
}

// watchStop ends a run at an access that touched bp: KVM finishes the
// instruction (a KVM_RUN with immediate_exit completes pending MMIO and
// returns EINTR before any further instruction; an access split into
// fragments, or the write of a read-modify-write, brings one more MMIO
// exit each), then the stop is published with rip after the accessing
// instruction.
func (v *vcpuState) watchStop(bp guest.Breakpoint) {
	v.cpu.SetImmediateExit(true)
	for i := 0; i < 16; i++ {
		err := v.cpu.Run()
		v.synced = v.syncRegs
		v.m.exits.Add(1)
		if err != nil {
			break // EINTR: the instruction is complete
		}
		e, err := v.cpu.Exit()
		if err != nil || e.Reason != kvm.KVM_EXIT_MMIO {
			break // e.g. the single-step trap of a Step: also complete
		}
		if o := v.dev.handle(e, v.cpu.RunPage(), v.mem); o.kind != outResume && o.kind != outWatch {
			break
		}
	}
	v.cpu.SetImmediateExit(false)
	v.stop(guest.Stop{Reason: guest.StopWatchpoint, Addr: bp.Addr, Watch: bp.Kind})
}
