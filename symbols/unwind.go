package symbols

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/go-delve/delve/pkg/dwarf/frame"
	"github.com/go-delve/delve/pkg/dwarf/op"
)

// Memory is what the unwinder and the variable reader read guest memory
// through: an io.ReaderAt over virtual addresses.
type Memory = io.ReaderAt

// ExceptionStubPrefix starts the name of every exception entry stub of
// ukw's lib/panic. The unwinder recognises a frame whose pc lies in such a
// symbol as an exception frame and reads the interrupted state from the
// struct ukw_frame the stub built (layers/README.md). Convention
// (docs/symbols.md): when the stub calls its C handler, rsp points at the
// struct ukw_frame, so the handler's CFA is the frame's address.
const ExceptionStubPrefix = "ukw_exc_"

// ukw_frame layout (layers/README.md, "struct ukw_frame").
const (
	ukwFrameSize = 176
	ukwFrameVec  = 120
	ukwFrameErr  = 128
	ukwFrameRIP  = 136
	ukwFrameRSP  = 160
)

// ukwFrameRegs maps ukw_frame offsets of the general registers to DWARF numbers.
var ukwFrameRegs = [...]struct{ off, reg int }{
	{0, RegR15}, {8, RegR14}, {16, RegR13}, {24, RegR12}, {32, RegR11}, {40, RegR10},
	{48, RegR9}, {56, RegR8}, {64, RegRBP}, {72, RegRDI}, {80, RegRSI}, {88, RegRDX},
	{96, RegRCX}, {104, RegRBX}, {112, RegRAX},
}

// Exception describes the exception frame a Frame was interrupted by.
type Exception struct {
	Vector    int
	ErrorCode uint64
	FrameAddr uint64 // address of the struct ukw_frame
}

// Frame is one physical stack frame.
type Frame struct {
	// PC is the frame's program counter: the stop address for the
	// innermost frame and for a frame interrupted by an exception, the
	// return address otherwise.
	PC uint64
	// CFA is the canonical frame address (rsp before the call), 0 if unknown.
	CFA uint64
	// Regs are the registers as recovered for this frame.
	Regs Regs
	// Loc symbolizes the frame: Lookup(PC) for the innermost frame and
	// for interrupted frames, Lookup(PC-1) for callers (the call
	// instruction), so Loc.Frames also holds the frame's inline chain.
	Loc Location
	// How says how the frame was found: "stop" (the initial registers),
	// "cfi", "frame pointer" or "exception frame".
	How string
	// Interrupted is set when an exception interrupted this frame.
	Interrupted *Exception
}

// Backtrace is the result of Unwind.
type Backtrace struct {
	Frames []Frame
	// Reason says why unwinding stopped ("outermost frame", "no unwind
	// info for 0x..", "return address is 0", "frame loop", ...).
	Reason string
}

// UnwindMaxDepth is the default maximum number of frames Unwind returns.
const UnwindMaxDepth = 64

type frameIndex struct {
	fdes frame.FrameDescriptionEntries
	err  error
}

// fdeTable parses .eh_frame and .debug_frame once and merges them
// (delve frame.Append sorts and drops duplicates).
func (f *File) fdeTable() *frameIndex {
	f.frameOnce.Do(func() {
		fi := &frameIndex{}
		defer func() {
			if p := recover(); p != nil {
				fi.fdes, fi.err = nil, fmt.Errorf("malformed call frame information: %v", p)
			}
			f.frames = fi
		}()
		var all frame.FrameDescriptionEntries
		if s := f.elf.Section(".eh_frame"); s != nil && s.Size > 0 {
			if b, err := s.Data(); err == nil {
				fdes, err := frame.Parse(b, binary.LittleEndian, 0, 8, s.Addr)
				if err != nil {
					fi.err = fmt.Errorf(".eh_frame: %w", err)
				} else {
					all = all.Append(fdes)
				}
			}
		}
		if b := f.rawSection(".debug_frame"); len(b) > 0 {
			fdes, err := frame.Parse(b, binary.LittleEndian, 0, 8, 0)
			if err != nil {
				fi.err = fmt.Errorf(".debug_frame: %w", err)
			} else {
				all = all.Append(fdes)
			}
		}
		fi.fdes = all
	})
	return f.frames
}

