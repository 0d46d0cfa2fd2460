package symbols

import (
	"debug/dwarf"
	"fmt"

	"github.com/go-delve/delve/pkg/dwarf/op"
)

// DWARF 5 call-site tags and attributes (DWARF 5, 3.4), and their GNU
// DWARF 4 extensions.
const (
	tagCallSite         = dwarf.Tag(0x48)
	tagCallSiteParam    = dwarf.Tag(0x49)
	tagGNUCallSite      = dwarf.Tag(0x4109)
	tagGNUCallSiteParam = dwarf.Tag(0x410a)
	attrCallReturnPC    = dwarf.Attr(0x7d)
	attrCallValue       = dwarf.Attr(0x7e)
	attrGNUCallValue    = dwarf.Attr(0x2111)
)

// entryValue computes DW_OP_entry_value(inner) (DWARF 5, 2.5.1.7): the
// value a register had on entry to the frame's function, found like gdb
// does from the caller's DW_TAG_call_site_parameter for that register at
// the call that returns to the caller's pc.
func (c *evalCtx) entryValue(inner []byte) (uint64, error) {
	if len(inner) != 1 || inner[0] < 0x50 || inner[0] > 0x6f {
		return 0, errOptimizedOut // only DW_OP_regN is supported, like most of gdb's uses
	}
	reg := int(inner[0] - 0x50)
	if c.idx+1 >= len(c.frames) {
		return 0, errOptimizedOut
	}
	caller := c.frames[c.idx+1]
	if caller.Interrupted != nil {
		return 0, errOptimizedOut
	}
	ret := caller.PC
	var u *unit
	fi := -1
	for _, cand := range c.f.unitsFor(ret - 1) {
		if fi = c.f.funcAt(cand, ret-1); fi >= 0 {
			u = cand
			break
		}
	}
	if u == nil {
		return 0, errOptimizedOut
	}
	// Search the out-of-line caller's subtree for the call site.
	for u.funcs[fi].inlined && u.funcs[fi].parent >= 0 {
		fi = int(u.funcs[fi].parent)
	}
	r := c.f.dwarfData().Reader()
	r.Seek(u.funcs[fi].off)
	if e, err := r.Next(); err != nil || e == nil || !e.Children {
		return 0, errOptimizedOut
	}
	depth := 1
	inSite := -1 // depth of the matching call site, -1 when outside
	for depth > 0 {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == 0 {
			depth--
			if depth < inSite {
				break // left the matching call site without finding the register
			}
			continue
		}
		switch e.Tag {
		case tagCallSite, tagGNUCallSite:
			pc, ok := e.Val(attrCallReturnPC).(uint64)
			if !ok {
				pc, ok = e.Val(dwarf.AttrLowpc).(uint64)
			}
			if ok && pc == ret {
				inSite = depth + 1
			}
		case tagCallSiteParam, tagGNUCallSiteParam:
			if inSite == depth {
				loc, _ := e.Val(dwarf.AttrLocation).([]byte)
				if len(loc) == 1 && int(loc[0]) == 0x50+reg {
					val, _ := e.Val(attrCallValue).([]byte)
					if val == nil {
						val, _ = e.Val(attrGNUCallValue).([]byte)
					}
					if val == nil {
						return 0, errOptimizedOut
					}
					return c.evalInCaller(u, val, ret-1)
				}
			}
		}
		if e.Children {
			depth++
		}
	}
	return 0, errOptimizedOut
}

// evalInCaller evaluates a DWARF expression (a value, not a location) in
// the caller frame.
func (c *evalCtx) evalInCaller(u *unit, expr []byte, pc uint64) (uint64, error) {
	caller := c.frames[c.idx+1]
	cc := &evalCtx{f: c.f, u: u, regs: caller.Regs, cfa: caller.CFA, pc: pc, mem: c.mem, frames: c.frames, idx: c.idx + 1}
	// The frame base of the caller's out-of-line function.
	fi := c.f.funcAt(u, pc)
	for fi >= 0 && u.funcs[fi].inlined && u.funcs[fi].parent >= 0 {
		fi = int(u.funcs[fi].parent)
	}
	if fi >= 0 {
		if fb, ok := c.f.frameBaseExpr(u.funcs[fi]); ok {
			if v, pieces, err := cc.exec(fb, true); err == nil && len(pieces) == 0 {
				cc.frameBase = uint64(v)
			}
		}
	}
	v, pieces, err := cc.exec(expr, false)
	if err != nil {
		return 0, errOptimizedOut
	}
	if len(pieces) == 1 && pieces[0].Kind == op.RegPiece {
		rv, ok := caller.Regs.Get(int(pieces[0].Val))
		if !ok {
			return 0, errOptimizedOut
		}
		return rv, nil
	}
	if len(pieces) > 0 {
		return 0, fmt.Errorf("composite call-site value")
	}
	return uint64(v), nil
}
