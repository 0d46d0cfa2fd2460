package session

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"ukw/guest"
	"ukw/symbols"
)

// bpt is a user breakpoint or watchpoint, kept by its symbolic spec and
// resolved again in every new image.
type bpt struct {
	Breakpoint
	size int // watched bytes, for watchpoints
	// soft marks a write watchpoint the backend cannot do: the session
	// single-steps the guest and compares old, the last value seen.
	soft bool
	old  []byte
	// value marks a software watchpoint on an expression with a value but
	// no memory (a variable in a register, `a + b`): it compares oldText,
	// the value as print shows it, in the frame whose CFA is scopeCFA (0:
	// the expression needs no frame) and ends when that frame returns.
	value    bool
	oldText  string
	scopeCFA uint64
	scopeFn  string
	// locs are where Spec resolved in the current image (symbols'
	// view: function, file:line), one per address.
	locs []symbols.BreakLoc
}

// slotKey identifies one breakpoint inserted into the machine.
type slotKey struct {
	addr uint64
	kind guest.BreakKind
	size int
}

// breakpoints holds the user's breakpoints and what is inserted into the
// current machine: user breakpoints and the debugger core's internal ones
// (finish, next over a call) share slots by reference count.
type breakpoints struct {
	list  []*bpt
	next  int
	slots map[slotKey]int
}

func (b *breakpoints) init() { b.slots = map[slotKey]int{} }

// machineChanged forgets insertions: a new machine has none.
func (b *breakpoints) machineChanged() { b.slots = map[slotKey]int{} }

func (b *breakpoints) add(spec string, kind guest.BreakKind, temp bool) *bpt {
	b.next++
	bp := &bpt{Breakpoint: Breakpoint{ID: b.next, Spec: spec, Kind: kind, Temporary: temp, Enabled: true}}
	b.list = append(b.list, bp)
	return bp
}

// at returns the enabled execution breakpoints resolved to addr.
func (b *breakpoints) at(addr uint64) []*bpt {
	var out []*bpt
	for _, bp := range b.list {
		if !bp.Enabled || bp.Kind.IsWatch() {
			continue
		}
		for _, a := range bp.Addrs {
			if a == addr {
				out = append(out, bp)
				break
			}
		}
	}
	return out
}

func (b *breakpoints) snapshot() []Breakpoint {
	out := make([]Breakpoint, len(b.list))
	for i, bp := range b.list {
		out[i] = bp.Breakpoint
		out[i].Addrs = append([]uint64(nil), bp.Addrs...)
		out[i].Lines = nil
		for _, loc := range bp.locs {
			out[i].Lines = append(out[i].Lines, FileLine{File: loc.File, Line: loc.Line})
		}
	}
	return out
}

func (l *loop) emitBreakpoints() { l.emit(BreakpointsEvent{List: l.bps.snapshot()}) }

// insert adds one reference to a machine breakpoint, inserting it on the first.
func (l *loop) insert(k slotKey) error {
	if l.bps.slots[k] == 0 {
		if l.m == nil {
			return errors.New("no guest")
		}
		if err := l.m.SetBreakpoint(guest.Breakpoint{Kind: k.kind, Addr: k.addr, Len: k.size}); err != nil {
			return err
		}
	}
	l.bps.slots[k]++
	return nil
}

// remove drops one reference, removing the machine breakpoint with the last.
func (l *loop) remove(k slotKey) {
	n := l.bps.slots[k]
	if n == 0 {
		return
	}
	if n == 1 {
		delete(l.bps.slots, k)
		if l.m != nil {
			if err := l.m.ClearBreakpoint(guest.Breakpoint{Kind: k.kind, Addr: k.addr, Len: k.size}); err != nil && l.m.State() != guest.Finished {
				l.emit(LogEvent{Msg: fmt.Sprintf("clear breakpoint at %#x: %v", k.addr, err)})
			}
		}
		return
	}
	l.bps.slots[k] = n - 1
}

func (bp *bpt) keys() []slotKey {
	var ks []slotKey
	for _, a := range bp.Addrs {
		k := slotKey{addr: a, kind: bp.Kind, size: bp.size}
		if !bp.Kind.IsWatch() {
			k.size = 1
		}
		ks = append(ks, k)
	}
	return ks
}