func readU64(mem Memory, addr uint64) (uint64, error) {
	var b [8]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Unwind walks the stack from regs (the innermost frame's registers; rip
// and rsp must be known) reading memory through mem. It uses CFI from
// .eh_frame and .debug_frame, falls back to the rbp chain where there is
// none, and crosses lib/panic exception frames. It stops at the outermost
// frame (return address undefined or 0), when no method applies, on a
// frame that does not move up the stack, or after UnwindMaxDepth frames.
func (f *File) Unwind(regs Regs, mem Memory) Backtrace {
	return f.UnwindN(regs, mem, UnwindMaxDepth)
}

// UnwindN is Unwind with a maximum depth.
func (f *File) UnwindN(regs Regs, mem Memory, maxDepth int) Backtrace {
	var bt Backtrace
	bt.Reason = f.walk(regs, mem, maxDepth, func(cur *Frame, lookPC uint64) {
		cur.Loc = f.LookupGDB(lookPC)
		cur.Loc.Addr = cur.PC
		bt.Frames = append(bt.Frames, *cur)
	})
	return bt
}

// PCFrame is one frame found by UnwindPCs.
type PCFrame struct {
	PC  uint64 // as Frame.PC
	CFA uint64 // 0 if unknown
	// Caller is set when PC is a return address: the frame's source
	// location is that of the call, PC-1 (see LookupPC).
	Caller bool
}

// LookupPC is the address that symbolizes the frame: Unwind's Frame.Loc
// is LookupGDB(LookupPC()).
func (p PCFrame) LookupPC() uint64 {
	if p.Caller {
		return p.PC - 1
	}
	return p.PC
}

// UnwindPCs walks the stack like UnwindN but symbolizes nothing: it
// returns each frame's pc and CFA and why it stopped. A sampling profiler
// unwinds with it and names each distinct LookupPC once (LookupGDB); the
// frames are Unwind's, one for one. It appends to buf (which may be nil).
func (f *File) UnwindPCs(regs Regs, mem Memory, maxDepth int, buf []PCFrame) ([]PCFrame, string) {
	reason := f.walk(regs, mem, maxDepth, func(cur *Frame, lookPC uint64) {
		buf = append(buf, PCFrame{PC: cur.PC, CFA: cur.CFA, Caller: lookPC != cur.PC})
	})
	return buf, reason
}

// walk is the unwinder: it calls visit with each frame (its CFA set)
// and the address that symbolizes it, innermost first, and returns why
// it stopped.
func (f *File) walk(regs Regs, mem Memory, maxDepth int, visit func(cur *Frame, lookPC uint64)) string {
	cur := Frame{PC: regs.PC(), Regs: regs, How: "stop"}
	caller := false
	// The (pc, rsp) of every frame so far, for the loop guard.
	var seenBuf [16][2]uint64
	seen := seenBuf[:0]
	for {
		lookPC := cur.PC
		if caller {
			lookPC--
		}
		next, how, exc, reason := f.step(&cur, lookPC, mem)
		visit(&cur, lookPC)
		seen = append(seen, [2]uint64{cur.PC, cur.Regs.SP()})
		if reason != "" {
			return reason
		}
		if len(seen) >= maxDepth {
			return fmt.Sprintf("maximum depth %d reached", maxDepth)
		}
		if next.PC() == 0 {
			return "return address is 0"
		}
		// Loop guard: the stack grows down, so callers live at higher
		// addresses. Exception frames may switch stacks.
		if how != "exception frame" && next.SP() <= cur.Regs.SP() && !(next.SP() == cur.Regs.SP() && next.PC() != cur.PC) {
			return fmt.Sprintf("frame loop: caller rsp %#x is not above %#x", next.SP(), cur.Regs.SP())
		}
		for _, fr := range seen {
			if fr[0] == next.PC() && fr[1] == next.SP() {
				return "frame loop: a frame repeats"
			}
		}
		caller = how != "exception frame"
		cur = Frame{PC: next.PC(), Regs: next, How: how}
		cur.Interrupted = exc
	}
}

// step computes the caller's registers of cur. It returns how the caller
// was found (and the exception that interrupted it, for an exception
// frame), or a non-empty reason when unwinding ends at cur.
func (f *File) step(cur *Frame, lookPC uint64, mem Memory) (Regs, string, *Exception, string) {
	if f.inExceptionStub(lookPC) || (lookPC != cur.PC && f.inExceptionStub(cur.PC)) {
		regs, exc, err := readUkwFrame(mem, cur.Regs.SP())
		if err != nil {
			return Regs{}, "", nil, fmt.Sprintf("cannot read exception frame: %v", err)
		}
		cur.CFA = cur.Regs.SP() + ukwFrameSize
		return regs, "exception frame", exc, ""
	}
	fi := f.fdeTable()
	if fde, err := fi.fdes.FDEForPC(lookPC); err == nil {
		regs, cfa, reason := f.execCFI(fde, lookPC, cur.Regs, mem)
		if reason == "" {
			cur.CFA = cfa
			return regs, "cfi", nil, ""
		}
		return Regs{}, "", nil, reason
	}
	// No CFI. In the innermost (or an interrupted) frame the pc may sit
	// in the prologue, before rbp is set up: look at the code.
	if lookPC == cur.PC {
		if next, ok := f.prologueStep(cur, mem); ok {
			return next, "frame pointer", nil, ""
		}
	}
	// Follow the frame-pointer chain (push %rbp; mov %rsp,%rbp).
	rbp, ok := cur.Regs.Get(RegRBP)
	if !ok || rbp == 0 || rbp%8 != 0 || rbp < cur.Regs.SP() {
		return Regs{}, "", nil, fmt.Sprintf("no unwind info for %#x and no frame pointer", lookPC)
	}
	savedBP, err1 := readU64(mem, rbp)
	ret, err2 := readU64(mem, rbp+8)
	if err1 != nil || err2 != nil {
		return Regs{}, "", nil, fmt.Sprintf("no unwind info for %#x and the frame pointer %#x is unreadable", lookPC, rbp)
	}
	var next Regs
	for _, n := range []int{RegRBX, RegR12, RegR13, RegR14, RegR15} {
		if v, ok := cur.Regs.Get(n); ok {
			next.Set(n, v)
		}
	}
	next.Set(RegRBP, savedBP)
	next.Set(RegRSP, rbp+16)
	next.Set(RegRIP, ret)
	cur.CFA = rbp + 16
	return next, "frame pointer", nil, ""
}

func (f *File) inExceptionStub(pc uint64) bool {
	f.excOnce.Do(func() {
		for _, s := range f.syms {
			if strings.HasPrefix(s.Name, ExceptionStubPrefix) {
				f.hasExcStubs = true
				break
			}
		}
	})
	if !f.hasExcStubs {
		return false
	}
	s, ok := f.findFunction(pc)
	return ok && strings.HasPrefix(s.Name, ExceptionStubPrefix)
}

// readUkwFrame reads the interrupted registers from a struct ukw_frame.
func readUkwFrame(mem Memory, addr uint64) (Regs, *Exception, error) {
	var b [ukwFrameSize]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return Regs{}, nil, err
	}
	var r Regs
	for _, m := range ukwFrameRegs {
		r.Set(m.reg, binary.LittleEndian.Uint64(b[m.off:]))
	}
	r.Set(RegRIP, binary.LittleEndian.Uint64(b[ukwFrameRIP:]))
	r.Set(RegRSP, binary.LittleEndian.Uint64(b[ukwFrameRSP:]))
	exc := &Exception{
		Vector:    int(binary.LittleEndian.Uint64(b[ukwFrameVec:])),
		ErrorCode: binary.LittleEndian.Uint64(b[ukwFrameErr:]),
		FrameAddr: addr,
	}
	return r, exc, nil
}

// maxCFICache bounds the remembered CFI rows (frameRules).
const maxCFICache = 1 << 14

// frameRules is the FDE's row for pc (delve EstablishFrame: the CIE's and
// the FDE's instructions run up to pc), remembered per pc: running the
// instructions is most of an unwind step, and profiles and stops revisit
// the same pcs. The rows are only read once made.
func (f *File) frameRules(fde *frame.FrameDescriptionEntry, pc uint64) (fc *frame.FrameContext, err error) {
	f.cfiMu.Lock()
	fc, ok := f.cfiCache[pc]
	f.cfiMu.Unlock()
	if ok {
		return fc, nil
	}
	defer func() {
		if p := recover(); p != nil {
			fc, err = nil, fmt.Errorf("malformed CFI: %v", p)
		}
	}()
	fc, err = fde.EstablishFrame(pc)
	if err != nil {
		return nil, err
	}
	f.cfiMu.Lock()
	if f.cfiCache == nil {
		f.cfiCache = map[uint64]*frame.FrameContext{}
	}
	if len(f.cfiCache) < maxCFICache {
		f.cfiCache[pc] = fc
	}
	f.cfiMu.Unlock()
	return fc, nil
}

// execCFI applies the FDE's rules at pc (DWARF 5, 6.4) to regs.
func (f *File) execCFI(fde *frame.FrameDescriptionEntry, pc uint64, regs Regs, mem Memory) (next Regs, cfa uint64, reason string) {
	defer func() {
		if p := recover(); p != nil {
			reason = fmt.Sprintf("malformed CFI for %#x: %v", pc, p)
		}
	}()
	fc, err := f.frameRules(fde, pc)
	if err != nil {
		return Regs{}, 0, fmt.Sprintf("CFI for %#x: %v", pc, err)
	}
	switch fc.CFA.Rule {
	case frame.RuleCFA:
		v, ok := regs.Get(int(fc.CFA.Reg))
		if !ok {
			return Regs{}, 0, fmt.Sprintf("CFA register %s unknown at %#x", RegName(int(fc.CFA.Reg)), pc)
		}
		cfa = uint64(int64(v) + fc.CFA.Offset)
	case frame.RuleExpression:
		v, err := evalCFIExpr(fc.CFA.Expression, regs, 0, false, mem)
		if err != nil {
			return Regs{}, 0, fmt.Sprintf("CFA expression at %#x: %v", pc, err)
		}
		cfa = v
	default:
		return Regs{}, 0, fmt.Sprintf("unsupported CFA rule %d at %#x", fc.CFA.Rule, pc)
	}
	for n := 0; n < NumRegs; n++ {
		rule, ok := fc.Regs[uint64(n)]
		if !ok {
			if calleeSaved(n) && n != RegRSP {
				if v, ok := regs.Get(n); ok {
					next.Set(n, v)
				}
			}
			continue
		}
		switch rule.Rule {
		case frame.RuleUndefined:
		case frame.RuleSameVal:
			if v, ok := regs.Get(n); ok {
				next.Set(n, v)
			}
		case frame.RuleOffset:
			v, err := readU64(mem, uint64(int64(cfa)+rule.Offset))
			if err != nil {
				return Regs{}, 0, fmt.Sprintf("cannot read saved %s at %#x: %v", RegName(n), int64(cfa)+rule.Offset, err)
			}
			next.Set(n, v)
		case frame.RuleValOffset:
			next.Set(n, uint64(int64(cfa)+rule.Offset))
		case frame.RuleRegister:
			if v, ok := regs.Get(int(rule.Reg)); ok {
				next.Set(n, v)
			}
		case frame.RuleExpression, frame.RuleValExpression:
			v, err := evalCFIExpr(rule.Expression, regs, cfa, true, mem)
			if err != nil {
				return Regs{}, 0, fmt.Sprintf("CFI expression for %s at %#x: %v", RegName(n), pc, err)
			}
			if rule.Rule == frame.RuleExpression {
				if v, err = readU64(mem, v); err != nil {
					return Regs{}, 0, fmt.Sprintf("cannot read saved %s: %v", RegName(n), err)
				}
			}
			next.Set(n, v)
		}
	}
	next.Set(RegRSP, cfa)
	if _, ok := next.Get(RegRIP); !ok {
		return next, cfa, "outermost frame (return address undefined)"
	}
	return next, cfa, ""
}

// evalCFIExpr runs a DWARF expression from CFI with delve's evaluator;
// register rules get the CFA pushed first (DWARF 5, 6.4.2.3).
func evalCFIExpr(expr []byte, regs Regs, cfa uint64, pushCFA bool, mem Memory) (uint64, error) {
	if pushCFA {
		// DW_OP_constu cfa, then the expression.
		pre := []byte{0x10}
		pre = appendULEB(pre, cfa)
		expr = append(pre, expr...)
	}
	dr := dwarfRegs(regs)
	v, pieces, err := op.ExecuteStackProgram(*dr, expr, 8, func(b []byte, a uint64) (int, error) { return mem.ReadAt(b, int64(a)) })
	if err != nil {
		return 0, err
	}
	if len(pieces) > 0 {
		return 0, fmt.Errorf("composite location in CFI")
	}
	return uint64(v), nil
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// dwarfRegs converts Regs to delve's register set.
func dwarfRegs(r Regs) *op.DwarfRegisters {
	list := make([]*op.DwarfRegister, NumRegs)
	for n := 0; n < NumRegs; n++ {
		if v, ok := r.Get(n); ok {
			list[n] = op.DwarfRegisterFromUint64(v)
		}
	}
	return op.NewDwarfRegisters(0, list, binary.LittleEndian, RegRIP, RegRSP, RegRBP, 0)
}

// prologueStep unwinds a frame whose pc is at one of the first
// instructions of a standard prologue ([endbr64;] push %rbp; mov %rsp,%rbp),
// where the rbp chain does not describe the frame yet.
func (f *File) prologueStep(cur *Frame, mem Memory) (Regs, bool) {
	s, ok := f.findFunction(cur.PC)
	if !ok || s.Kind != SymFunc {
		return Regs{}, false
	}
	var code [8]byte
	if _, err := mem.ReadAt(code[:], int64(s.Addr)); err != nil {
		return Regs{}, false
	}
	start := s.Addr
	c := code[:]
	if c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa { // endbr64
		start += 4
		c = c[4:]
	}
	sp := cur.Regs.SP()
	var retAt, bpAt uint64
	switch {
	case cur.PC <= start: // nothing pushed yet
		retAt = sp
	case c[0] == 0x55 && cur.PC == start+1: // after push %rbp
		bpAt, retAt = sp, sp+8
	default:
		return Regs{}, false
	}
	ret, err := readU64(mem, retAt)
	if err != nil {
		return Regs{}, false
	}
	next := cur.Regs
	for n := 0; n < NumRegs; n++ {
		if !calleeSaved(n) {
			next.Forget(n)
		}
	}
	if bpAt != 0 {
		bp, err := readU64(mem, bpAt)
		if err != nil {
			return Regs{}, false
		}
		next.Set(RegRBP, bp)
	}
	next.Set(RegRIP, ret)
	next.Set(RegRSP, retAt+8)
	cur.CFA = retAt + 8
	return next, true
}
