package symbols

// HiddenInlineFrames is how many of the innermost frames of
// LookupGDB(pc).Frames gdb hides when execution stops at pc, so that a
// stop is shown the way gdb shows it (gdb 13 infrun.c handle_signal_stop
// calls inline-frame.c skip_inline_frames on every stop but a stepi's).
//
// gdb hides an inlined subroutine whose code begins at pc: its entry (the
// start of its first range) is pc, or, in a unit with non-contiguous
// blocks, pc-1 lies outside it (block_starting_point_at). Going outwards
// from the innermost frame it hides each such one and stops at the first
// that is not, or at the one a user breakpoint that caused the stop was
// set for (stopped_by_user_bp_inline_frame): bp is that breakpoint's
// location, nil when no breakpoint caused the stop. gdb's location symbol
// is the function for `break FUNC` and the innermost function at the
// address (inlined ones included) for `break FILE:LINE` and `break *ADDR`,
// which is what BreakLoc.Func holds.
//
// So `break main`, when main begins with an inlined call, stops with the
// inlined frame hidden: gdb's bt shows main at the call's line, and a
// `step` from there enters the inlined function. Callers show
// Loc.Frames[n:] of the innermost frame and keep the inline indices of
// FrameVars and Eval counting from Loc.Frames[0]. After a stepi nothing
// is hidden: do not call this.
func (f *File) HiddenInlineFrames(pc uint64, bp *BreakLoc) int {
	if !f.hasDW {
		return 0
	}
	for _, u := range f.unitsFor(pc) {
		fi := f.funcAt(u, pc)
		if fi < 0 {
			continue
		}
		n := 0
		for ; fi >= 0; fi = int(u.funcs[fi].parent) {
			fn := u.funcs[fi]
			if !fn.inlined || !f.inlineEntryAt(u, fn, pc) {
				break
			}
			if bp != nil && bp.Func == fn.name {
				break
			}
			n++
		}
		return n
	}
	return 0
}

// inlineEntryAt reports whether execution at pc enters the inlined
// subroutine fn (gdb's BLOCK_ENTRY_PC test and block_starting_point_at).
func (f *File) inlineEntryAt(u *unit, fn *function, pc uint64) bool {
	if len(fn.ranges) == 0 {
		return false
	}
	if fn.ranges[0][0] == pc {
		return true
	}
	if !u.splitBlocks() {
		return false // gdb keeps no address map for the unit
	}
	for _, r := range fn.ranges {
		if pc-1 >= r[0] && pc-1 < r[1] {
			return false // pc-1 is in fn (or in a block inside it)
		}
	}
	for _, r := range fn.ranges {
		if pc >= r[0] && pc < r[1] {
			return true
		}
	}
	return false
}

// splitBlocks reports whether some function or lexical block of the unit
// has more than one range: gdb then keeps an address map of the unit's
// blocks (buildsym.c record_block_range, m_pending_addrmap_interesting),
// which block_starting_point_at needs.
func (u *unit) splitBlocks() bool {
	for _, fn := range u.funcs {
		if len(fn.ranges) > 1 {
			return true
		}
	}
	for _, b := range u.lexBlocks {
		if len(b.ranges) > 1 {
			return true
		}
	}
	return false
}
