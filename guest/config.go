package guest

import "time"

// Config describes a guest to boot. Backends ignore what does not apply to them.
type Config struct {
	// Image is the bootable kernel: multiboot (ELF32, ELF64, a.out kludge),
	// PVH, or an ELF64 entered in long mode.
	Image string
	// ELF is the debug ELF with symbols and DWARF; empty means Image.
	ELF string
	// MemoryMiB is the guest RAM size; 0 means the backend's default.
	MemoryMiB int
	// Cmdline is the kernel command line (multiboot cmdline, PVH cmdline)
	// as GRUB passes it: its first word is the kernel's name (argv[0] of a
	// ukw app), the rest its arguments. Backends whose loader puts the
	// kernel path there itself pass only ArgsAfterName.
	Cmdline string
	// Modules are extra multiboot modules.
	Modules []Module
	// CPUs is the number of vCPUs; 0 means 1.
	CPUs int
	// Timeout ends a guest that runs longer (wall time, excluding time
	// stopped at a breakpoint) with a FaultTimeout; 0 means no limit.
	Timeout time.Duration
	// StrictIO turns an access to an unknown port or MMIO address into a
	// FaultIO instead of a logged, ignored access.
	StrictIO bool
}

// Module is a multiboot module: a file loaded into guest memory with its own command line.
type Module struct {
	Path    string
	Cmdline string
}

// ArgsAfterName returns Cmdline without its first word. A multiboot
// command line starts with the kernel's name (argv[0]); loaders that put
// the kernel's path there themselves (QEMU's -kernel/-append, libvirt's
// direct kernel boot) take only the rest, so argv[1..] stay the same on
// every backend.
func (c Config) ArgsAfterName() string {
	for i, r := range c.Cmdline {
		if r == ' ' || r == '\t' {
			rest := c.Cmdline[i+1:]
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				rest = rest[1:]
			}
			return rest
		}
	}
	return ""
}
