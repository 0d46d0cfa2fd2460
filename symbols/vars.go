package symbols

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/go-delve/delve/pkg/dwarf/godwarf"
	"github.com/go-delve/delve/pkg/dwarf/loclist"
	"github.com/go-delve/delve/pkg/dwarf/op"
)

// Var is one parameter or local variable of a frame.
type Var struct {
	Name string
	// Type is the C type as gdb names it ("int", "struct shape *").
	Type string
	// Value is formatted like gdb's `info locals` ("42", "{x = 1, y = 2}",
	// "<optimized out>").
	Value string
	Param bool
	// Addr is the variable's address when it lives in memory (0 otherwise).
	Addr uint64
	// Val is the variable as an expression value: its children (struct
	// fields, array elements, the pointee) come from File.Children.
	Val Value
}

// errOptimizedOut marks a variable whose value is not available at this pc.
var errOptimizedOut = errors.New("optimized out")

// FrameVars returns the parameters and the locals in scope of frame i of
// a backtrace (Unwind's Frames): inline is the index into
// frames[i].Loc.Frames (0 = innermost function at the pc; higher = the
// functions it was inlined into). Locals come innermost block first, like
// gdb's `info locals`. Values gcc describes with DW_OP_entry_value are
// recovered from the caller's call-site parameters (frames[i+1]), as gdb
// does; what cannot be recovered is "<optimized out>". Each Var's Val can
// be expanded with Children.
func (f *File) FrameVars(frames []Frame, i, inline int, mem Memory) (params, locals []Var, err error) {
	sc, err := f.frameScope(frames, i, inline, mem)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			params, locals, err = nil, nil, fmt.Errorf("malformed DWARF: %v", p)
		}
	}()
	for _, e := range sc.params {
		params = append(params, sc.ctx.variable(e, true))
	}
	for _, blk := range sc.locals {
		for _, e := range blk {
			locals = append(locals, sc.ctx.variable(e, false))
		}
	}
	return params, locals, nil
}

// frameScope is what one frame sees: its evaluation context, its
// parameters' DIEs and its locals' DIEs by block, innermost block first.
type frameScope struct {
	ctx    *evalCtx
	params []*dwarf.Entry
	locals [][]*dwarf.Entry
}

func (f *File) frameScope(frames []Frame, i, inline int, mem Memory) (sc *frameScope, err error) {
	if i < 0 || i >= len(frames) {
		return nil, fmt.Errorf("no frame %d", i)
	}
	fr := frames[i]
	if !f.hasDW {
		return nil, errNoDWARF
	}
	defer func() {
		if p := recover(); p != nil {
			sc, err = nil, fmt.Errorf("malformed DWARF: %v", p)
		}
	}()
	pc := fr.PC
	if fr.How != "stop" && fr.How != "exception frame" {
		pc-- // the call instruction
	}
	var u *unit
	fi := -1
	for _, cand := range f.unitsFor(pc) {
		if fi = f.funcAt(cand, pc); fi >= 0 {
			u = cand
			break
		}
	}
	if u == nil {
		return nil, fmt.Errorf("no function at %#x", pc)
	}
	for k := 0; k < inline; k++ {
		fn := u.funcs[fi]
		if !fn.inlined || fn.parent < 0 {
			return nil, fmt.Errorf("no inline frame %d at %#x", inline, pc)
		}
		fi = int(fn.parent)
	}
	// The frame base comes from the out-of-line function.
	outer := fi
	for u.funcs[outer].inlined && u.funcs[outer].parent >= 0 {
		outer = int(u.funcs[outer].parent)
	}
	ctx := &evalCtx{f: f, u: u, regs: fr.Regs, cfa: fr.CFA, pc: pc, mem: mem, frames: frames, idx: i}
	if fb, ok := f.frameBaseExpr(u.funcs[outer]); ok {
		if v, pieces, err := ctx.exec(fb, true); err == nil {
			if len(pieces) == 1 && pieces[0].Kind == op.RegPiece {
				v = int64(fr.Regs.R[pieces[0].Val])
			}
			ctx.frameBase = uint64(v)
		}
	}
	sc = &frameScope{ctx: ctx}
	// Read the function's children: parameters, variables, and blocks
	// whose ranges contain pc.
	r := f.dwarfData().Reader()
	fn := u.funcs[fi]
	r.Seek(fn.off)
	if e, err := r.Next(); err != nil || e == nil || !e.Children {
		return sc, err
	}
	type block struct{ vars []*dwarf.Entry }
	depth := 0
	cur := &block{}
	blocks := []*block{cur}
	// stack of blocks per DIE depth; nil means "not in scope, skip".
	stack := []*block{cur}
	for depth >= 0 {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == 0 {
			stack = stack[:len(stack)-1]
			depth--
			continue
		}
		b := stack[len(stack)-1]
		var child *block
		switch e.Tag {
		case dwarf.TagFormalParameter:
			if b != nil && depth == 0 {
				sc.params = append(sc.params, e)
			}
		case dwarf.TagVariable:
			if b != nil {
				b.vars = append(b.vars, e)
			}
		case dwarf.TagLexDwarfBlock:
			if b != nil {
				rg, _ := f.dwarfData().Ranges(e)
				for _, x := range rg {
					if pc >= x[0] && pc < x[1] {
						child = &block{}
						blocks = append(blocks, child)
					}
				}
			}
		}
		if e.Children {
			stack = append(stack, child)
			depth++
		}
	}
	for k := len(blocks) - 1; k >= 0; k-- {
		sc.locals = append(sc.locals, blocks[k].vars)
	}
	return sc, nil
}