// resolve computes bp's addresses in the current image.
func (l *loop) resolve(bp *bpt) {
	bp.Addrs, bp.Where, bp.Err, bp.locs = nil, "", "", nil
	if bp.Kind.IsWatch() {
		bp.value = false
		addr, size, where, err := l.watchTarget(bp.Spec)
		if err != nil {
			if bp.Kind != guest.WatchWrite || !l.valueWatch(bp) {
				bp.Err = err.Error()
			}
			return
		}
		bp.Addrs, bp.size, bp.Where = []uint64{addr}, size, where
		return
	}
	locs, err := l.resolveSpec(bp.Spec)
	if err != nil {
		bp.Err = err.Error()
		return
	}
	bp.locs = locs
	addrs := make([]uint64, len(locs))
	for i, loc := range locs {
		addrs[i] = loc.Addr
	}
	bp.Addrs = addrs
	if l.sym != nil && len(addrs) > 0 {
		bp.Where = l.describe(addrs[0])
		if len(addrs) > 1 {
			bp.Where += fmt.Sprintf(" (+%d more locations)", len(addrs)-1)
		}
	}
}

// applyBreakpoints re-resolves every breakpoint and inserts the enabled
// ones. The machine must be stopped.
func (l *loop) applyBreakpoints() {
	for _, bp := range l.bps.list {
		l.resolve(bp)
		bp.soft = bp.value
		if !bp.Enabled {
			continue
		}
		for _, k := range bp.keys() {
			err := l.insert(k)
			switch {
			case err == nil:
				if bp.Kind.IsWatch() {
					bp.old = l.watchedBytes(bp)
				}
			case errors.Is(err, guest.ErrUnsupported) && bp.Kind == guest.WatchWrite:
				l.makeSoft(bp)
			default:
				bp.Err = fmt.Sprintf("cannot insert at %#x: %v", k.addr, err)
			}
		}
	}
	l.emitBreakpoints()
}

// resolveSpec turns "main", "hello.c:12", "12" (a line of the current
// file) or "*0x100200" into addresses, as gdb's break does.
func (l *loop) resolveSpec(spec string) ([]symbols.BreakLoc, error) {
	if rest, ok := strings.CutPrefix(spec, "*"); ok {
		a, err := strconv.ParseUint(strings.TrimSpace(rest), 0, 64)
		if err != nil {
			return nil, fmt.Errorf("bad address %q", rest)
		}
		if l.sym != nil {
			if locs, err := l.sym.Breakpoints(fmt.Sprintf("*%#x", a)); err == nil && len(locs) > 0 {
				return locs, nil
			}
		}
		return []symbols.BreakLoc{{Addr: a}}, nil
	}
	if l.sym == nil {
		return nil, errors.New("no symbols loaded")
	}
	if _, err := strconv.Atoi(spec); err == nil {
		file := l.currentFile()
		if file == "" {
			return nil, errors.New("no current source file: use FILE:LINE")
		}
		spec = file + ":" + spec
	}
	locs, err := l.sym.Breakpoints(spec)
	if err != nil {
		return nil, err
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("no code at %s", spec)
	}
	return locs, nil
}

// locAt is the resolved location of bp at addr, nil when none.
func (bp *bpt) locAt(addr uint64) *symbols.BreakLoc {
	for i := range bp.locs {
		if bp.locs[i].Addr == addr {
			return &bp.locs[i]
		}
	}
	return nil
}

// currentFile is the source file of the selected frame, else of main.
func (l *loop) currentFile() string {
	if l.stop != nil && l.stop.selected < len(l.stop.frames) {
		if f := l.stop.frames[l.stop.selected].File; f != "" {
			return f
		}
	}
	if l.sym != nil {
		if locs, err := l.sym.Breakpoints("main"); err == nil && len(locs) > 0 {
			return locs[0].File
		}
	}
	return ""
}

// describe formats an address as "func at file:line".
func (l *loop) describe(addr uint64) string {
	if l.sym == nil {
		return fmt.Sprintf("%#x", addr)
	}
	loc := l.sym.LookupGDB(addr)
	s := fmt.Sprintf("%#x", addr)
	if len(loc.Frames) > 0 {
		f := loc.Frames[0]
		if f.Func != "" {
			s = f.Func
		}
		if f.File != "" && f.Line > 0 {
			s += fmt.Sprintf(" at %s:%d", shortPath(f.File), f.Line)
		}
	} else if loc.Symbol != "" {
		s = fmt.Sprintf("%s+%#x", loc.Symbol, loc.Offset)
	}
	return s
}

