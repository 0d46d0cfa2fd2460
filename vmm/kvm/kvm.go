package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrInterrupted is returned by VCPU.Run when KVM_RUN returned EINTR: a
// signal arrived or immediate_exit was set (api.rst, 4.10 KVM_RUN).
var ErrInterrupted = errors.New("KVM_RUN interrupted")

func ioctlInt(fd int, req, arg uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
	if errno != 0 {
		return int(r), errno
	}
	return int(r), nil
}

// System is an open /dev/kvm.
type System struct {
	fd int
}

// Open opens the KVM device (normally "/dev/kvm") and checks its API version.
func Open(path string) (*System, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	s := &System{fd: fd}
	v, err := ioctlInt(fd, KVM_GET_API_VERSION, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("KVM_GET_API_VERSION: %w", err)
	}
	if v != KVM_API_VERSION {
		s.Close()
		return nil, fmt.Errorf("%s speaks KVM API %d, want %d", path, v, KVM_API_VERSION)
	}
	return s, nil
}

// Close closes /dev/kvm. VMs created from it stay valid.
func (s *System) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// CheckExtension is KVM_CHECK_EXTENSION on /dev/kvm: 0 when cap is missing.
func (s *System) CheckExtension(cap int) int {
	r, err := ioctlInt(s.fd, KVM_CHECK_EXTENSION, uintptr(cap))
	if err != nil {
		return 0
	}
	return r
}

// VCPUMmapSize is KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's kvm_run mapping.
func (s *System) VCPUMmapSize() (int, error) {
	r, err := ioctlInt(s.fd, KVM_GET_VCPU_MMAP_SIZE, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	return r, nil
}

// SupportedCPUID is KVM_GET_SUPPORTED_CPUID.
func (s *System) SupportedCPUID() (*CPUID2, error) {
	c := &CPUID2{}
	c.Nent = MaxCPUIDEntries
	if _, err := ioctlPtr(s.fd, KVM_GET_SUPPORTED_CPUID, c); err != nil {
		return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
	}
	return c, nil
}

// CreateVM is KVM_CREATE_VM (machine type 0).
func (s *System) CreateVM() (*VM, error) {
	fd, err := ioctlInt(s.fd, KVM_CREATE_VM, 0)
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	unix.CloseOnExec(fd)
	size, err := s.VCPUMmapSize()
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &VM{fd: fd, runSize: size}, nil
}

// VM is a KVM virtual machine file descriptor.
type VM struct {
	fd      int
	runSize int
}

// Close closes the VM. Its vCPUs must be closed first.
func (v *VM) Close() error {
	if v.fd < 0 {
		return nil
	}
	err := unix.Close(v.fd)
	v.fd = -1
	return err
}

// CheckExtension is KVM_CHECK_EXTENSION on the VM (api.rst 4.4).
func (v *VM) CheckExtension(cap int) int {
	r, err := ioctlInt(v.fd, KVM_CHECK_EXTENSION, uintptr(cap))
	if err != nil {
		return 0
	}
	return r
}

// SetUserMemoryRegion is KVM_SET_USER_MEMORY_REGION: mem (mmap'd, never
// moved) becomes guest-physical [gpa, gpa+len(mem)) in slot.
func (v *VM) SetUserMemoryRegion(slot, flags uint32, gpa uint64, mem []byte) error {
	r := UserspaceMemoryRegion{Slot: slot, Flags: flags, GuestPhysAddr: gpa,
		MemorySize: uint64(len(mem)), UserspaceAddr: sliceAddr(mem)}
	if _, err := ioctlPtr(v.fd, KVM_SET_USER_MEMORY_REGION, &r); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION: %w", err)
	}
	return nil
}

// DeleteUserMemoryRegion removes slot (KVM_SET_USER_MEMORY_REGION with
// memory_size 0, api.rst 4.35). A slot's size and its KVM_MEM_READONLY flag
// cannot change in place: a slot is deleted and created anew instead.
func (v *VM) DeleteUserMemoryRegion(slot uint32) error {
	r := UserspaceMemoryRegion{Slot: slot}
	if _, err := ioctlPtr(v.fd, KVM_SET_USER_MEMORY_REGION, &r); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION (delete slot %d): %w", slot, err)
	}
	return nil
}

// SetTSSAddr is KVM_SET_TSS_ADDR (three pages the guest must not use).
func (v *VM) SetTSSAddr(addr uint64) error {
	if _, err := ioctlInt(v.fd, KVM_SET_TSS_ADDR, uintptr(addr)); err != nil {
		return fmt.Errorf("KVM_SET_TSS_ADDR: %w", err)
	}
	return nil
}

