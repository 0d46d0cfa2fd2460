package symbols

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// This file turns x86asm's decoding into GNU objdump 2.40's text. x86asm's
// GNUSyntax follows an older objdump (callq, retq, signed immediates, no
// explicit zero displacement or scale 1); its IntelSyntax follows XED.
// The rules below are the differences the objdump tests found.

// encoding describes the parts of an instruction's bytes that x86asm does
// not report: the number of 0x66 prefixes, explicit segment prefixes and
// whether the ModRM form encodes a displacement (Intel SDM Vol. 2, 2.1).
type encoding struct {
	opsize   int    // count of 0x66 prefix bytes
	seg      string // "cs", "ds", "es", "ss" for an explicit override ignored in 64-bit mode
	dispEnc  bool   // a displacement byte or word is encoded (mod 1 or 2, or SIB base 5)
	modrmMem bool   // the ModRM operand is in memory
	shift1   bool   // D0-D3: shift or rotate by one
}

func scanEncoding(b []byte) encoding {
	var e encoding
	i := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case 0x66:
			e.opsize++
			continue
		case 0x2e:
			e.seg = "cs"
			continue
		case 0x3e:
			e.seg = "ds"
			continue
		case 0x26:
			e.seg = "es"
			continue
		case 0x36:
			e.seg = "ss"
			continue
		case 0x67, 0xf0, 0xf2, 0xf3, 0x64, 0x65:
			continue
		}
		break
	}
	if i < len(b) && b[i] >= 0x40 && b[i] <= 0x4f {
		i++
	}
	if i >= len(b) {
		return e
	}
	switch {
	case b[i] == 0xc5:
		i += 3
	case b[i] == 0xc4:
		i += 4
	case b[i] == 0x0f && i+1 < len(b) && (b[i+1] == 0x38 || b[i+1] == 0x3a):
		i += 3
	case b[i] == 0x0f:
		i += 2
	default:
		e.shift1 = b[i] >= 0xd0 && b[i] <= 0xd3 && b[i]&2 == 0
		i++
	}
	if i >= len(b) {
		return e
	}
	mod, rm := b[i]>>6, b[i]&7
	e.modrmMem = mod != 3
	switch {
	case mod == 1 || mod == 2:
		e.dispEnc = true
	case mod == 0 && rm == 4 && i+1 < len(b) && b[i+1]&7 == 5:
		e.dispEnc = true
	case mod == 0 && rm == 5: // rip-relative
		e.dispEnc = true
	}
	return e
}

// immSize is the operand size in bytes an immediate is printed in: the
// size of the other operand (objdump prints immediates unsigned in it).
func immSize(inst x86asm.Inst) int {
	for _, a := range inst.Args {
		switch x := a.(type) {
		case x86asm.Reg:
			if n := regBytes(x); n > 0 {
				return n
			}
		case x86asm.Mem:
			if inst.MemBytes > 0 {
				return inst.MemBytes
			}
		}
	}
	if inst.DataSize > 0 {
		return inst.DataSize / 8
	}
	return 8
}

func regBytes(r x86asm.Reg) int {
	switch {
	case r >= x86asm.AL && r <= x86asm.R15B:
		return 1
	case r >= x86asm.AX && r <= x86asm.R15W:
		return 2
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return 4
	case r >= x86asm.RAX && r <= x86asm.R15:
		return 8
	}
	return 0
}

func immText(v int64, size int) string {
	if v >= 0 || size >= 8 {
		return fmt.Sprintf("%#x", uint64(v))
	}
	return fmt.Sprintf("%#x", uint64(v)&(1<<(8*uint(size))-1))
}

var (
	attSIBRe = regexp.MustCompile(`\((%[a-z0-9]+)?,(%[a-z0-9]+)\)`)
	attRizRe = regexp.MustCompile(`\((%rsp|%r12|%esp|%r12d),%[re]iz\)`)
	attImmRe = regexp.MustCompile(`\$-0x[0-9a-f]+`)
	attSegRe = regexp.MustCompile(`%(cs|ds|es|ss):`)
	gnuDropQ = map[string]string{"callq": "call", "retq": "ret", "leaveq": "leave", "jmpq": "jmp", "pushq": "push", "popq": "pop",
		"pushfq": "pushf", "popfq": "popf", "lgdtl": "lgdt", "lidtl": "lidt", "sgdtl": "sgdt", "sidtl": "sidt",
		"lgdtq": "lgdt", "lidtq": "lidt", "sgdtq": "sgdt", "sidtq": "sidt",
		"cdqe": "cltq", "cwde": "cwtl", "cdq": "cltd", "cqo": "cqto", "cwd": "cwtd", "cbw": "cbtw"}
	jccIntel  = map[string]string{"jz": "je", "jnz": "jne", "jnbe": "ja", "jnb": "jae", "jnae": "jb", "jna": "jbe", "jnle": "jg", "jnl": "jge", "jnge": "jl", "jng": "jle", "jpe": "jp", "jpo": "jnp", "cmovz": "cmove", "cmovnz": "cmovne", "cmovnbe": "cmova", "cmovnb": "cmovae", "cmovnle": "cmovg", "cmovnl": "cmovge", "setz": "sete", "setnz": "setne", "setnbe": "seta", "setnb": "setae", "setnle": "setg", "setnl": "setge"}
	intelSize = map[int]string{1: "BYTE", 2: "WORD", 4: "DWORD", 6: "FWORD", 8: "QWORD", 10: "TBYTE", 16: "XMMWORD", 32: "YMMWORD", 64: "ZMMWORD"}
)

