package symbols

import (
	"debug/elf"
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Syntax selects the assembly syntax of Disassemble.
type Syntax int

// Assembly syntaxes.
const (
	// ATT is AT&T syntax as GNU objdump -d prints it.
	ATT Syntax = iota
	// Intel is Intel syntax as GNU objdump -d -M intel prints it.
	Intel
)

// Insn is one disassembled instruction.
type Insn struct {
	Addr  uint64
	Bytes []byte
	// Mnemonic is the operation with its prefixes ("call", "rep stos",
	// "cs nopw"); Operands the rest ("%rsp,%rbp", "401136 <leaf>").
	Mnemonic, Operands string
	// Text is the instruction as objdump prints it: the mnemonic padded
	// to six columns, the operands, and for rip-relative operands a
	// comment "        # 404018 <global_counter>".
	Text string
	// Target is the address a direct jump or call goes to, or the
	// address a rip-relative operand refers to (0 when none); TargetSym
	// names it "func+0x24" ("" when no symbol covers it).
	Target    uint64
	TargetSym string
	// Branch says Target is a direct jump, call or loop target.
	Branch bool
	// Bad marks bytes that do not decode: Text is ".byte 0x.." (one byte).
	Bad bool
}

// special are the instructions x86asm does not know or decodes wrongly
// (Intel SDM Vol. 2: ENDBR64, VMCALL, CLAC, STAC, ...; AMD APM Vol. 3:
// VMMCALL), matched on their exact bytes.
var special = []struct {
	code []byte
	name string
}{
	{[]byte{0x66, 0x90}, "xchg %ax,%ax"},
	{[]byte{0xf3, 0x0f, 0x1e, 0xfa}, "endbr64"},
	{[]byte{0xf3, 0x0f, 0x1e, 0xfb}, "endbr32"},
	{[]byte{0x0f, 0x01, 0xc1}, "vmcall"},
	{[]byte{0x0f, 0x01, 0xc2}, "vmlaunch"},
	{[]byte{0x0f, 0x01, 0xc3}, "vmresume"},
	{[]byte{0x0f, 0x01, 0xc4}, "vmxoff"},
	{[]byte{0x0f, 0x01, 0xd9}, "vmmcall"},
	{[]byte{0x0f, 0x01, 0xca}, "clac"},
	{[]byte{0x0f, 0x01, 0xcb}, "stac"},
	{[]byte{0x0f, 0x01, 0xc8}, "monitor %rax,%ecx,%edx"},
	{[]byte{0x0f, 0x01, 0xc9}, "mwait  %eax,%ecx"},
	{[]byte{0x0f, 0x01, 0xd0}, "xgetbv"},
	{[]byte{0x0f, 0x01, 0xd1}, "xsetbv"},
	{[]byte{0x0f, 0x01, 0xf8}, "swapgs"},
	{[]byte{0x0f, 0x01, 0xf9}, "rdtscp"},
}

// Disassemble decodes the instructions in [lo, hi) read from mem (the
// File itself for the image's code) in 64-bit mode.
func (f *File) Disassemble(lo, hi uint64, mem Memory, syn Syntax) ([]Insn, error) {
	if hi <= lo {
		return nil, nil
	}
	if hi-lo > 16<<20 {
		return nil, fmt.Errorf("range [%#x, %#x) too large", lo, hi)
	}
	code := make([]byte, hi-lo)
	if _, err := mem.ReadAt(code, int64(lo)); err != nil {
		return nil, fmt.Errorf("cannot read code at %#x: %v", lo, err)
	}
	var out []Insn
	for off := 0; off < len(code); {
		in := f.decode(code[off:], lo+uint64(off), syn)
		out = append(out, in)
		off += len(in.Bytes)
	}
	return out, nil
}

// decode decodes one instruction at pc from b.
func (f *File) decode(b []byte, pc uint64, syn Syntax) (in Insn) {
	in.Addr = pc
	defer func() {
		if recover() != nil { // x86asm must not take the debugger down
			in = badInsn(b, pc)
		}
		in.Text = in.Mnemonic
		if in.Operands != "" {
			in.Text = fmt.Sprintf("%-6s %s", in.Mnemonic, in.Operands)
		}
		if in.Target != 0 && !in.Branch {
			in.Text += "        # " + f.addrText(in.Target)
		}
	}()
	for _, s := range special {
		if len(b) >= len(s.code) && string(b[:len(s.code)]) == string(s.code) {
			in.Bytes = b[:len(s.code)]
			in.Mnemonic, in.Operands, _ = strings.Cut(s.name, " ")
			in.Operands = strings.TrimSpace(in.Operands)
			if syn == Intel {
				in.Operands = strings.ReplaceAll(in.Operands, "%", "")
			}
			return in
		}
	}
	inst, err := x86asm.Decode(b, 64)
	if err != nil || inst.Len == 0 || inst.Op == 0 {
		return badInsn(b, pc)
	}
	in.Bytes = b[:inst.Len]
	if syn == Intel {
		in.Mnemonic, in.Operands = f.intelText(inst, in.Bytes, pc, x86asm.IntelSyntax(inst, pc, nil))
	} else {
		nargs := 0
		for _, a := range inst.Args {
			if a != nil {
				nargs++
			}
		}
		in.Mnemonic, in.Operands = splitInsn(x86asm.GNUSyntax(inst, pc, nil), nargs)
		in.Mnemonic, in.Operands = attText(inst, in.Bytes, in.Mnemonic, in.Operands)
	}
	for _, a := range inst.Args {
		switch x := a.(type) {
		case x86asm.Rel:
			in.Target = pc + uint64(inst.Len) + uint64(int64(x))
			in.Branch = true
		case x86asm.Mem:
			if x.Base == x86asm.RIP {
				in.Target = pc + uint64(inst.Len) + uint64(x.Disp)
			}
		}
	}
	if in.Target != 0 {
		in.TargetSym = f.objdumpSym(in.Target)
	}
	if in.Branch {
		in.Operands = f.addrText(in.Target)
	}
	return in
}

func badInsn(b []byte, pc uint64) Insn {
	if len(b) == 0 {
		return Insn{Addr: pc, Mnemonic: ".byte", Bad: true}
	}
	return Insn{Addr: pc, Bytes: b[:1], Mnemonic: ".byte", Operands: fmt.Sprintf("%#x", b[0]), Bad: true}
}

// splitInsn splits x86asm's GNU text into mnemonic (with prefixes) and
// operands: x86asm separates them by one space, and AT&T operands hold
// no spaces.
func splitInsn(text string, nargs int) (string, string) {
	if nargs == 0 {
		return text, ""
	}
	if i := strings.LastIndexByte(text, ' '); i > 0 {
		return text[:i], text[i+1:]
	}
	return text, ""
}

func isPrefixWord(w string) bool {
	switch w {
	case "rep", "repe", "repz", "repne", "repnz", "lock", "cs", "ds", "es", "fs", "gs", "ss",
		"data16", "data32", "addr16", "addr32", "rex", "rex.w", "bnd", "notrack", "xacquire", "xrelease":
		return true
	}
	return strings.HasPrefix(w, "rex.")
}

// addrText is objdump's "404018 <sym+0x4>" for an address ("0x404018"
// in an image without symbols).
func (f *File) addrText(a uint64) string {
	if len(f.syms) == 0 {
		return fmt.Sprintf("%#x", a)
	}
	s := fmt.Sprintf("%x", a)
	if sym := f.objdumpSym(a); sym != "" {
		s += " <" + sym + ">"
	}
	return s
}

// objdumpSym names addr the way objdump's disassembler does: the closest
// symbol at or below it in the same section, "+0x.." for an offset.
func (f *File) objdumpSym(addr uint64) string {
	// Outside every section objdump still takes the closest symbol below.
	secIdx := -1
	if sec, ok := f.SectionAt(addr); ok {
		secIdx = sec.index
	}
	best := -1
	for i := range f.syms {
		s := &f.syms[i]
		if s.Name == "" || (secIdx >= 0 && int(s.shndx) != secIdx) || s.Addr > addr || s.shndx >= elf.SHN_LORESERVE {
			continue
		}
		if best < 0 || s.Addr > f.syms[best].Addr || (s.Addr == f.syms[best].Addr && betterObjdumpSym(s, &f.syms[best], addr)) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	s := &f.syms[best]
	if addr == s.Addr {
		return s.Name
	}
	return fmt.Sprintf("%s+%#x", s.Name, addr-s.Addr)
}

// betterObjdumpSym prefers, among symbols at one address, one whose size
// covers addr, then functions over other kinds and global over local ones
// (objdump's compare_symbols and find_symbol_for_address).
func betterObjdumpSym(a, b *Symbol, addr uint64) bool {
	ac, bc := addr < a.Addr+a.Size, addr < b.Addr+b.Size
	if ac != bc {
		return ac
	}
	if (a.Kind == SymFunc) != (b.Kind == SymFunc) {
		return a.Kind == SymFunc
	}
	if (a.Bind == BindLocal) != (b.Bind == BindLocal) {
		return a.Bind != BindLocal
	}
	return a.Name < b.Name
}

// AsmLine is one line of a mixed source and assembly listing: a source
// line (Insn nil) that heads the instructions after it, or an instruction.
type AsmLine struct {
	// File and Line name the source line; Text is its text ("" when the
	// file cannot be read).
	File string
	Line int
	Text string
	Insn *Insn
}

// DisassembleSource is Disassemble in mixed mode, like gdb's
// `disassemble /s`: before each run of instructions on one source line
// (LineAt, gdb's row choice) comes that line.
func (f *File) DisassembleSource(lo, hi uint64, mem Memory, syn Syntax) ([]AsmLine, error) {
	insns, err := f.Disassemble(lo, hi, mem, syn)
	if err != nil {
		return nil, err
	}
	var out []AsmLine
	lastFile, lastLine := "", -1
	for i := range insns {
		if li, ok := f.LineAt(insns[i].Addr); ok && li.Line > 0 && (li.File != lastFile || li.Line != lastLine) {
			text, _ := f.SourceLine(li.File, li.Line)
			out = append(out, AsmLine{File: li.File, Line: li.Line, Text: text})
			lastFile, lastLine = li.File, li.Line
		}
		out = append(out, AsmLine{Insn: &insns[i]})
	}
	return out, nil
}