// SetIdentityMapAddr is KVM_SET_IDENTITY_MAP_ADDR (one page; before any vCPU).
func (v *VM) SetIdentityMapAddr(addr uint64) error {
	if _, err := ioctlPtr(v.fd, KVM_SET_IDENTITY_MAP_ADDR, &addr); err != nil {
		return fmt.Errorf("KVM_SET_IDENTITY_MAP_ADDR: %w", err)
	}
	return nil
}

// CreateIRQChip is KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and local APICs.
func (v *VM) CreateIRQChip() error {
	if _, err := ioctlInt(v.fd, KVM_CREATE_IRQCHIP, 0); err != nil {
		return fmt.Errorf("KVM_CREATE_IRQCHIP: %w", err)
	}
	return nil
}

// CreatePIT2 is KVM_CREATE_PIT2: the in-kernel i8254 (ports 0x40-0x43, and
// 0x61 with KVM_PIT_SPEAKER_DUMMY).
func (v *VM) CreatePIT2(flags uint32) error {
	c := PITConfig{Flags: flags}
	if _, err := ioctlPtr(v.fd, KVM_CREATE_PIT2, &c); err != nil {
		return fmt.Errorf("KVM_CREATE_PIT2: %w", err)
	}
	return nil
}

// IRQLine is KVM_IRQ_LINE: set the level of an in-kernel irqchip input.
func (v *VM) IRQLine(irq uint32, level bool) error {
	l := IRQLevel{IRQ: irq}
	if level {
		l.Level = 1
	}
	if _, err := ioctlPtr(v.fd, KVM_IRQ_LINE, &l); err != nil {
		return fmt.Errorf("KVM_IRQ_LINE: %w", err)
	}
	return nil
}

// CreateVCPU is KVM_CREATE_VCPU, with its kvm_run page mapped.
func (v *VM) CreateVCPU(id int) (*VCPU, error) {
	fd, err := ioctlInt(v.fd, KVM_CREATE_VCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU: %w", err)
	}
	unix.CloseOnExec(fd)
	run, err := unix.Mmap(fd, 0, v.runSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap kvm_run: %w", err)
	}
	if len(run) < RunMinSize {
		unix.Munmap(run)
		unix.Close(fd)
		return nil, fmt.Errorf("kvm_run mapping is %d bytes, need %d", len(run), RunMinSize)
	}
	return &VCPU{fd: fd, run: run, ID: id}, nil
}

// VCPU is a virtual CPU file descriptor and its kvm_run page.
type VCPU struct {
	fd  int
	run []byte
	// ID is the vCPU's id (its APIC id).
	ID int
}

// Close unmaps kvm_run and closes the vCPU.
func (c *VCPU) Close() error {
	if c.fd < 0 {
		return nil
	}
	unix.Munmap(c.run)
	err := unix.Close(c.fd)
	c.fd = -1
	c.run = nil
	return err
}

// Run is KVM_RUN. It returns ErrInterrupted on EINTR (signal or immediate_exit).
func (c *VCPU) Run() error {
	_, err := ioctlInt(c.fd, KVM_RUN, 0)
	if err == unix.EINTR {
		return ErrInterrupted
	}
	if err != nil {
		return fmt.Errorf("KVM_RUN: %w", err)
	}
	return nil
}

// SyncRegs asks KVM to store the sets in mask (KVM_SYNC_X86_REGS,
// KVM_SYNC_X86_SREGS) into kvm_run at every return of KVM_RUN, so that
// they are read without an ioctl (api.rst, kvm_valid_regs; the system
// must have KVM_CAP_SYNC_REGS with those bits).
func (c *VCPU) SyncRegs(mask uint64) { binary.LittleEndian.PutUint64(c.run[RunValidRegs:], mask) }

// SyncedRegs returns the registers KVM stored at the last return of
// KVM_RUN (SyncRegs with KVM_SYNC_X86_REGS and KVM_SYNC_X86_SREGS). They
// do not reflect a SetRegs or SetSregs made since.
func (c *VCPU) SyncedRegs() (Regs, Sregs) { return syncedRegs(c.run) }

// RunPage is the mapped struct kvm_run (shared with the kernel).
func (c *VCPU) RunPage() []byte { return c.run }

// Exit decodes the exit KVM_RUN just reported.
func (c *VCPU) Exit() (Exit, error) { return DecodeExit(c.run) }

// SetImmediateExit sets kvm_run.immediate_exit: while on, KVM_RUN returns
// EINTR at once (KVM_CAP_IMMEDIATE_EXIT). Safe from any thread.
func (c *VCPU) SetImmediateExit(on bool) { storeImmediateExit(c.run, on) }

// GetRegs is KVM_GET_REGS.
func (c *VCPU) GetRegs() (Regs, error) {
	var r Regs
	_, err := ioctlPtr(c.fd, KVM_GET_REGS, &r)
	return r, wrap("KVM_GET_REGS", err)
}

