package session

import (
	"time"

	"ukw/guest"
)

// Event is one immutable snapshot from the session loop.
type Event interface{ isEvent() }

// State is the dev loop's coarse state, shown in the status line.
type State int

// Loop states.
const (
	StateIdle     State = iota // nothing built or booted yet
	StateBuilding              // first build (later builds keep the previous state and report BuildEvents)
	StateBooting               // a new guest is being created and prepared
	StateRunning               // the guest runs
	StateStopped               // the guest is stopped under the debugger
	StateExited                // the guest exited (see ExitEvent)
	StateFaulted               // the guest crashed (see FaultEvent)
	StateFailed                // nothing runs: the first build failed, or booting failed
)

func (s State) String() string {
	return [...]string{"idle", "building", "booting", "running", "stopped", "exited", "faulted", "failed"}[s]
}

// StateEvent reports a change of State.
type StateEvent struct {
	State  State
	Detail string // e.g. "breakpoint 1 at main (hello.c:12)", "exit status 0"
}

// BuildPhase is where a build is.
type BuildPhase int

// Build phases.
const (
	BuildStarted BuildPhase = iota
	BuildOK
	BuildFailed
)

// Diagnostic is one compiler message, located.
type Diagnostic struct {
	File     string // absolute path
	Line     int
	Col      int
	Severity string // "error", "warning", "note"
	Message  string
}

// BuildEvent reports a build starting or finishing.
type BuildEvent struct {
	Phase       BuildPhase
	Trigger     []string // changed files that caused it (empty for the first build or `rebuild`)
	Duration    time.Duration
	Compiled    int // objects compiled
	Cached      int // objects taken from the cache
	ImageBytes  int // loadable bytes of the image
	Diagnostics []Diagnostic
	Output      string // the compiler's raw output (tail), for what Diagnostics could not parse
	Error       string // why the build failed when it is not a compiler error (manifest, resolution)
}

// ConsoleEvent carries guest console output, batched.
type ConsoleEvent struct {
	Data []byte
}

// Frame is one symbolized stack frame.
type Frame struct {
	Index    int
	PC       uint64
	CFA      uint64
	Function string // "" when unknown
	Offset   uint64 // PC - function start
	File     string // absolute path, "" when unknown
	Line     int
	Col      int
	Inlined  bool // an inlined call inside the next (outer) frame
}

// VarKind tells arguments from locals.
type VarKind int

// Variable kinds.
const (
	VarArg VarKind = iota
	VarLocal
	VarGlobal
)

// Var is a formatted variable, with children for structs and arrays.
type Var struct {
	Kind     VarKind
	Name     string
	Type     string
	Value    string // as gdb would print it; "<optimized out>" when so
	Addr     uint64 // 0 when not in memory
	Children []Var
}

// Snapshot is everything a front end shows about a stopped guest.
type Snapshot struct {
	Seq      int // increases with every stop of the session
	Reason   guest.StopReason
	Detail   string // e.g. "breakpoint 1, main () at hello.c:12"
	CPU      int
	PC       uint64
	Frames   []Frame
	Selected int // index into Frames
	Regs     guest.Regs
	// Changed lists the registers whose value differs from the previous stop.
	Changed []guest.Reg
	// Vars are the arguments and locals of the selected frame.
	Vars []Var
}

// StopEvent reports that the guest stopped.
type StopEvent struct {
	Snap Snapshot
}

// FrameEvent answers SelectFrame: the registers and variables of another frame.
type FrameEvent struct {
	Seq   int // the Snapshot it belongs to
	Index int
	Frame Frame
	Regs  guest.Regs // unwound registers of that frame (callee-saved ones recovered)
	Vars  []Var
}

// ExitEvent reports that the guest exited.
type ExitEvent struct {
	Exit guest.Exit
}

// FaultEvent reports a guest crash, symbolized.
type FaultEvent struct {
	Fault  guest.Fault
	Frames []Frame
	// Vars are frame #0's arguments and locals at the fault, read from the
	// crash record's registers and stack copy (and the ELF for globals).
	Vars   []Var
	Report string // the crash report as `ukw run` prints it
}

// Breakpoint is a breakpoint as the user asked for it, and where it resolved.
type Breakpoint struct {
	ID        int
	Spec      string // what the user typed: "main", "hello.c:12", "*0x100200"
	Kind      guest.BreakKind
	Temporary bool
	Enabled   bool
	Addrs     []uint64 // resolved in the current image; empty when pending
	Where     string   // "main at hello.c:12"
	// Lines are the source lines of Addrs, one per address (File "" when
	// unknown), so that a front end marks every location.
	Lines []FileLine
	Hits  int
	Err   string // why it does not resolve (kept, retried after every rebuild)
	// Cond is the breakpoint's condition (gdb's condition N EXPR): it
	// stops only where the expression is non-zero. Empty: always.
	Cond string
}

// FileLine is a source line: File as the symbols name it (absolute), Line from 1.
type FileLine struct {
	File string
	Line int
}

// BreakpointsEvent lists every breakpoint after a change or a re-resolution.
type BreakpointsEvent struct {
	List []Breakpoint
}

// Timeline breaks down one reload, from the save that triggered it.
type Timeline struct {
	Files  []string
	Total  time.Duration // save (first event) → new code running
	Detect time.Duration // save → watcher batch (includes the debounce)
	Build  time.Duration
	Boot   time.Duration // create the machine and load the image
	Attach time.Duration // subscribe, re-resolve and insert breakpoints
}

