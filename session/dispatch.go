package session

import (
	"fmt"
	"strings"

	"ukw/build"
	"ukw/gdbstub"
	"ukw/guest"
)

// dialRSP attaches to a GDB remote stub.
func dialRSP(addr string) (guest.Machine, error) { return gdbstub.Dial(addr) }

// command executes one command; it returns true for Quit.
func (l *loop) command(c Command) bool {
	if _, ok := c.(Quit); ok {
		return true
	}
	if need, ok := needsStopped(c); ok && need {
		if l.m == nil || l.stop == nil {
			l.s.errorf("the guest is not stopped (state: %s)", l.state)
			return false
		}
	}
	switch c := c.(type) {
	case Continue:
		l.resume()
	case Step:
		if !l.stepIntoInline() {
			l.stepLine(false)
		}
	case Next:
		l.stepLine(true)
	case Until:
		l.stepUntil()
	case StepInstr:
		l.stepInstr(false)
	case NextInstr:
		l.stepInstr(true)
	case Finish:
		l.finish()
	case Interrupt:
		if l.goal != nil {
			l.interrupted = true
		}
		if l.m == nil || l.m.State() != guest.Running {
			if l.interrupted {
				return false // the goal ends at its next stop
			}
			l.s.errorf("the guest is not running")
			return false
		}
		if err := l.m.Interrupt(); err != nil {
			l.s.errorf("interrupt: %v", err)
		}
	case Break:
		kind := guest.BreakSoftware
		if c.Hardware {
			kind = guest.BreakHardware
		}
		l.addBreakpoint(c.Spec, kind, c.Temporary)
		if c.Cond != "" {
			l.condition(Condition{ID: l.bps.list[len(l.bps.list)-1].ID, Expr: c.Cond})
		}
	case Delete:
		l.deleteBreakpoint(c.ID)
	case Watch:
		kind := guest.BreakKind(c.Kind)
		if !kind.IsWatch() {
			kind = guest.WatchWrite
		}
		l.addBreakpoint(c.Expr, kind, false)
	case Print:
		if c.Format != 0 {
			l.printFormatted(c.Expr, c.Format)
		} else {
			l.print(c.Expr)
		}
	case Whatis:
		l.whatis(c)
	case SetVar:
		l.setVar(c)
	case Display:
		l.addDisplay(c)
	case Undisplay:
		l.undisplay(c.ID)
	case Enable:
		l.enable(c)
	case Condition:
		l.condition(c)
	case Advance:
		l.advance(c.Spec)
	case Jump:
		l.jump(c.Spec)
	case Thread:
		l.threadBacktrace(c.ID)
	case Examine:
		l.examine(c)
	case SelectFrame:
		i := c.Index
		if c.Relative {
			i += l.stop.selected
		}
		l.selectFrame(i)
	case ReadMemory:
		if l.m == nil {
			l.emit(MemoryEvent{Err: "no guest"})
			return false
		}
		l.readMemory(c.Expr, c.Len)
	case LoadSource:
		l.loadSource(c.File)
	case List:
		l.emit(l.list(c.Spec))
	case Disassemble:
		addr := c.Addr
		if addr == 0 {
			addr = l.frameRegs().RIP
		}
		lines, err := l.disasm(addr, c.Count)
		ev := DisasmEvent{Addr: addr, Lines: lines}
		if err != nil {
			ev.Err = err.Error()
		}
		l.emit(ev)
	case Info:
		l.info(c.What, c.Arg)
	case Rebuild:
		if l.app == nil {
			l.s.errorf("rebuild: this session has no app directory")
		} else if l.building {
			l.dirty = append(l.dirty, l.spec.Dir)
		} else {
			l.startBuild(nil, timeNow(), timeNow())
		}
	case Reboot, Start:
		if l.image == "" {
			l.s.errorf("reboot: nothing was booted")
			return false
		}
		if _, start := c.(Start); start {
			l.addBreakpoint("main", guest.BreakSoftware, true)
		}
		l.boot(nil)
	case ListLayers:
		l.listLayers()
	case ToggleLayer:
		l.toggleLayer(c.Name)
	}
	return false
}

// needsStopped says whether a command needs a stopped guest.
func needsStopped(c Command) (bool, bool) {
	switch c.(type) {
	case Continue, Step, Next, Until, StepInstr, NextInstr, Finish, SelectFrame, Examine, SetVar, Advance, Jump, Thread:
		return true, true
	}
	return false, false
}

