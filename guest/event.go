package guest

import (
	"fmt"
	"time"
)

// Event is one thing a Machine reports: ConsoleEvent, StopEvent, ExitEvent,
// FaultEvent, TraceEvent or LogEvent. Events are values; nothing in them is
// shared with the backend after publication.
type Event interface{ isEvent() }

// ConsoleEvent carries bytes the guest wrote to its console (COM1).
type ConsoleEvent struct {
	Data []byte
}

// StopEvent reports that the machine stopped and is under the debugger's control.
type StopEvent struct {
	Stop Stop
}

// ExitEvent reports that the guest ended on its own (or was killed). It is final.
type ExitEvent struct {
	Exit Exit
}

// FaultEvent reports that the guest crashed, hung or did something forbidden. It is final.
type FaultEvent struct {
	Fault Fault
}

// TraceEvent reports that the guest announced a trace ring in its memory.
type TraceEvent struct {
	Ring TraceRing
}

// LogEvent is a notable, non-fatal observation (first access to an unknown
// port, a hypercall with a bad argument that was refused, ...).
type LogEvent struct {
	Msg string
}

func (ConsoleEvent) isEvent() {}
func (StopEvent) isEvent()    {}
func (ExitEvent) isEvent()    {}
func (FaultEvent) isEvent()   {}
func (TraceEvent) isEvent()   {}
func (LogEvent) isEvent()     {}

// StopReason says why a machine stopped.
type StopReason int

// Stop reasons.
const (
	StopEntry        StopReason = iota // held at the first instruction, before it ran
	StopBreakpoint                     // a BreakSoftware breakpoint at PC
	StopHWBreakpoint                   // a BreakHardware breakpoint at PC
	StopWatchpoint                     // a watchpoint on Addr triggered (kind in Watch)
	StopStep                           // a Step completed
	StopInterrupt                      // Interrupt was called
	StopTrap                           // the guest executed a breakpoint instruction of its own
)

func (r StopReason) String() string {
	switch r {
	case StopEntry:
		return "entry"
	case StopBreakpoint:
		return "breakpoint"
	case StopHWBreakpoint:
		return "hw-breakpoint"
	case StopWatchpoint:
		return "watchpoint"
	case StopStep:
		return "step"
	case StopInterrupt:
		return "interrupt"
	case StopTrap:
		return "trap"
	}
	return "unknown"
}

// Stop describes where and why a machine stopped.
type Stop struct {
	CPU    int
	Reason StopReason
	PC     uint64
	// Addr is the data address for StopWatchpoint.
	Addr uint64
	// Watch is the watchpoint kind for StopWatchpoint.
	Watch BreakKind
	// Regs is a snapshot of the stopped vCPU's registers.
	Regs Regs
}

// ExitHow says how a guest ended.
type ExitHow int

// Ways a guest ends.
const (
	ExitPort     ExitHow = iota // wrote its status to an isa-debug-exit port (0xf4 or 0x501)
	ExitPowerOff                // ACPI PM1a_CNT sleep/power-off (port 0x604 ← 0x2000)
	ExitReset                   // keyboard-controller reset (port 0x64 ← 0xfe)
	ExitHalted                  // hlt with interrupts disabled: it can never wake up
	ExitKilled                  // Kill was called
	ExitOther                   // a foreign hypervisor reported an exit ukw cannot classify
)

func (h ExitHow) String() string {
	switch h {
	case ExitPort:
		return "exit port"
	case ExitPowerOff:
		return "power off"
	case ExitReset:
		return "reset"
	case ExitHalted:
		return "halted"
	case ExitKilled:
		return "killed"
	}
	return "other"
}

// Exit describes how a guest ended.
type Exit struct {
	How ExitHow
	// Status is the guest's exit status: the value written to the exit port
	// (ukw's convention; QEMU reports (status<<1)|1), 0 for power-off.
	Status int
	// Port is the I/O port the exit came through, if any.
	Port uint16
	// Elapsed is the guest's running time from first instruction to exit.
	Elapsed time.Duration
}

// FaultKind classifies a Fault.
type FaultKind int

// Fault kinds.
const (
	FaultException     FaultKind = iota // the guest's own handler reported a CPU exception (crash record)
	FaultTripleFault                    // the vCPU shut down (triple fault)
	FaultInternalError                  // the hypervisor could not continue (e.g. KVM_EXIT_INTERNAL_ERROR)
	FaultTimeout                        // the guest ran past Config.Timeout
	FaultIO                             // an access to an unknown port or MMIO address under StrictIO
	FaultHypercall                      // a hypercall the VMM could not accept (bad magic, address, size)
)

func (k FaultKind) String() string {
	switch k {
	case FaultException:
		return "exception"
	case FaultTripleFault:
		return "triple fault"
	case FaultInternalError:
		return "internal error"
	case FaultTimeout:
		return "timeout"
	case FaultIO:
		return "unknown I/O"
	case FaultHypercall:
		return "bad hypercall"
	}
	return "unknown"
}

// Fault describes a guest crash.
type Fault struct {
	Kind FaultKind
	CPU  int
	// Vector is the exception vector (0-31) for FaultException, -1 when none applies.
	Vector int
	// ErrorCode is the exception's error code (0 if the vector has none).
	ErrorCode uint64
	// Regs are the registers at the fault (for FaultException, as the guest
	// saved them; CR2 holds the faulting address of a #PF).
	Regs Regs
	// StackAddr and Stack are a raw copy of guest memory at the stack pointer.
	StackAddr uint64
	Stack     []byte
	// Detail explains what happened in one sentence.
	Detail string
}

// Summary is a one-line description, e.g. "#PF page fault (error 0x2) at rip 0x10203c".
func (f *Fault) Summary() string {
	switch f.Kind {
	case FaultException:
		s := VectorName(f.Vector)
		if HasErrorCode(f.Vector) {
			s += fmt.Sprintf(" (error %#x)", f.ErrorCode)
		}
		if f.Vector == 14 {
			s += fmt.Sprintf(" accessing %#x", f.Regs.CR2)
		}
		return s + fmt.Sprintf(" at rip %#x", f.Regs.RIP)
	default:
		s := f.Kind.String()
		if f.Detail != "" {
			s += ": " + f.Detail
		}
		return s
	}
}

// TraceRing is a trace ring the guest announced (layers/README.md, hypercall TRACE_RING).
type TraceRing struct {
	Addr  uint64 // guest-physical address of the ring header
	Size  uint64 // bytes, header included
	Flags uint64
}

var vectorNames = [...]string{
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack-segment fault", "#GP general protection",
	"#PF page fault", "reserved (15)", "#MF x87 floating-point", "#AC alignment check",
	"#MC machine check", "#XM SIMD floating-point", "#VE virtualization",
	"#CP control protection",
}

// VectorName names an x86 exception vector (Intel SDM Vol. 3A, 6.15
// "Exception and Interrupt Reference"), e.g. 14 → "#PF page fault".
func VectorName(v int) string {
	if v >= 0 && v < len(vectorNames) {
		return vectorNames[v]
	}
	if v >= 0 && v < 32 {
		return fmt.Sprintf("reserved (%d)", v)
	}
	return fmt.Sprintf("interrupt %d", v)
}

// HasErrorCode reports whether the CPU pushes an error code for vector v
// (Intel SDM Vol. 3A, Table 6-1).
func HasErrorCode(v int) bool {
	switch v {
	case 8, 10, 11, 12, 13, 14, 17, 21:
		return true
	}
	return false
}
