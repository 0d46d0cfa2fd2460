package vmm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentBytes reports how much of mem (a page-aligned mapping) is
// resident, by mincore(2): guest RAM is mapped lazily, so this is the
// guest memory actually touched.
func residentBytes(mem []byte) (uint64, error) {
	if len(mem) == 0 {
		return 0, nil
	}
	page := unix.Getpagesize()
	vec := make([]byte, (len(mem)+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return 0, errno
	}
	var n uint64
	for _, v := range vec {
		n += uint64(v & 1)
	}
	return n * uint64(page), nil
}