// ReloadEvent reports a completed reload.
type ReloadEvent struct {
	Timeline Timeline
}

// SourceEvent answers LoadSource.
type SourceEvent struct {
	File  string
	Lines []string
	Err   string
}

// LocationEvent answers List: where Spec is in the source and, as gdb's
// `list` prints them, up to ten numbered lines around it ("LINE\ttext").
type LocationEvent struct {
	Spec    string
	File    string
	Line    int
	Listing []string
	Err     string
}

// AsmLine is one disassembled instruction, with the source line it belongs to.
type AsmLine struct {
	Addr     uint64
	Bytes    []byte
	Text     string // "mov %rsp,%rbp", branch targets as <func+off>
	Function string
	Offset   uint64
	File     string
	Line     int
}

// DisasmEvent answers Disassemble.
type DisasmEvent struct {
	Addr  uint64
	Lines []AsmLine
	Err   string
}

// MemoryEvent answers ReadMemory.
type MemoryEvent struct {
	Addr uint64
	Data []byte
	// Prev holds the bytes at the same addresses at the previous stop (same
	// length as Data) when known, so a front end can mark changes.
	Prev []byte
	// Symbols annotate 8-byte words that point at a known symbol: address → "main+12".
	Symbols map[uint64]string
	Err     string
}

// OutputEvent is text answering a command (print, x, info, errors).
type OutputEvent struct {
	Text  string
	Error bool
}

// Layer is one catalog entry and whether the app selects it.
type Layer struct {
	Name        string
	Description string
	Provides    []string
	Requires    []string
	Conflicts   []string
	Selected    bool
}

// LayersEvent lists the catalog; Problem explains a selection that does not resolve.
type LayersEvent struct {
	Layers  []Layer
	Problem string
}

// LogEvent is a note for the user (a watcher error, a backend observation).
type LogEvent struct {
	Msg string
}

// TraceKind says what a trace record is.
type TraceKind int

// Trace record kinds (layers/README.md, "Trace ring": record types 1-3).
const (
	TracePoint TraceKind = iota + 1 // a UKW_TRACE tracepoint
	TraceEnter                      // a function entry (lib/ftrace)
	TraceExit                       // a function exit (lib/ftrace)
)

func (k TraceKind) String() string {
	switch k {
	case TracePoint:
		return "point"
	case TraceEnter:
		return "enter"
	case TraceExit:
		return "exit"
	}
	return "unknown"
}

// TraceRecord is one record of the guest's trace ring, decoded and
// symbolized (package trace).
type TraceRecord struct {
	Index uint64 // the record's number in the ring, from 0
	Kind  TraceKind
	// At is the record's time since the guest's first record (from its
	// TSC stamp; 0 when the TSC rate is unknown), Ticks the same in TSC ticks.
	At    time.Duration
	Ticks uint64
	// Name is the tracepoint's or the function's name; Text the
	// tracepoint's message, rendered from its format and arguments.
	Name string
	Text string
	// File and Line are where to jump: the tracepoint's line, or the
	// function's first line ("" and 0 when unknown).
	File string
	Line int
	// Depth is the call depth (functions entered and not yet left); In
	// is the innermost traced function it happened in ("" at top level).
	Depth int
	In    string
}

// TraceEvent carries the trace records read from the guest's ring since
// the previous TraceEvent: polled while the guest runs, read at every
// reported stop (so the trace is complete there) and at the end.
type TraceEvent struct {
	Records []TraceRecord
	// Total counts records read from this guest so far, Dropped those the
	// guest or the reader lost (ring full).
	Total, Dropped uint64
	// Final is set on the last TraceEvent of a guest (it exited or faulted,
	// or was replaced by a reboot); Warning explains a ring that could not
	// be read (a corrupt header), after which no records follow.
	Final   bool
	Warning string
}

// ProfileFunc is one function's share of a sampling profile.
type ProfileFunc struct {
	Name string
	// Self counts samples with the function innermost, Total samples with
	// it anywhere on the stack; the percentages are of all samples.
	Self, Total       int
	SelfPct, TotalPct float64
}

// ProfileEvent is a snapshot of a sampling profile (the Profile command):
// sent a few times a second while it runs and once at the end.
type ProfileEvent struct {
	Running bool // more snapshots follow
	Hz      int
	// Duration is the profile's planned length, Elapsed how long it has run.
	Duration, Elapsed time.Duration
	// Samples were taken; Failed could not be (the guest ended in between,
	// a read failed).
	Samples, Failed int
	// Top lists the functions with the most self samples, most first.
	Top []ProfileFunc
	// Err says why no profile could be taken (the backend cannot sample a
	// running guest, no symbols).
	Err string
}

func (StateEvent) isEvent()       {}
func (BuildEvent) isEvent()       {}
func (ConsoleEvent) isEvent()     {}
func (StopEvent) isEvent()        {}
func (FrameEvent) isEvent()       {}
func (ExitEvent) isEvent()        {}
func (FaultEvent) isEvent()       {}
func (BreakpointsEvent) isEvent() {}
func (ReloadEvent) isEvent()      {}
func (SourceEvent) isEvent()      {}
func (LocationEvent) isEvent()    {}
func (DisasmEvent) isEvent()      {}
func (MemoryEvent) isEvent()      {}
func (OutputEvent) isEvent()      {}
func (LayersEvent) isEvent()      {}
func (LogEvent) isEvent()         {}
func (TraceEvent) isEvent()       {}
func (ProfileEvent) isEvent()     {}
