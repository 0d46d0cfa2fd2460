// Package qemu runs a guest under qemu-system-x86_64 and implements
// guest.Machine over QEMU's own GDB stub, with a gdbstub.Client.
//
// QEMU runs as
//
//	qemu-system-x86_64 -M microvm -accel kvm|tcg -m MEM -smp N -nodefaults
//	  -display none -monitor none -serial stdio
//	  -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot
//	  -kernel IMAGE [-append CMDLINE] [-initrd MODULES]
//	  -S -gdb tcp:127.0.0.1:PORT
//
// with no -cpu option (-cpu host and -cpu max abort on kvm-pvm,
// ../shared/MACHINE.md). The serial console (QEMU's stdout) becomes
// ConsoleEvents; the exit status becomes the final event: isa-debug-exit
// makes QEMU exit with (value << 1) | 1, reported as an ExitPort exit with
// status value. guest.Config.Timeout counts running time only and ends a
// guest with a FaultTimeout.
//
// Images: QEMU's multiboot loader takes ELF32 and the a.out kludge only, so
// for an ELF64 NAME.elf the sibling NAME.img of a ukw build is used, or an
// ELF32 copy with the same segments is written to a temporary directory.
//
// Entry: QEMU starts held (-S) in its firmware; New runs it to the kernel's
// entry point with a hardware breakpoint (software breakpoints set before
// the loader copies the kernel in are overwritten) and returns the machine
// stopped there, like the native VMM.
//
// Accelerator: Options.Accel, or automatically KVM when /dev/kvm works and
// is not kvm-pvm, TCG otherwise. Under kvm-pvm with -accel kvm, int3 and
// data watchpoints do not reach QEMU, so the client sends software
// breakpoints as hardware ones (4 slots) and refuses watchpoints, which
// lets gdb fall back to its software watchpoints (Caps says so).
package qemu
