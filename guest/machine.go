package guest

import "errors"

// Machine is one guest and the debugger's hold on it. Methods are safe to
// call from any goroutine; a backend serialises them onto its vCPU thread or
// its protocol connection.
//
// Register and memory access, and breakpoint changes, need a stopped machine
// on most backends; they return ErrRunning otherwise.
type Machine interface {
	// Caps reports what this backend can do, as probed when it was created.
	Caps() Caps
	// NumCPU reports the number of vCPUs (GDB threads 1..NumCPU).
	NumCPU() int
	// State reports whether the machine is stopped, running or finished.
	State() State

	// Subscribe returns a channel that receives every event published from
	// now on, and a function that ends the subscription. The channel is
	// closed when the machine is closed or the subscription cancelled.
	// A slow subscriber never blocks the guest.
	Subscribe() (<-chan Event, func())

	// Continue resumes every vCPU and returns once they run. The run ends
	// with one StopEvent, ExitEvent or FaultEvent.
	Continue() error
	// Step executes one instruction on cpu (others stay stopped). It
	// returns once the step is under way; completion is a StopEvent with
	// StopStep (or an ExitEvent/FaultEvent if that instruction ended the guest).
	Step(cpu int) error
	// Interrupt asks a running machine to stop; the run ends with a
	// StopEvent with StopInterrupt. On a stopped machine it does nothing.
	Interrupt() error

	// Regs returns the registers of cpu.
	Regs(cpu int) (Regs, error)
	// SetRegs writes the registers of cpu. Control and debug registers may
	// be ignored by backends that cannot write them.
	SetRegs(cpu int, r *Regs) error

	// ReadMemory fills buf from guest memory at addr. Virtual addresses are
	// translated through cpu's page tables. A partial read returns a
	// *MemError naming the first address that failed.
	ReadMemory(cpu int, space AddrSpace, addr uint64, buf []byte) error
	// WriteMemory writes data to guest memory at addr.
	WriteMemory(cpu int, space AddrSpace, addr uint64, data []byte) error

	// SetBreakpoint inserts a breakpoint or watchpoint. It returns
	// ErrUnsupported when the kind cannot be done at all here (a debugger
	// then falls back, e.g. to software watchpoints) and ErrNoSlots when the
	// hardware slots are used up.
	SetBreakpoint(bp Breakpoint) error
	// ClearBreakpoint removes a breakpoint set with the same kind, address and length.
	ClearBreakpoint(bp Breakpoint) error

	// Kill ends the guest. Subscribers see an ExitEvent with ExitKilled.
	Kill() error
	// Close releases everything the backend holds. A machine ukw booted is
	// killed; a machine ukw attached to is detached and keeps running.
	// Close is idempotent.
	Close() error
}

// State is the coarse state of a Machine.
type State int

// Machine states.
const (
	Stopped  State = iota // stopped at a Stop; registers and memory are accessible
	Running               // at least one vCPU runs guest code
	Finished              // the guest exited or faulted; only Close remains useful
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Running:
		return "running"
	case Finished:
		return "finished"
	}
	return "unknown"
}

// AddrSpace selects how ReadMemory and WriteMemory interpret an address.
type AddrSpace int

// Address spaces.
const (
	Virtual  AddrSpace = iota // translated through the vCPU's paging (identity when paging is off)
	Physical                  // guest-physical
)

// BreakKind is the kind of a breakpoint. The values are the GDB RSP Z packet
// types (GDB manual, E.2 "Packets", ‘Z type,addr,kind’).
type BreakKind int

// Breakpoint kinds.
const (
	BreakSoftware BreakKind = 0 // Z0: execution, by whatever software strategy the backend has
	BreakHardware BreakKind = 1 // Z1: execution, in a debug-register slot
	WatchWrite    BreakKind = 2 // Z2: data written
	WatchRead     BreakKind = 3 // Z3: data read
	WatchAccess   BreakKind = 4 // Z4: data read or written
)

func (k BreakKind) String() string {
	switch k {
	case BreakSoftware:
		return "breakpoint"
	case BreakHardware:
		return "hw-breakpoint"
	case WatchWrite:
		return "watch"
	case WatchRead:
		return "rwatch"
	case WatchAccess:
		return "awatch"
	}
	return "unknown"
}

// IsWatch reports whether k is a data watchpoint kind.
func (k BreakKind) IsWatch() bool { return k >= WatchWrite && k <= WatchAccess }

// Breakpoint is one breakpoint or watchpoint request.
type Breakpoint struct {
	Kind BreakKind
	Addr uint64
	// Len is the watched length in bytes for watchpoints (1, 2, 4 or 8) and
	// the instruction length hint (GDB's "kind", 1 on x86) for breakpoints.
	Len int
}

// Errors a Machine returns; backends wrap them with detail.
var (
	ErrUnsupported = errors.New("not supported by this backend")
	ErrNoSlots     = errors.New("no free hardware debug slot")
	ErrRunning     = errors.New("machine is running")
	ErrNotRunning  = errors.New("machine is not running")
	ErrFinished    = errors.New("machine has finished")
	ErrBadCPU      = errors.New("no such vCPU")
)

// MemError reports a guest memory access that could not be completed.
type MemError struct {
	Addr  uint64 // first address that failed
	Space AddrSpace
	Why   string // e.g. "not mapped", "outside guest RAM"
}

func (e *MemError) Error() string {
	sp := "virtual"
	if e.Space == Physical {
		sp = "physical"
	}
	return "cannot access " + sp + " memory at " + hex64(e.Addr) + ": " + e.Why
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0x0"
	}
	var b [18]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	i--
	b[i] = 'x'
	i--
	b[i] = '0'
	return string(b[i:])
}
