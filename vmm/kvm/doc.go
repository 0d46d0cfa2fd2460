// Package kvm is a thin, typed layer over the Linux KVM API (/dev/kvm) for
// x86-64, written against Documentation/virt/kvm/api.rst and
// include/uapi/linux/kvm.h (plus arch/x86/include/uapi/asm/kvm.h) without cgo.
//
// Three handles mirror the API's three file descriptors: System (/dev/kvm),
// VM (KVM_CREATE_VM) and VCPU (KVM_CREATE_VCPU, with its mmap'd struct
// kvm_run). Constants carry the kernel's names; structs are layout-exact
// copies of the kernel's (a test recomputes every ioctl number from its
// struct's size and cross-checks them against the system's kvm.h with gcc).
// Only the *_unsafe.go files use package unsafe.
//
// The exit union of struct kvm_run is decoded into an Exit value by
// DecodeExit, a pure function over the run page's bytes, so exit handling
// above this package can be tested with synthetic exits.
package kvm
