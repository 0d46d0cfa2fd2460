package vmm

import (
	"ukw/guest"
	"ukw/vmm/kvm"
)

// Access to a running guest without a stop, for the trace reader and the
// sampling profiler (package trace, docs/trace.md).

// LiveMemory returns guest-physical memory that can be read and written
// while the vCPU runs (guest.LiveMemory): guest RAM is a mapping in this
// process, so no guest exit is needed. The accessor is bound to the
// current boot; after Reboot or Close it returns guest.ErrFinished.
// Reads see int3 bytes the VMM planted; ring data is never code.
func (m *Machine) LiveMemory() (guest.PhysMemory, error) {
	l := &liveMem{m: m}
	err := m.onThread(func() error {
		if m.v == nil || m.v.mem == nil {
			return guest.ErrFinished
		}
		l.mem, l.cpu = m.v.mem, m.v.cpu
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

type liveMem struct {
	m   *Machine
	mem []byte    // valid while m.kickCPU == cpu: teardown clears kickCPU under kickMu before munmap
	cpu *kvm.VCPU // the boot the mapping belongs to
}

func (l *liveMem) ReadPhysical(addr uint64, buf []byte) error   { return l.access(addr, buf, false) }
func (l *liveMem) WritePhysical(addr uint64, data []byte) error { return l.access(addr, data, true) }

func (l *liveMem) access(addr uint64, b []byte, write bool) error {
	l.m.kickMu.Lock()
	defer l.m.kickMu.Unlock()
	if l.m.kickCPU != l.cpu {
		return guest.ErrFinished
	}
	if addr > uint64(len(l.mem)) || uint64(len(b)) > uint64(len(l.mem))-addr {
		return &guest.MemError{Addr: addr, Space: guest.Physical, Why: "outside guest RAM"}
	}
	if write {
		copy(l.mem[addr:], b)
	} else {
		copy(b, l.mem[addr:])
	}
	return nil
}

// Sample runs fn on the vCPU thread between two KVM_RUNs, with the
// guest's registers and a reader of its virtual memory, then lets the
// guest go on; no stop is published. A running vCPU is kicked out of
// KVM_RUN for it. This is the sampling profiler's fast path: one kick
// instead of a stop, register and memory requests and a continue.
func (m *Machine) Sample(fn func(r *guest.Regs, read func(addr uint64, buf []byte) error)) error {
	return m.onThread(func() error {
		v := m.v
		if v == nil || v.mem == nil || m.State() == guest.Finished {
			return guest.ErrFinished
		}
		k, err := v.cpu.GetRegs()
		if err != nil {
			return err
		}
		tr, err := v.mmu()
		if err != nil {
			return err
		}
		r := regsFromKVM(&k)
		fn(&r, func(addr uint64, buf []byte) error {
			for done := 0; done < len(buf); {
				a := addr + uint64(done)
				n := min(4096-int(a&4095), len(buf)-done)
				pa, err := tr.translate(v.mem, a)
				if err != nil {
					return &guest.MemError{Addr: a, Space: guest.Virtual, Why: err.Error()}
				}
				if pa >= uint64(len(v.mem)) || uint64(n) > uint64(len(v.mem))-pa {
					return &guest.MemError{Addr: a, Space: guest.Virtual, Why: "outside guest RAM"}
				}
				copy(buf[done:done+n], v.mem[pa:])
				done += n
			}
			return nil
		})
		return nil
	})
}

// onThread runs fn on the vCPU thread whether the guest runs or not: a
// running vCPU is kicked out of KVM_RUN once and takes the request between
// two KVM_RUNs (send, serveRequests).
func (m *Machine) onThread(fn func() error) error { return m.call(false, fn) }
