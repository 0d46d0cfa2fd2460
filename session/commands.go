package session

import "time"

// Command is a request to the session loop. Send never blocks; the answer,
// if any, is one or more Events.
type Command interface{ isCommand() }

// Run control.
type (
	// Continue resumes the guest.
	Continue struct{}
	// Step runs to the next source line, entering calls.
	Step struct{}
	// Next runs to the next source line in this frame, stepping over calls.
	Next struct{}
	// Until is next that does not stop at lines before the current one in
	// this frame (a loop's jump back), as gdb's until without argument.
	Until struct{}
	// StepInstr executes one instruction.
	StepInstr struct{}
	// NextInstr executes one instruction, stepping over calls.
	NextInstr struct{}
	// Finish runs until the selected frame returns.
	Finish struct{}
	// Interrupt stops a running guest.
	Interrupt struct{}
)

// Breakpoints and watchpoints.
type (
	// Break sets a breakpoint at a symbolic location: "main", "hello.c:12",
	// "12" (a line of the current file) or "*0x100200".
	Break struct {
		Spec      string
		Temporary bool
		Hardware  bool
		Cond      string // break LOCATION if COND
	}
	// Delete removes breakpoint ID, or all when ID is 0.
	Delete struct{ ID int }
	// Enable enables (On) or disables breakpoint ID, or all when ID is 0.
	Enable struct {
		ID int
		On bool
	}
	// Condition makes breakpoint ID stop only where Expr is non-zero;
	// an empty Expr makes it unconditional again.
	Condition struct {
		ID   int
		Expr string
	}
	// Advance runs until Spec (a location as for Break) is reached or the
	// selected frame returns (gdb's advance and until LOCATION).
	Advance struct{ Spec string }
	// Thread prints the backtrace of a lib/sched-coop thread's context.
	Thread struct{ ID int }
	// Jump resumes at Spec's address (gdb's jump): rip changes, nothing
	// else does.
	Jump struct{ Spec string }
	// Watch sets a watchpoint on an lvalue expression ("counter", "*0x1000").
	Watch struct {
		Expr string
		Kind int // guest.WatchWrite, WatchRead or WatchAccess
	}
)

// Inspection.
type (
	// Print evaluates an expression in the selected frame; Format is
	// gdb's /FMT letter (x d u o t c a z) or 0 for the natural format.
	Print struct {
		Expr   string
		Format byte
	}
	// Whatis names an expression's type; with Expand (ptype) a struct or
	// union type is spelled out with its members.
	Whatis struct {
		Expr   string
		Expand bool
	}
	// SetVar assigns the value of Rhs to the lvalue Lhs (gdb's set var).
	SetVar struct{ Lhs, Rhs string }
	// Display evaluates Expr after every stop (gdb's display), with an
	// optional /FMT letter as for Print; Undisplay removes display ID
	// (0: all).
	Display struct {
		Expr   string
		Format byte
	}
	// Undisplay removes auto-display ID, or all when ID is 0.
	Undisplay struct{ ID int }
	// Examine dumps memory like gdb's x/COUNT FORMAT SIZE EXPR.
	Examine struct {
		Expr   string
		Count  int
		Format byte // 'x', 'd', 'u', 'c', 's', 'i' (instructions)
		Size   byte // 'b', 'h', 'w', 'g'
	}
	// SelectFrame makes frame Index the selected one (FrameEvent answers);
	// with Relative, Index counts from the selected frame (up: +1, down: -1).
	SelectFrame struct {
		Index    int
		Relative bool
	}
	// ReadMemory reads Len bytes at an address expression for the memory pane.
	ReadMemory struct {
		Expr string // "0x1000", "$rsp", "&counter", "main"
		Len  int
	}
	// LoadSource asks for a source file's text.
	LoadSource struct{ File string }
	// List resolves a gdb `list` argument to a source location and answers
	// with a LocationEvent: FILE, FILE:LINE, FUNCTION (where `break`
	// would stop), *ADDR, or "" for the selected frame's line.
	List struct{ Spec string }
	// Disassemble asks for Count instructions from Addr (0: the selected frame's PC).
	Disassemble struct {
		Addr  uint64
		Count int
	}
	// Info answers `info breakpoints|registers|frame|locals|args|layers|
	// line|display`; Arg narrows it (register names, a line's location).
	Info struct {
		What string
		Arg  string
	}
)

// The loop.
type (
	// Rebuild builds now and reloads on success.
	Rebuild struct{}
	// Start boots the current image again and stops at main (gdb's start:
	// a temporary breakpoint on main, then run).
	Start struct{}
	// Reboot boots the current image again.
	Reboot struct{}
	// ToggleLayer adds or removes a layer in ukw.yaml, then rebuilds.
	ToggleLayer struct{ Name string }
	// ListLayers asks for a LayersEvent.
	ListLayers struct{}
	// Quit ends the session.
	Quit struct{}
)

// Tracing and profiling.
type (
	// Profile samples the running guest's stack Hz times a second (default
	// 250) for Duration (default 5 s), without stopping it, and reports
	// ProfileEvent snapshots. It needs a backend that can sample a running
	// guest (the native VMM); the profile also ends when the guest does.
	Profile struct {
		Hz       int
		Duration time.Duration
	}
	// StopProfile ends a running profile early (its last snapshot follows).
	StopProfile struct{}
)

func (Continue) isCommand()    {}
func (Step) isCommand()        {}
func (Next) isCommand()        {}
func (Until) isCommand()       {}
func (StepInstr) isCommand()   {}
func (NextInstr) isCommand()   {}
func (Finish) isCommand()      {}
func (Interrupt) isCommand()   {}
func (Break) isCommand()       {}
func (Delete) isCommand()      {}
func (Watch) isCommand()       {}
func (Print) isCommand()       {}
func (Whatis) isCommand()      {}
func (SetVar) isCommand()      {}
func (Display) isCommand()     {}
func (Undisplay) isCommand()   {}
func (Enable) isCommand()      {}
func (Condition) isCommand()   {}
func (Advance) isCommand()     {}
func (Jump) isCommand()        {}
func (Thread) isCommand()      {}
func (Examine) isCommand()     {}
func (SelectFrame) isCommand() {}
func (ReadMemory) isCommand()  {}
func (LoadSource) isCommand()  {}
func (List) isCommand()        {}
func (Disassemble) isCommand() {}
func (Info) isCommand()        {}
func (Rebuild) isCommand()     {}
func (Start) isCommand()       {}
func (Reboot) isCommand()      {}
func (ToggleLayer) isCommand() {}
func (ListLayers) isCommand()  {}
func (Quit) isCommand()        {}
func (Profile) isCommand()     {}
func (StopProfile) isCommand() {}
