package vmm

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"ukw/guest"
	"ukw/vmm/kvm"
)

func TestLayout(t *testing.T) {
	const size = 1 << 20
	for _, c := range []struct {
		name         string
		pages, holes []uint64
		want         []memslot
	}{
		{"none", nil, nil, []memslot{{0, size, false}}},
		{"middle", []uint64{0x5000}, nil, []memslot{{0, 0x5000, false}, {0x5000, 0x1000, true}, {0x6000, size - 0x6000, false}}},
		{"first", []uint64{0}, nil, []memslot{{0, 0x1000, true}, {0x1000, size - 0x1000, false}}},
		{"last", []uint64{size - 0x1000}, nil, []memslot{{0, size - 0x1000, false}, {size - 0x1000, 0x1000, true}}},
		{"adjacent merge", []uint64{0x3000, 0x2000, 0x9000}, nil, []memslot{{0, 0x2000, false}, {0x2000, 0x2000, true}, {0x4000, 0x5000, false}, {0x9000, 0x1000, true}, {0xa000, size - 0xa000, false}}},
		{"outside RAM ignored", []uint64{size, 2 * size}, nil, []memslot{{0, size, false}}},
		{"hole", nil, []uint64{0x5000}, []memslot{{0, 0x5000, false}, {0x6000, size - 0x6000, false}}},
		{"hole beside read-only", []uint64{0x4000}, []uint64{0x5000, 0x6000}, []memslot{{0, 0x4000, false}, {0x4000, 0x1000, true}, {0x7000, size - 0x7000, false}}},
		{"hole first and last", nil, []uint64{0, size - 0x1000}, []memslot{{0x1000, size - 0x2000, false}}},
	} {
		pages := map[uint64]pageMode{}
		for _, p := range c.pages {
			pages[p] = pageReadOnly
		}
		for _, p := range c.holes {
			pages[p] = pageHole
		}
		if got := layout(size, pages); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: layout %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestSlotChanges(t *testing.T) {
	const size = 1 << 20
	applied := map[uint32]memslot{0: {0, size, false}}
	apply := func(pages ...uint64) (int, int) {
		m := map[uint64]pageMode{}
		for _, p := range pages {
			m[p] = pageReadOnly
		}
		want := layout(size, m)
		del, add := slotChanges(applied, want)
		for _, id := range del {
			delete(applied, id)
		}
		for id, s := range add {
			if _, dup := applied[id]; dup {
				t.Fatalf("slot id %d reused while in use", id)
			}
			applied[id] = s
		}
		var got []memslot
		for _, s := range applied {
			got = append(got, s)
		}
		if len(got) != len(want) {
			t.Fatalf("after the changes %d slots, want %d", len(got), len(want))
		}
		return len(del), len(add)
	}
	if d, a := apply(0x5000); d != 1 || a != 3 {
		t.Errorf("watch one page: %d deletions, %d creations; want 1, 3", d, a)
	}
	if d, a := apply(0x5000); d != 0 || a != 0 {
		t.Errorf("same pages again: %d deletions, %d creations; want none", d, a)
	}
	if d, a := apply(0x5000, 0x80000); d != 1 || a != 3 {
		t.Errorf("second page above: %d deletions, %d creations; want 1, 3 (the slots below kept)", d, a)
	}
	if d, a := apply(); d != 5 || a != 1 {
		t.Errorf("all removed: %d deletions, %d creations; want 5, 1", d, a)
	}
}

func TestWatchSetWrite(t *testing.T) {
	mem := make([]byte, 1<<20)
	run := make([]byte, kvm.RunMinSize)
	w := newWatchSet()
	w.add(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x5ffe, Len: 4}) // crosses into the next page
	w.add(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x9000, Len: 1})
	if err := w.translate(mmu{}, mem); err != nil { // paging off: identity
		t.Fatal(err)
	}
	if len(w.pages) != 3 || !w.covers(0x5000) || !w.covers(0x6fff) || !w.covers(0x9abc) || w.covers(0x7000) || w.pages[0x5000] != pageReadOnly {
		t.Fatalf("pages %v", w.pages)
	}
	wr := func(addr uint64, data ...byte) *guest.Breakpoint {
		e := kvm.MMIOExit{Addr: addr, Len: len(data), IsWrite: true}
		copy(e.Data[:], data)
		hit, err := w.access(e, run, mem)
		if err != nil {
			t.Fatal(err)
		}
		if string(mem[addr:addr+uint64(len(data))]) != string(data) {
			t.Fatalf("write at %#x not applied", addr)
		}
		return hit
	}
	if hit := wr(0x5ff0, 1, 2, 3, 4, 5, 6, 7, 8); hit != nil {
		t.Errorf("write beside the watched bytes reported %+v", hit)
	}
	if hit := wr(0x5ffa, 1, 2, 3, 4, 5, 6, 7, 8); hit == nil || hit.Addr != 0x5ffe {
		t.Errorf("overlapping write: %+v", hit)
	}
	if hit := wr(0x6001, 9); hit == nil || hit.Addr != 0x5ffe {
		t.Errorf("write to the watch's part in the second page: %+v", hit)
	}
	if hit := wr(0x6002, 9); hit != nil {
		t.Errorf("write just after the watch: %+v", hit)
	}
	if hit := wr(0x9000, 9); hit == nil || hit.Addr != 0x9000 {
		t.Errorf("second watchpoint: %+v", hit)
	}
	mem[0x9100] = 0x77
	if hit, err := w.access(kvm.MMIOExit{Addr: 0x9100, Len: 1}, run, mem); hit != nil || err != nil || run[mmioDataStart] != 0x77 {
		t.Errorf("read: %v %v, data %#x", hit, err, run[mmioDataStart])
	}
	if _, err := w.access(kvm.MMIOExit{Addr: uint64(len(mem)) - 2, Len: 4, IsWrite: true}, run, mem); err == nil {
		t.Error("a write past guest RAM was accepted")
	}
	if !w.remove(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x5ffe, Len: 4}) || w.remove(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x5ffe, Len: 4}) {
		t.Error("remove")
	}
}