func (l *loop) info(what, arg string) {
	switch what {
	case "breakpoints":
		l.s.outf("%s", l.infoBreakpoints())
	case "display":
		l.s.outf("%s", l.infoDisplay())
	case "line":
		l.infoLine()
	case "symbol":
		l.infoSymbol(arg)
	case "threads":
		l.infoThreads()
	case "layers":
		l.listLayers()
	case "registers", "frame", "locals", "args", "backtrace":
		if l.stop == nil {
			l.s.errorf("the guest is not stopped")
			return
		}
		st := l.stop
		var b strings.Builder
		switch what {
		case "registers":
			r := l.frameRegs()
			regs := []guest.Reg{}
			for _, name := range strings.Fields(arg) {
				reg, ok := guest.RegByName(strings.TrimPrefix(name, "$"))
				if !ok {
					l.s.errorf("Invalid register `%s'", strings.TrimPrefix(name, "$"))
					return
				}
				regs = append(regs, reg)
			}
			if len(regs) == 0 {
				for reg := guest.Reg(0); reg < guest.NumRegs; reg++ {
					regs = append(regs, reg)
				}
			}
			for _, reg := range regs {
				v := r.Get(reg)
				extra := ""
				if reg == guest.RFLAGS {
					extra = guest.FlagsString(v)
				} else if reg == guest.RIP {
					extra = l.annotate(v)
				}
				fmt.Fprintf(&b, "%-8s %#-18x %s\n", reg, v, extra)
			}
		case "backtrace":
			for _, f := range st.frames {
				fmt.Fprintf(&b, "#%-2d %s\n", f.Index, formatFrame(f))
			}
			if st.bt.Reason != "" {
				fmt.Fprintf(&b, "(%s)\n", st.bt.Reason)
			}
		case "frame":
			b.WriteString(l.infoFrame(st))
		default:
			kind := VarLocal
			if what == "args" {
				kind = VarArg
			}
			n := 0
			for _, v := range l.frameVars(st, st.selected) {
				if v.Kind == kind {
					fmt.Fprintf(&b, "%s = %s\n", v.Name, v.Value)
					n++
				}
			}
			if n == 0 {
				fmt.Fprintf(&b, "No %s.\n", map[string]string{"locals": "locals", "args": "arguments"}[what])
			}
		}
		l.s.outf("%s", strings.TrimRight(b.String(), "\n"))
	default:
		l.s.errorf("info %s: unknown", what)
	}
}

// formatFrame renders a frame like gdb's backtrace line.
func formatFrame(f Frame) string {
	s := fmt.Sprintf("%#016x in ", f.PC)
	if f.Index == 0 || f.Inlined {
		s = ""
	}
	name := f.Function
	if name == "" {
		name = "??"
	}
	s += name + " ()"
	if f.File != "" {
		s += fmt.Sprintf(" at %s:%d", shortPath(f.File), f.Line)
	}
	if f.Inlined {
		s += " [inlined]"
	}
	return s
}

// listLayers answers ListLayers with the catalog and the app's selection.
func (l *loop) listLayers() {
	var extra []string
	selected := map[string]bool{}
	if l.app != nil {
		extra = append(extra, l.app.Manifest.LayerPaths...)
		for _, n := range l.app.Manifest.Layers {
			selected[n] = true
		}
	}
	cat, err := build.ListCatalog(extra...)
	if err != nil {
		l.emit(LayersEvent{Problem: err.Error()})
		return
	}
	ev := LayersEvent{}
	for _, name := range cat.Names() {
		lm := cat.Layers[name]
		ev.Layers = append(ev.Layers, Layer{Name: name, Description: lm.Description, Provides: lm.Provides,
			Requires: lm.Requires, Conflicts: lm.Conflicts, Selected: selected[name]})
	}
	if l.app != nil && l.app.Manifest.External == nil {
		if _, err := build.Resolve(cat, l.app.Manifest); err != nil {
			ev.Problem = err.Error()
		}
	}
	l.emit(ev)
}

// toggleLayer adds or removes a layer in ukw.yaml; the watcher (or an
// explicit rebuild when not watching) picks the change up.
func (l *loop) toggleLayer(name string) {
	if l.app == nil || l.app.Manifest.External != nil {
		l.s.errorf("layer: this session has no layered app")
		return
	}
	on := true
	for _, n := range l.app.Manifest.Layers {
		if n == name {
			on = false
		}
	}
	if _, err := build.SetLayer(l.app.Dir, name, on); err != nil {
		l.s.errorf("layer %s: %v", name, err)
		return
	}
	app, err := build.Load(l.app.Dir)
	if err != nil {
		l.s.errorf("layer %s: %v", name, err)
		return
	}
	l.app = app
	verb := "added"
	if !on {
		verb = "removed"
	}
	l.s.outf("layer %s %s in %s", name, verb, app.Manifest.File)
	l.listLayers()
	if l.w == nil && !l.building {
		l.startBuild(nil, timeNow(), timeNow())
	}
}
