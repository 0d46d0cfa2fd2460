// Package vmm is ukw's native virtual machine monitor on /dev/kvm, without
// cgo: a loader (Multiboot 1 ELF32/ELF64/a.out kludge, PVH, ukw's 64-bit
// entry note, plain ELF64), the devices a unikernel needs (COM1 16550,
// exit ports, ACPI power-off, keyboard-controller reset, PCI config with
// no devices, CMOS clock, the ukw hypercall port of layers/README.md, the
// in-kernel irqchip and PIT for other kernels, its own 8254 model for ukw
// images, which get no irqchip) and a vCPU loop that implements
// guest.Machine.
//
// The vCPU runs on its own locked OS thread and owns every KVM handle;
// the Machine's methods send it requests, and it reports through events
// (an embedded guest.Broadcaster). Exit handling (devices.handle) is a
// pure function of the decoded exit, the device state, guest RAM and the
// clock.
// A running vCPU is kicked out of KVM_RUN by immediate_exit plus SIGUSR2
// to its thread.
//
// A throwaway probe VM, run on first use of the debug features, picks the
// breakpoint and watchpoint strategies: see docs/vmm.md. Where KVM reports
// no data breakpoints (kvm-pvm), write watchpoints are read-only memslots
// over the watched pages (watch.go).
package vmm