// TestWatchSetReadAccess: read and access watchpoints make their page a
// hole; reads are answered from memory and fire read and access watches,
// writes fire access (and write) watches only.
func TestWatchSetReadAccess(t *testing.T) {
	mem := make([]byte, 1<<20)
	run := make([]byte, kvm.RunMinSize)
	w := newWatchSet()
	w.add(guest.Breakpoint{Kind: guest.WatchRead, Addr: 0x5000, Len: 4})
	w.add(guest.Breakpoint{Kind: guest.WatchAccess, Addr: 0x5010, Len: 4})
	w.add(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x5020, Len: 4})
	w.add(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x8000, Len: 4})
	if err := w.translate(mmu{}, mem); err != nil {
		t.Fatal(err)
	}
	if w.pages[0x5000] != pageHole || w.pages[0x8000] != pageReadOnly {
		t.Fatalf("pages %v: want 0x5000 a hole, 0x8000 read-only", w.pages)
	}
	mem[0x5000], mem[0x5011] = 0x11, 0x22
	rd := func(addr uint64) (*guest.Breakpoint, byte) {
		hit, err := w.access(kvm.MMIOExit{Addr: addr, Len: 1}, run, mem)
		if err != nil {
			t.Fatal(err)
		}
		return hit, run[mmioDataStart]
	}
	wr := func(addr uint64) *guest.Breakpoint {
		e := kvm.MMIOExit{Addr: addr, Len: 2, IsWrite: true}
		e.Data[0], e.Data[1] = 0xaa, 0xbb
		hit, err := w.access(e, run, mem)
		if err != nil {
			t.Fatal(err)
		}
		return hit
	}
	if hit, b := rd(0x5000); hit == nil || hit.Kind != guest.WatchRead || b != 0x11 {
		t.Errorf("read of the read watch: %+v, data %#x", hit, b)
	}
	if hit := wr(0x5000); hit != nil || mem[0x5001] != 0xbb {
		t.Errorf("write to the read watch: %+v (must not fire), mem %#x", hit, mem[0x5001])
	}
	if hit, b := rd(0x5011); hit == nil || hit.Kind != guest.WatchAccess || b != 0x22 {
		t.Errorf("read of the access watch: %+v, data %#x", hit, b)
	}
	if hit := wr(0x5012); hit == nil || hit.Kind != guest.WatchAccess {
		t.Errorf("write to the access watch: %+v", hit)
	}
	if hit, _ := rd(0x5020); hit != nil {
		t.Errorf("read of the write watch fired: %+v", hit)
	}
	if hit := wr(0x5021); hit == nil || hit.Kind != guest.WatchWrite {
		t.Errorf("write to the write watch: %+v", hit)
	}
	if hit, _ := rd(0x5100); hit != nil {
		t.Errorf("read elsewhere in the hole fired: %+v", hit)
	}
}

// TestWatchTranslate2MiB: a watch is translated through 4-level paging with
// a 2 MiB page (as ukw's and the gdb test guest's page tables map RAM).
func TestWatchTranslate2MiB(t *testing.T) {
	mem := make([]byte, 8<<20)
	le := binary.LittleEndian
	const pml4, pdpt, pd = 0x1000, 0x2000, 0x3000
	le.PutUint64(mem[pml4:], pdpt|3)
	le.PutUint64(mem[pdpt:], pd|3)
	le.PutUint64(mem[pd+8*1:], 0x600000|0x83) // virtual 2 MiB -> physical 6 MiB
	w := newWatchSet()
	w.add(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x201ffc, Len: 8})
	tr := mmu{cr0: cr0PG | 1, cr3: pml4, cr4: cr4PAE, efer: eferLMA}
	if err := w.translate(tr, mem); err != nil {
		t.Fatal(err)
	}
	if !w.covers(0x601000) || !w.covers(0x602000) || len(w.pages) != 2 {
		t.Fatalf("pages %v, want 0x601000 and 0x602000", w.pages)
	}
	w.add(guest.Breakpoint{Kind: guest.WatchWrite, Addr: 0x400000, Len: 4}) // not mapped
	if err := w.translate(tr, mem); err == nil {
		t.Fatal("an unmapped watch translated")
	}
	if len(w.pages) != 2 {
		t.Fatalf("pages %v", w.pages)
	}
}

