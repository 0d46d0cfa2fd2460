package vmm

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// TestSyncedRegsMatchIoctls steps a guest with and without the in-kernel
// irqchip and checks, at every stop, that the registers KVM synced into
// kvm_run, the stop's registers and the stopped view all equal what
// KVM_GET_REGS/KVM_GET_SREGS/KVM_GET_DEBUGREGS say.
func TestSyncedRegsMatchIoctls(t *testing.T) {
	for _, c := range []struct {
		name string
		defs []string
	}{{"ukw-note", nil}, {"irqchip", []string{"PLAIN"}}} {
		t.Run(c.name, func(t *testing.T) {
			img := buildGuest(t, "guest64.S", "elf64", c.defs...)
			m := newMachine(t, guest.Config{Image: img, Cmdline: "s-"})
			var synced bool
			m.call(false, func() error { synced = m.v.syncRegs; return nil })
			t.Logf("KVM_CAP_SYNC_REGS used: %v, irqchip: %v", synced, m.v.irqchip)
			for i := 0; i < 150; i++ {
				r := runToEnd(t, m, true)
				if r.exit != nil {
					break
				}
				if len(r.stops) != 1 {
					t.Fatalf("step %d: %+v %+v", i, r.stops, r.fault)
				}
				var want guest.Regs
				var syncK kvm.Regs
				var syncS kvm.Sregs
				var wasSynced bool
				err := m.call(true, func() error {
					k, err := m.v.cpu.GetRegs()
					if err != nil {
						return err
					}
					s, err := m.v.cpu.GetSregs()
					if err != nil {
						return err
					}
					d, err := m.v.cpu.GetDebugRegs()
					if err != nil {
						return err
					}
					want = fullRegs(&k, &s, &d)
					if wasSynced = m.v.synced; wasSynced {
						syncK, syncS = m.v.cpu.SyncedRegs()
						if syncK != k || syncS != s {
							t.Errorf("step %d: kvm_run holds\n%+v\n%+v\nioctls say\n%+v\n%+v", i, syncK, syncS, k, s)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if synced && !wasSynced {
					t.Fatalf("step %d: the stop did not use the synced registers", i)
				}
				if r.stops[0].Regs != want {
					t.Fatalf("step %d: stop registers\n%+v\nKVM\n%+v", i, r.stops[0].Regs, want)
				}
				if got, err := m.Regs(0); err != nil || got != want {
					t.Fatalf("step %d: Regs %+v, %v; KVM %+v", i, got, err, want)
				}
			}
		})
	}
}

// TestStoppedViewWrites: what the stopped view serves follows every change
// made while stopped: memory writes (keeping a planted int3 planted and
// hidden), SetRegs, and breakpoints planted and lifted.
func TestStoppedViewWrites(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "s-"})
	leaf := symbol(t, img, "leaf")
	orig := make([]byte, 1)
	if err := m.ReadMemory(0, guest.Virtual, leaf, orig); err != nil {
		t.Fatal(err)
	}
	var phys uint64
	planted := func() byte {
		var b byte
		m.call(true, func() error { b = m.v.mem[phys]; return nil })
		return b
	}
	if err := m.call(true, func() error {
		return m.v.changing(func() error {
			if err := m.v.plant(leaf); err != nil {
				return err
			}
			phys = m.v.sw[leaf].phys
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if err := m.ReadMemory(0, guest.Virtual, leaf, b); err != nil || b[0] != orig[0] || planted() != int3 {
		t.Fatalf("read %#x (%v), want the original %#x; RAM holds %#x", b[0], err, orig[0], planted())
	}
	if err := m.WriteMemory(0, guest.Virtual, leaf, []byte{0x90}); err != nil {
		t.Fatal(err)
	}
	if err := m.ReadMemory(0, guest.Virtual, leaf, b); err != nil || b[0] != 0x90 || planted() != int3 {
		t.Fatalf("after a write: read %#x (%v), RAM %#x; want 0x90 read, int3 in RAM", b[0], err, planted())
	}
	if err := m.call(true, func() error {
		return m.v.changing(func() error { return m.v.clearBreakpoint(guest.Breakpoint{Kind: guest.BreakSoftware, Addr: leaf}) })
	}); err != nil {
		t.Fatal(err)
	}
	if planted() != 0x90 {
		t.Fatalf("lifting the int3 left %#x, want the written 0x90", planted())
	}
	r, err := m.Regs(0)
	if err != nil {
		t.Fatal(err)
	}
	r.RAX, r.R15 = 0x1234, 0x5678
	if err := m.SetRegs(0, &r); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Regs(0); err != nil || got.RAX != 0x1234 || got.R15 != 0x5678 {
		t.Fatalf("after SetRegs: %+v %v", got, err)
	}
	if _, err := m.Regs(0); err != nil {
		t.Fatal(err)
	}
	m.Kill()
	if err := m.ReadMemory(0, guest.Virtual, leaf, b); err != nil || b[0] != 0x90 {
		t.Fatalf("a killed guest's memory reads %#x, %v", b[0], err)
	}
}

// TestStoppedViewConcurrent reads registers and memory from other
// goroutines while the guest is stepped, continued and written to (run
// it with -race): every read either sees a stop's registers or is refused
// with ErrRunning, never something in between.
func TestStoppedViewConcurrent(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "s-"})
	counter := symbol(t, img, "counter")
	var mu sync.Mutex
	pcs := map[uint64]bool{}
	entry, _ := m.Regs(0)
	pcs[entry.RIP] = true
	var stop atomic.Bool
	var wg sync.WaitGroup
	seen := map[uint64]bool{}
	var reads atomic.Int64
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			local := map[uint64]bool{}
			for !stop.Load() {
				r, err := m.Regs(0)
				if err == nil {
					local[r.RIP] = true
				} else if !errors.Is(err, guest.ErrRunning) && !errors.Is(err, guest.ErrFinished) {
					t.Errorf("Regs: %v", err)
					return
				}
				if err := m.ReadMemory(0, guest.Virtual, r.RSP&^63, buf); err != nil && !errors.Is(err, guest.ErrRunning) && !errors.Is(err, guest.ErrFinished) {
					var me *guest.MemError
					if !errors.As(err, &me) {
						t.Errorf("ReadMemory: %v", err)
						return
					}
				}
				reads.Add(1)
			}
			mu.Lock()
			for pc := range local {
				seen[pc] = true
			}
			mu.Unlock()
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 100 && time.Now().Before(deadline); i++ {
		r := runToEnd(t, m, true)
		if r.exit != nil {
			break
		}
		mu.Lock()
		pcs[r.stops[0].PC] = true
		mu.Unlock()
		if i%20 == 0 {
			if err := m.WriteMemory(0, guest.Virtual, counter, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	for pc := range seen {
		if !pcs[pc] {
			t.Fatalf("a concurrent Regs saw rip %#x, which no stop reported", pc)
		}
	}
	t.Logf("%d concurrent reads, %d distinct rips among their registers", reads.Load(), len(seen))
}