// addBreakpoint handles Break and Watch commands.
func (l *loop) addBreakpoint(spec string, kind guest.BreakKind, temp bool) {
	bp := l.bps.add(spec, kind, temp)
	l.resolve(bp)
	if bp.Err == "" && l.m != nil {
		l.whileStopped(func() {
			for _, k := range bp.keys() {
				err := l.insert(k)
				switch {
				case err == nil:
					if kind.IsWatch() {
						bp.old = l.watchedBytes(bp)
					}
				case errors.Is(err, guest.ErrUnsupported) && kind == guest.WatchWrite:
					l.makeSoft(bp)
				case errors.Is(err, guest.ErrUnsupported) && kind.IsWatch():
					bp.Err = "this backend cannot watch reads, and software watchpoints only see writes"
				default:
					bp.Err = fmt.Sprintf("cannot insert at %#x: %v", k.addr, err)
				}
			}
			l.emitBreakpoints()
		})
	}
	word := "Breakpoint"
	switch {
	case bp.soft:
		word = "Software watchpoint"
	case kind.IsWatch():
		word = hardwareWatchWord(kind)
	}
	switch {
	case bp.Err != "":
		l.s.outf("%s %d (%s) pending: %s", word, bp.ID, spec, bp.Err)
	case bp.value:
		l.s.outf("%s %d: %s", word, bp.ID, bp.Where)
	default:
		l.s.outf("%s %d at %#x: %s", word, bp.ID, bp.Addrs[0], bp.Where)
	}
	l.emitBreakpoints()
}

// deleteBreakpoint handles Delete (id 0: all).
func (l *loop) deleteBreakpoint(id int) {
	var gone []*bpt
	keep := l.bps.list[:0]
	for _, bp := range l.bps.list {
		if id == 0 || bp.ID == id {
			gone = append(gone, bp)
		} else {
			keep = append(keep, bp)
		}
	}
	l.bps.list = keep
	if len(gone) == 0 {
		l.s.errorf("no breakpoint number %d", id)
		return
	}
	l.whileStopped(func() {
		for _, bp := range gone {
			if bp.Enabled {
				for _, k := range bp.keys() {
					l.remove(k)
				}
			}
		}
	})
	l.emitBreakpoints()
}

func (l *loop) infoBreakpoints() string {
	if len(l.bps.list) == 0 {
		return "No breakpoints or watchpoints."
	}
	list := append([]*bpt(nil), l.bps.list...)
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	var b strings.Builder
	b.WriteString("Num  Type        Disp Enb Address            What\n")
	for _, bp := range list {
		disp, enb := "keep", "y"
		if bp.Temporary {
			disp = "del"
		}
		if !bp.Enabled {
			enb = "n"
		}
		addr := "<PENDING>"
		if bp.value {
			addr = "<value>"
		}
		if len(bp.Addrs) > 0 {
			addr = fmt.Sprintf("0x%016x", bp.Addrs[0])
		}
		what := bp.Where
		if what == "" {
			what = bp.Spec
		}
		if bp.Err != "" {
			what += " (" + bp.Err + ")"
		}
		fmt.Fprintf(&b, "%-4d %-11s %-4s %-3s %-18s %s\n", bp.ID, bp.Kind, disp, enb, addr, what)
		if bp.Cond != "" {
			fmt.Fprintf(&b, "\tstop only if %s\n", bp.Cond)
		}
		if bp.Hits > 0 {
			fmt.Fprintf(&b, "\tbreakpoint already hit %d time%s\n", bp.Hits, plural(bp.Hits))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// hardwareWatchWord names a watchpoint kind as gdb does.
func hardwareWatchWord(k guest.BreakKind) string {
	switch k {
	case guest.WatchRead:
		return "Hardware read watchpoint"
	case guest.WatchAccess:
		return "Hardware access (read/write) watchpoint"
	}
	return "Hardware watchpoint"
}