// TestWatchpointWrites runs guest64's watch loop (five `incl counter`
// with the code, the counter and the stack in neighbouring pages) under
// a write watchpoint: every write stops with rip after the incl and the
// new value in memory; a watch on the bytes after counter (same page)
// never fires though the page takes every write; read and access kinds
// are refused there (the page holds code); clearing restores the single
// memslot.
func TestWatchpointWrites(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	counter, after := symbol(t, img, "counter"), symbol(t, img, "watch_loop_end")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "w"})
	if c := m.Caps(); c.WatchStrategy != stratROSlot {
		t.Skipf("this KVM watches with %q, not read-only memslots", c.WatchStrategy)
	}
	// counter shares its page with code (guest64 is one RWX segment): a
	// read watchpoint would take the code out of guest RAM, so it is refused
	for _, k := range []guest.BreakKind{guest.WatchRead, guest.WatchAccess} {
		err := m.SetBreakpoint(guest.Breakpoint{Kind: k, Addr: counter, Len: 4})
		if err == nil || errors.Is(err, guest.ErrUnsupported) || !strings.Contains(err.Error(), "code") {
			t.Fatalf("%v on a code page: %v, want a refusal naming the code", k, err)
		}
	}
	beside := guest.Breakpoint{Kind: guest.WatchWrite, Addr: counter + 8, Len: 8}
	wp := guest.Breakpoint{Kind: guest.WatchWrite, Addr: counter, Len: 4}
	for _, bp := range []guest.Breakpoint{beside, wp} {
		if err := m.SetBreakpoint(bp); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		r := runToEnd(t, m, false)
		if len(r.stops) != 1 || r.stops[0].Reason != guest.StopWatchpoint || r.stops[0].Addr != counter || r.stops[0].Watch != guest.WatchWrite {
			t.Fatalf("write %d: %+v %+v %+v", i, r.stops, r.exit, r.fault)
		}
		if r.stops[0].PC != after {
			t.Fatalf("write %d: stopped at %#x, want %#x (after the incl)", i, r.stops[0].PC, after)
		}
		var b [8]byte
		if err := m.ReadMemory(0, guest.Virtual, counter, b[:]); err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint64(b[:]); got != uint64(i) {
			t.Fatalf("write %d: counter %d", i, got)
		}
	}
	if err := m.ClearBreakpoint(wp); err != nil {
		t.Fatal(err)
	}
	r := runToEnd(t, m, false)
	wantExit(t, r, guest.ExitPort, 11)
	if r.console != "" {
		t.Logf("console %q", r.console)
	}
}

// TestWatchpointStep: single-stepping onto a watched write stops with the
// watchpoint after that instruction, and the next step executes the next
// instruction (no leftover single-step trap at the same rip).
func TestWatchpointStep(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	counter, loop, after := symbol(t, img, "counter"), symbol(t, img, "do_watch"), symbol(t, img, "watch_loop_end")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "w"})
	if c := m.Caps(); c.WatchStrategy != stratROSlot {
		t.Skipf("this KVM watches with %q, not read-only memslots", c.WatchStrategy)
	}
	hw := guest.Breakpoint{Kind: guest.BreakHardware, Addr: loop, Len: 1}
	m.SetBreakpoint(hw)
	runToEnd(t, m, false)
	m.ClearBreakpoint(hw)
	if err := m.SetBreakpoint(guest.Breakpoint{Kind: guest.WatchWrite, Addr: counter, Len: 4}); err != nil {
		t.Fatal(err)
	}
	var pcs []uint64
	var reasons []guest.StopReason
	for i := 0; i < 4; i++ { // mov $5,%ecx; incl (watch); loop; incl (watch)
		r := runToEnd(t, m, true)
		if len(r.stops) != 1 {
			t.Fatalf("step %d: %+v %+v", i, r.exit, r.fault)
		}
		pcs = append(pcs, r.stops[0].PC)
		reasons = append(reasons, r.stops[0].Reason)
	}
	t.Logf("steps: %#x %v", pcs, reasons)
	if reasons[1] != guest.StopWatchpoint || pcs[1] != after || reasons[2] != guest.StopStep || pcs[2] == after ||
		reasons[3] != guest.StopWatchpoint || pcs[3] != after {
		t.Fatalf("steps stopped at %#x for %v; want the watch at %#x, then a step away from it", pcs, reasons, after)
	}
}