// evalCtx evaluates DWARF expressions for one frame.
type evalCtx struct {
	f         *File
	u         *unit
	regs      Regs
	cfa       uint64
	frameBase uint64
	pc        uint64
	mem       Memory
	frames    []Frame
	idx       int
	// gone lists, per DW_OP_piece of the last rewritten expression,
	// whether the piece is unavailable (no location before it).
	gone      []bool
	pieceGone []bool
}

func (c *evalCtx) variable(e *dwarf.Entry, param bool) Var {
	v := Var{Param: param}
	var typ dwarf.Type
	v.Name, typ = c.varType(e)
	if typ != nil {
		v.Type = typeName(typ)
	}
	val, gone, addr, err := c.value(e, typ)
	v.Addr = addr
	switch {
	case errors.Is(err, errOptimizedOut):
		v.Value = "<optimized out>"
	case err != nil:
		v.Value = fmt.Sprintf("<error: %v>", err)
	default:
		v.Value = c.f.formatMasked(typ, val, gone, c.mem, 0)
	}
	v.Val = c.f.newValue(v.Name, v.Name, typ, val, gone, addr, err)
	c.f.finish(&v.Val, c.mem)
	return v
}

// varType returns a variable DIE's name and type, following
// DW_AT_abstract_origin for inlined and out-of-line copies.
func (c *evalCtx) varType(e *dwarf.Entry) (string, dwarf.Type) {
	name, _ := e.Val(dwarf.AttrName).(string)
	src := e
	off, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
	if !ok {
		off, ok = e.Val(dwarf.AttrSpecification).(dwarf.Offset)
	}
	if ok {
		r := c.f.dwarfData().Reader()
		r.Seek(off)
		if oe, err := r.Next(); err == nil && oe != nil {
			src = oe
			if name == "" {
				name, _ = oe.Val(dwarf.AttrName).(string)
			}
		}
	}
	toff, ok := e.Val(dwarf.AttrType).(dwarf.Offset)
	if !ok {
		toff, ok = src.Val(dwarf.AttrType).(dwarf.Offset)
	}
	if ok {
		if t, err := c.f.dwarfData().Type(toff); err == nil {
			return name, t
		}
	}
	return name, nil
}

// value returns the variable's bytes, which of them are unavailable, and
// its address when it lives in memory.
func (c *evalCtx) value(e *dwarf.Entry, typ dwarf.Type) (val []byte, gone []bool, addr uint64, err error) {
	val, addr, err = c.value1(e, typ)
	if err == nil && c.pieceGone != nil {
		gone = c.pieceGone
	}
	return val, gone, addr, err
}

