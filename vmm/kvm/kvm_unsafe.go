package kvm

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlPtr issues ioctl(fd, req, p) with a pointer argument.
func ioctlPtr[T any](fd int, req uintptr, p *T) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(p)))
	if errno != 0 {
		return r, errno
	}
	return r, nil
}

// sliceAddr is the user-space address of mem's first byte (for
// kvm_userspace_memory_region.userspace_addr). mem must be mmap'd memory
// that the Go garbage collector does not move.
func sliceAddr(mem []byte) uint64 {
	if len(mem) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&mem[0])))
}

// storeImmediateExit sets kvm_run.immediate_exit atomically. The first
// four bytes of kvm_run are request_interrupt_window, immediate_exit and
// padding; this package never requests an interrupt window, so a 32-bit
// store of 0 or 0x100 writes exactly those two fields.
func storeImmediateExit(run []byte, on bool) {
	v := uint32(0)
	if on {
		v = 1 << (8 * RunImmediateExit)
	}
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&run[0])), v)
}

// syncedRegs copies struct kvm_sync_regs' regs and sregs out of the run
// page (RunSyncRegs; Regs and Sregs are layout-exact, see ioctl_test.go).
func syncedRegs(run []byte) (Regs, Sregs) {
	const n = int(unsafe.Sizeof(Regs{}) + unsafe.Sizeof(Sregs{}))
	b := run[RunSyncRegs : RunSyncRegs+n]
	r := *(*Regs)(unsafe.Pointer(&b[0]))
	s := *(*Sregs)(unsafe.Pointer(&b[unsafe.Sizeof(Regs{})]))
	return r, s
}
