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