// prefixWords is objdump's rendering of prefixes it prints as words:
// redundant operand-size prefixes ("data16") and segment overrides that
// 64-bit mode ignores ("cs").
func prefixWords(e encoding, hasMem bool) string {
	var w []string
	for i := 1; i < e.opsize; i++ {
		w = append(w, "data16")
	}
	if e.seg != "" {
		w = append(w, e.seg)
	}
	if len(w) == 0 {
		return ""
	}
	return strings.Join(w, " ") + " "
}

// attText rewrites x86asm's GNU text into objdump 2.40's.
func attText(inst x86asm.Inst, b []byte, mnem, ops string) (string, string) {
	e := scanEncoding(b)
	words := strings.Fields(mnem)
	var kept []string
	for _, w := range words {
		if w != "data16" && w != "data32" && w != "cs" && w != "ds" && w != "es" && w != "ss" {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		kept = words
	}
	op := kept[len(kept)-1]
	if r, ok := gnuDropQ[op]; ok {
		op = r
	}
	fixRepz(inst, kept)
	switch {
	case inst.Op == x86asm.MOVSXD:
		op = "movslq"
	case isMovabs(inst):
		op = "movabs"
	}
	kept[len(kept)-1] = op
	mnem = strings.Join(kept, " ")
	if e.seg != "" {
		ops = attSegRe.ReplaceAllString(ops, "")
	}
	if isMovabs(inst) && inst.Opcode>>24 < 0xb8 {
		// moffs: objdump prints the 64-bit address unsigned.
		for _, a := range inst.Args {
			if m, ok := a.(x86asm.Mem); ok && m.Disp < 0 {
				ops = strings.Replace(ops, fmt.Sprintf("-%#x", uint64(-m.Disp)), fmt.Sprintf("%#x", uint64(m.Disp)), 1)
			}
		}
	}
	if ops == "%st" {
		ops = "%st(0)" // a lone x87 st operand
	}
	ops = attRizRe.ReplaceAllString(ops, "($1)")
	ops = attSIBRe.ReplaceAllString(ops, "($1,$2,1)")
	if e.dispEnc && e.modrmMem {
		// An encoded zero displacement is printed: "0x0(%rax)".
		if i := strings.Index(ops, "("); i >= 0 && (i == 0 || strings.ContainsRune(",*", rune(ops[i-1]))) {
			ops = ops[:i] + "0x0" + ops[i:]
		}
	}
	if size := immSize(inst); strings.Contains(ops, "$-") {
		ops = attImmRe.ReplaceAllStringFunc(ops, func(s string) string {
			var v uint64
			fmt.Sscanf(s[2:], "0x%x", &v)
			return "$" + immText(int64(-v), size)
		})
	}
	return prefixWords(e, e.modrmMem) + mnem, ops
}

// intelText formats an instruction the way objdump -M intel does. The
// mnemonic comes from x86asm's Intel text; the operands are built here.
func (f *File) intelText(inst x86asm.Inst, b []byte, pc uint64, text string) (string, string) {
	e := scanEncoding(b)
	words := strings.Fields(text)
	var mn []string
	for _, w := range words {
		if w == "data16" || w == "data32" || w == "cs" || w == "ds" || w == "es" || w == "ss" {
			continue
		}
		mn = append(mn, w)
		if !isPrefixWord(w) {
			break
		}
	}
	if len(mn) == 0 {
		return text, ""
	}
	op := mn[len(mn)-1]
	if r, ok := jccIntel[op]; ok {
		op = r
	}
	if r, ok := gnuDropQ[op]; ok && strings.HasPrefix(op, "p") {
		op = r // pushfq, popfq
	}
	fixRepz(inst, mn)
	if isMovabs(inst) {
		op = "movabs"
	}
	str := isStringOp(inst.Op)
	if str {
		op = strings.TrimRight(op, "bwdq")
	}
	mn[len(mn)-1] = op
	nx87 := 0
	for _, a := range inst.Args {
		if r, ok := a.(x86asm.Reg); ok && r >= x86asm.F0 && r <= x86asm.F7 {
			nx87++
		}
	}
	var args []string
	for i, a := range inst.Args {
		if a == nil {
			break
		}
		if inst.Op == x86asm.NOP && i > 0 || inst.Op == x86asm.INT && inst.Opcode>>24 == 0xcc {
			break // x86asm lists the ModRM reg field of the multi-byte NOP, and int3's 3
		}
		switch x := a.(type) {
		case x86asm.Reg:
			if x >= x86asm.F0 && x <= x86asm.F7 {
				switch {
				case x > x86asm.F0:
					args = append(args, fmt.Sprintf("st(%d)", x-x86asm.F0))
				case nx87 == 1 && inst.Args[1] == nil:
					args = append(args, "st(0)")
				default:
					args = append(args, "st")
				}
				continue
			}
			args = append(args, intelReg(x))
		case x86asm.Imm:
			if e.shift1 {
				args = append(args, "1")
				continue
			}
			args = append(args, immText(int64(x), immSize(inst)))
		case x86asm.Rel:
			t := pc + uint64(inst.Len) + uint64(int64(x))
			args = append(args, f.addrText(t))
		case x86asm.Mem:
			args = append(args, intelMem(inst, x, e, str))
		default:
			args = append(args, strings.ToLower(a.String()))
		}
	}
	if e.shift1 && len(args) == 1 {
		args = append(args, "1")
	}
	return prefixWords(e, e.modrmMem) + strings.Join(mn, " "), strings.Join(args, ",")
}

func intelMem(inst x86asm.Inst, m x86asm.Mem, e encoding, str bool) string {
	var s strings.Builder
	size := inst.MemBytes
	switch {
	case str:
		size = map[byte]int{'b': 1, 'w': 2, 'd': 4, 'q': 8}[strings.ToLower(inst.Op.String())[len(inst.Op.String())-1]]
	case inst.Op == x86asm.INVLPG:
		size = 1
	}
	if inst.Op != x86asm.LEA && !isMovabs(inst) {
		if n, ok := intelSize[size]; ok {
			s.WriteString(n + " PTR ")
		}
	}
	switch {
	case m.Segment == x86asm.FS || m.Segment == x86asm.GS:
		s.WriteString(strings.ToLower(m.Segment.String()) + ":")
	case str && m.Base == x86asm.RDI:
		s.WriteString("es:")
	case str:
		s.WriteString("ds:")
	case m.Base == 0 && m.Index == 0:
		s.WriteString("ds:")
	}
	if m.Base == 0 && m.Index == 0 {
		fmt.Fprintf(&s, "%#x", uint64(m.Disp))
		return s.String()
	}
	s.WriteByte('[')
	parts := 0
	if m.Base != 0 {
		s.WriteString(intelReg(m.Base))
		parts++
	}
	if m.Index != 0 {
		if parts > 0 {
			s.WriteByte('+')
		}
		fmt.Fprintf(&s, "%s*%d", intelReg(m.Index), m.Scale)
		parts++
	} else if e.modrmMem && m.Base != x86asm.RSP && m.Base != x86asm.R12 && m.Base != x86asm.RIP && m.Scale > 1 {
		fmt.Fprintf(&s, "+riz*%d", m.Scale)
	}
	switch {
	case parts == 0:
		fmt.Fprintf(&s, "%#x", uint64(m.Disp))
	case m.Disp < 0:
		fmt.Fprintf(&s, "-%#x", uint64(-m.Disp))
	case m.Disp > 0 || e.dispEnc || m.Base == x86asm.RIP:
		fmt.Fprintf(&s, "+%#x", uint64(m.Disp))
	}
	s.WriteByte(']')
	return s.String()
}

// intelReg names a register the way objdump -M intel does.
func intelReg(r x86asm.Reg) string {
	switch r {
	case x86asm.SPB:
		return "spl"
	case x86asm.BPB:
		return "bpl"
	case x86asm.SIB:
		return "sil"
	case x86asm.DIB:
		return "dil"
	}
	n := strings.ToLower(r.String())
	switch {
	case r >= x86asm.R8L && r <= x86asm.R15L:
		return strings.TrimSuffix(n, "l") + "d"
	case r >= x86asm.X0 && r <= x86asm.X15:
		return "xmm" + n[1:]
	}
	return n
}

// isMovabs: MOV with a 64-bit immediate (REX.W B8+r) or a 64-bit
// absolute address (A0-A3), which objdump calls movabs.
func isMovabs(inst x86asm.Inst) bool {
	op := inst.Opcode >> 24
	return inst.Op == x86asm.MOV && (op >= 0xb8 && op <= 0xbf && inst.DataSize == 64 || op >= 0xa0 && op <= 0xa3)
}

// isStringOp: the string instructions, which objdump -M intel names
// without their size letter and shows with es:/ds: operands.
func isStringOp(op x86asm.Op) bool {
	switch op {
	case x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSW, x86asm.STOSD, x86asm.STOSQ,
		x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ, x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ,
		x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ, x86asm.INSB, x86asm.INSW, x86asm.INSD,
		x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD:
		return true
	}
	return false
}

// fixRepz renames the F3/F2 prefix of cmps and scas to repz/repnz, as
// objdump does (it says rep for the other string instructions).
func fixRepz(inst x86asm.Inst, words []string) {
	switch inst.Op {
	case x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ, x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ:
	default:
		return
	}
	for i, w := range words {
		switch w {
		case "rep", "repe":
			words[i] = "repz"
		case "repne":
			words[i] = "repnz"
		}
	}
}
