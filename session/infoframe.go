package session

import (
	"fmt"
	"strings"
)

// infoFrame describes the selected frame as gdb's `info frame` does
// (gdb/stack.c, info_frame_command_core): level and CFA, pc and the
// saved return address, the frames around it, the arguments, and where
// the return address is saved. gdb's "Arglist at"/"Locals at" addresses
// and the callee-saved register slots are left out: ukw's unwinder
// recovers register values, not where CFI saved them.
func (l *loop) infoFrame(st *stopState) string {
	f := st.frames[st.selected]
	var b strings.Builder
	fmt.Fprintf(&b, "Stack level %d, frame at %#x:\n", f.Index, f.CFA)
	name := f.Function
	if name == "" {
		name = "??"
	}
	fmt.Fprintf(&b, " rip = %#x in %s", f.PC, name)
	if f.File != "" {
		fmt.Fprintf(&b, " (%s:%d)", shortPath(f.File), f.Line)
	}
	phys := -1
	if st.selected < len(st.refs) {
		phys = st.refs[st.selected].phys
	}
	if phys >= 0 && phys+1 < len(st.bt.Frames) {
		fmt.Fprintf(&b, "; saved rip = %#x", st.bt.Frames[phys+1].PC)
	}
	b.WriteString("\n")
	if f.Inlined {
		fmt.Fprintf(&b, " inlined into frame %d\n", f.Index+1)
	}
	if st.selected+1 < len(st.frames) && !f.Inlined {
		fmt.Fprintf(&b, " called by frame at %#x\n", st.frames[st.selected+1].CFA)
	}
	if st.selected > 0 && !st.frames[st.selected-1].Inlined {
		fmt.Fprintf(&b, " caller of frame at %#x\n", st.frames[st.selected-1].CFA)
	}
	b.WriteString(" source language c.\n")
	var args []string
	for _, v := range l.frameVars(st, st.selected) {
		if v.Kind == VarArg {
			args = append(args, v.Name+"="+v.Value)
		}
	}
	fmt.Fprintf(&b, " args: %s\n", strings.Join(args, ", "))
	if f.CFA != 0 && !f.Inlined {
		fmt.Fprintf(&b, " Previous frame's sp is %#x\n Saved registers:\n  rip at %#x\n", f.CFA, f.CFA-8)
	}
	return b.String()
}