// SetRegs is KVM_SET_REGS.
func (c *VCPU) SetRegs(r *Regs) error {
	_, err := ioctlPtr(c.fd, KVM_SET_REGS, r)
	return wrap("KVM_SET_REGS", err)
}

// GetSregs is KVM_GET_SREGS.
func (c *VCPU) GetSregs() (Sregs, error) {
	var s Sregs
	_, err := ioctlPtr(c.fd, KVM_GET_SREGS, &s)
	return s, wrap("KVM_GET_SREGS", err)
}

// SetSregs is KVM_SET_SREGS.
func (c *VCPU) SetSregs(s *Sregs) error {
	_, err := ioctlPtr(c.fd, KVM_SET_SREGS, s)
	return wrap("KVM_SET_SREGS", err)
}

// SetCPUID2 is KVM_SET_CPUID2.
func (c *VCPU) SetCPUID2(cpuid *CPUID2) error {
	_, err := ioctlPtr(c.fd, KVM_SET_CPUID2, cpuid)
	return wrap("KVM_SET_CPUID2", err)
}

// GetMSRs is KVM_GET_MSRS for the given indices (at most MaxMSRs).
func (c *VCPU) GetMSRs(indices ...uint32) ([]MSREntry, error) {
	if len(indices) > MaxMSRs {
		return nil, fmt.Errorf("KVM_GET_MSRS: %d MSRs, at most %d", len(indices), MaxMSRs)
	}
	m := &MSRs{}
	m.NMSRs = uint32(len(indices))
	for i, idx := range indices {
		m.Entries[i].Index = idx
	}
	n, err := ioctlPtr(c.fd, KVM_GET_MSRS, m)
	if err != nil {
		return nil, wrap("KVM_GET_MSRS", err)
	}
	return append([]MSREntry(nil), m.Entries[:n]...), nil
}

// SetMSRs is KVM_SET_MSRS.
func (c *VCPU) SetMSRs(entries ...MSREntry) error {
	if len(entries) > MaxMSRs {
		return fmt.Errorf("KVM_SET_MSRS: %d MSRs, at most %d", len(entries), MaxMSRs)
	}
	m := &MSRs{}
	m.NMSRs = uint32(len(entries))
	copy(m.Entries[:], entries)
	n, err := ioctlPtr(c.fd, KVM_SET_MSRS, m)
	if err != nil {
		return wrap("KVM_SET_MSRS", err)
	}
	if int(n) != len(entries) {
		return fmt.Errorf("KVM_SET_MSRS: set %d of %d (MSR %#x refused)", n, len(entries), entries[n].Index)
	}
	return nil
}

// SetGuestDebug is KVM_SET_GUEST_DEBUG.
func (c *VCPU) SetGuestDebug(d *GuestDebug) error {
	_, err := ioctlPtr(c.fd, KVM_SET_GUEST_DEBUG, d)
	return wrap("KVM_SET_GUEST_DEBUG", err)
}

// GetDebugRegs is KVM_GET_DEBUGREGS.
func (c *VCPU) GetDebugRegs() (DebugRegs, error) {
	var d DebugRegs
	_, err := ioctlPtr(c.fd, KVM_GET_DEBUGREGS, &d)
	return d, wrap("KVM_GET_DEBUGREGS", err)
}

// SetDebugRegs is KVM_SET_DEBUGREGS.
func (c *VCPU) SetDebugRegs(d *DebugRegs) error {
	_, err := ioctlPtr(c.fd, KVM_SET_DEBUGREGS, d)
	return wrap("KVM_SET_DEBUGREGS", err)
}

// Translate is KVM_TRANSLATE: guest-virtual to guest-physical.
func (c *VCPU) Translate(addr uint64) (Translation, error) {
	t := Translation{LinearAddress: addr}
	_, err := ioctlPtr(c.fd, KVM_TRANSLATE, &t)
	return t, wrap("KVM_TRANSLATE", err)
}

// GetMPState is KVM_GET_MP_STATE (KVM_MP_STATE_*).
func (c *VCPU) GetMPState() (uint32, error) {
	var s MPState
	_, err := ioctlPtr(c.fd, KVM_GET_MP_STATE, &s)
	return s.State, wrap("KVM_GET_MP_STATE", err)
}

// GetVCPUEvents is KVM_GET_VCPU_EVENTS.
func (c *VCPU) GetVCPUEvents() (VCPUEvents, error) {
	var e VCPUEvents
	_, err := ioctlPtr(c.fd, KVM_GET_VCPU_EVENTS, &e)
	return e, wrap("KVM_GET_VCPU_EVENTS", err)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