func (c *evalCtx) value1(e *dwarf.Entry, typ dwarf.Type) ([]byte, uint64, error) {
	c.pieceGone = nil
	size := 8
	if typ != nil && typ.Size() > 0 {
		size = int(typ.Size())
	}
	if size > 1<<20 {
		return nil, 0, fmt.Errorf("variable of %d bytes", size)
	}
	if cv := e.Val(dwarf.AttrConstValue); cv != nil {
		switch x := cv.(type) {
		case int64:
			b := make([]byte, 8)
			binary.LittleEndian.PutUint64(b, uint64(x))
			return fit(b, size), 0, nil
		case []byte:
			return fit(x, size), 0, nil
		case string: // DW_FORM_strp: a char array's contents
			return fit(append([]byte(x), 0), size), 0, nil
		}
	}
	field := e.AttrField(dwarf.AttrLocation)
	if field == nil {
		return nil, 0, errOptimizedOut
	}
	var expr []byte
	switch field.Class {
	case dwarf.ClassExprLoc, dwarf.ClassBlock:
		expr, _ = field.Val.([]byte)
	case dwarf.ClassLocListPtr, dwarf.ClassLocList:
		off, _ := field.Val.(int64)
		x, err := c.locList(off, field.Class == dwarf.ClassLocList)
		if err != nil {
			return nil, 0, err
		}
		expr = x
	default:
		return nil, 0, errOptimizedOut
	}
	if len(expr) == 0 {
		return nil, 0, errOptimizedOut
	}
	addr, pieces, err := c.exec(expr, false)
	if err != nil {
		return nil, 0, err
	}
	if len(pieces) == 0 {
		b := make([]byte, size)
		if _, err := c.mem.ReadAt(b, addr); err != nil {
			return nil, uint64(addr), fmt.Errorf("cannot read %d bytes at %#x", size, addr)
		}
		return b, uint64(addr), nil
	}
	var out []byte
	var gone []bool
	for k, p := range pieces {
		n := p.Size
		if n == 0 {
			n = size
		}
		g := k < len(c.gone) && c.gone[k]
		for j := 0; j < n; j++ {
			gone = append(gone, g)
		}
		if g {
			out = append(out, make([]byte, n)...)
			continue
		}
		switch p.Kind {
		case op.RegPiece:
			v, ok := c.regs.Get(int(p.Val))
			if !ok {
				return nil, 0, errOptimizedOut
			}
			b := make([]byte, 8)
			binary.LittleEndian.PutUint64(b, v)
			out = append(out, fit(b, n)...)
		case op.AddrPiece:
			b := make([]byte, n)
			if _, err := c.mem.ReadAt(b, int64(p.Val)); err != nil {
				return nil, 0, fmt.Errorf("cannot read %d bytes at %#x", n, p.Val)
			}
			out = append(out, b...)
		case op.ImmPiece:
			b := p.Bytes
			if b == nil {
				b = make([]byte, 8)
				binary.LittleEndian.PutUint64(b, p.Val)
			}
			out = append(out, fit(b, n)...)
		}
	}
	if len(gone) >= size {
		c.pieceGone = gone[:size]
	}
	return fit(out, size), 0, nil
}

func fit(b []byte, n int) []byte {
	if len(b) >= n {
		return b[:n]
	}
	return append(append([]byte(nil), b...), make([]byte, n-len(b))...)
}

// locList finds the expression valid at pc in a location list (DWARF 5,
// 2.6.2; .debug_loclists for DWARF 5, .debug_loc before) with delve's
// loclist readers.
func (c *evalCtx) locList(off int64, indexed bool) ([]byte, error) {
	sec := &c.f.sec
	loc, loclists := c.f.locSections()
	var debugAddr *godwarf.DebugAddr
	if len(sec.addr) > 0 {
		debugAddr = godwarf.ParseAddr(sec.addr).GetSubsection(c.u.addrBase)
	}
	var e *loclist.Entry
	var err error
	if len(loclists) > 0 && c.u.hasLocBase || len(loc) == 0 {
		if indexed {
			// DW_FORM_loclistx: an index into the offsets table after loclists_base.
			i := c.u.locBase + uint64(off)*4
			if i+4 > uint64(len(loclists)) {
				return nil, fmt.Errorf("loclist index %d out of range", off)
			}
			off = int64(c.u.locBase) + int64(binary.LittleEndian.Uint32(loclists[i:]))
		}
		return c.findLocList5(off)
	} else {
		if off < 0 || off >= int64(len(loc)) {
			return nil, fmt.Errorf("location list offset %#x out of range", off)
		}
		e, err = loclist.NewDwarf2Reader(loc, 8).Find(int(off), 0, c.u.lowPC, c.pc, debugAddr)
	}
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, errOptimizedOut
	}
	return e.Instr, nil
}

// exec runs a location expression with delve's evaluator after rewriting
// what it lacks: DW_OP_addrx/constx become DW_OP_addr/const8u; entry
// values, implicit pointers and typed-stack operations make the value
// "optimized out" (as gdb says when it cannot recover them either).
func (c *evalCtx) exec(expr []byte, frameBase bool) (int64, []op.Piece, error) {
	x, err := c.rewrite(expr)
	if err != nil {
		return 0, nil, err
	}
	dr := dwarfRegs(c.regs)
	dr.CFA = int64(c.cfa)
	dr.FrameBase = int64(c.frameBase)
	read := func(b []byte, a uint64) (int, error) { return c.mem.ReadAt(b, int64(a)) }
	return op.ExecuteStackProgram(*dr, x, 8, read)
}
