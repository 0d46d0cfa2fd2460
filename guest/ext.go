package guest

import "time"

// Optional extensions a Machine may implement, in the manner of the Rust
// gdbstub crate's optional target extensions. Check with a type assertion.

// Rebooter restarts the guest from its image without a new Machine.
type Rebooter interface {
	Reboot() error
}

// VGAReader returns the VGA text screen (80x25 at 0xB8000) as text lines.
type VGAReader interface {
	VGAText() ([]string, error)
}

// ConsoleWriter feeds bytes to the guest's console input (COM1 receive).
type ConsoleWriter interface {
	WriteConsole(p []byte) (int, error)
}

// Mark is a named instant on a machine's timeline.
type Mark struct {
	Name string        // e.g. "open", "load", "vcpu ready", "first instruction", "first console byte", "exit"
	At   time.Duration // since the backend started creating the machine
}

// Timeliner reports how a machine's start-up went, for `ukw run --stats`.
type Timeliner interface {
	Timeline() []Mark
}

// Monitor runs a backend-specific monitor command (GDB's `monitor CMD`,
// RSP qRcmd) and returns its text output.
type Monitor interface {
	Monitor(cmd string) (string, error)
}

// PhysMemory is guest-physical memory that can be read and written while
// the vCPUs run. Nothing synchronises with the guest: callers that share
// data with it follow a protocol of their own (the trace ring's commit
// words, layers/README.md "Trace ring").
type PhysMemory interface {
	// ReadPhysical fills buf from guest-physical addr; *MemError outside RAM.
	ReadPhysical(addr uint64, buf []byte) error
	// WritePhysical writes data at guest-physical addr; *MemError outside RAM.
	WritePhysical(addr uint64, data []byte) error
}

// LiveMemory is implemented by backends whose guest RAM lives in their own
// process (the native VMM), so it can be accessed without a guest exit.
// LiveMemory returns an accessor valid until the machine is rebooted or
// closed; after that its methods return ErrFinished.
type LiveMemory interface {
	LiveMemory() (PhysMemory, error)
}
