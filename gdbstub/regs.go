package gdbstub

import (
	"encoding/binary"
	"fmt"
	"strings"

	"ukw/guest"
)

// RegInfo describes one register of an RSP register layout: its name as
// gdb spells it, its size, and the guest.Reg backing it (-1 when the
// backend has no such register: it reads as Default, writes are dropped).
type RegInfo struct {
	Name    string
	Bits    int
	Type    string // target.xml type
	Group   string // target.xml group, "" for gdb's default
	Feature string // target.xml feature this register belongs to
	Reg     guest.Reg
	Default uint64
}

// Feature names of gdb's x86-64 target descriptions (GDB manual, G.5.1
// "i386 Features").
const (
	featCore     = "org.gnu.gdb.i386.core"
	featSSE      = "org.gnu.gdb.i386.sse"
	featSegments = "org.gnu.gdb.i386.segments"
	// featSys is ukw's own feature for the control registers; gdb shows
	// registers of features it does not know in `info registers`.
	featSys = "org.ukw.x86.sys"
)

const noReg guest.Reg = -1

// amd64Layout is THE table of the GDB `g` packet order ukw serves for
// i386:x86-64, one entry per register number. Source: gdb's
// gdb/features/i386/64bit-core.xml (rax..gs, st0..fop), 64bit-sse.xml
// (xmm0..xmm15, mxcsr) and 64bit-segments.xml (fs_base, gs_base), in that
// order, then ukw's control-register feature. gdb numbers registers in
// target.xml order, and `g`/`G` carry them in that order, each in target
// byte order (little-endian) and its bitsize (GDB manual, E.2 "Packets",
// ‘g’; G.2 "Target Description Format"). The first 57 entries are also
// gdb's built-in amd64 layout, used when a stub sends no target.xml.
var amd64Layout = buildAMD64Layout()

func buildAMD64Layout() []RegInfo {
	var l []RegInfo
	add := func(name string, bits int, typ, group, feat string, reg guest.Reg, def uint64) {
		l = append(l, RegInfo{Name: name, Bits: bits, Type: typ, Group: group, Feature: feat, Reg: reg, Default: def})
	}
	gprs := []guest.Reg{guest.RAX, guest.RBX, guest.RCX, guest.RDX, guest.RSI, guest.RDI, guest.RBP, guest.RSP,
		guest.R8, guest.R9, guest.R10, guest.R11, guest.R12, guest.R13, guest.R14, guest.R15}
	for _, r := range gprs {
		typ := "int64"
		if r == guest.RBP || r == guest.RSP {
			typ = "data_ptr"
		}
		add(r.String(), 64, typ, "", featCore, r, 0)
	}
	add("rip", 64, "code_ptr", "", featCore, guest.RIP, 0)
	add("eflags", 32, "i386_eflags", "", featCore, guest.RFLAGS, 0)
	for _, r := range []guest.Reg{guest.CS, guest.SS, guest.DS, guest.ES, guest.FS, guest.GS} {
		add(r.String(), 32, "int32", "", featCore, r, 0)
	}
	for i := 0; i < 8; i++ {
		add(fmt.Sprintf("st%d", i), 80, "i387_ext", "", featCore, noReg, 0)
	}
	for _, n := range []string{"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"} {
		def := uint64(0)
		switch n {
		case "fctrl":
			def = 0x37f // FNINIT state (Intel SDM Vol. 1, 8.1.5)
		case "ftag":
			def = 0xffff
		}
		add(n, 32, "int", "float", featCore, noReg, def)
	}
	for i := 0; i < 16; i++ {
		add(fmt.Sprintf("xmm%d", i), 128, "vec128", "", featSSE, noReg, 0)
	}
	add("mxcsr", 32, "i386_mxcsr", "vector", featSSE, noReg, 0x1f80)
	add("fs_base", 64, "int", "", featSegments, guest.FSBase, 0)
	add("gs_base", 64, "int", "", featSegments, guest.GSBase, 0)
	for _, r := range []guest.Reg{guest.CR0, guest.CR2, guest.CR3, guest.CR4, guest.CR8, guest.EFER} {
		add(r.String(), 64, "int64", "", featSys, r, 0)
	}
	return l
}

// defaultBuiltinRegs is how many registers of amd64Layout gdb's built-in
// amd64 description has (rax..mxcsr).
const defaultBuiltinRegs = 57

// Layout is an RSP register layout: the registers of a `g` packet in order.
type Layout []RegInfo

// AMD64 returns ukw's i386:x86-64 layout (a copy).
func AMD64() Layout { return append(Layout(nil), amd64Layout...) }

// Size is the byte length of a `g` packet's data in this layout.
func (l Layout) Size() int {
	n := 0
	for _, r := range l {
		n += r.Bits / 8
	}
	return n
}

// Index returns the register number of reg in the layout, or -1.
func (l Layout) Index(reg guest.Reg) int {
	for i, r := range l {
		if r.Reg == reg {
			return i
		}
	}
	return -1
}

// putReg writes v little-endian into b (len(b) bytes, zero-extended).
func putReg(b []byte, v uint64) {
	clear(b)
	var tmp [8]byte
	binary.LittleEndian.PutUint64(tmp[:], v)
	copy(b, tmp[:])
}

// getReg reads a little-endian value of len(b) bytes (at most the low 8).
func getReg(b []byte) uint64 {
	var tmp [8]byte
	copy(tmp[:], b)
	return binary.LittleEndian.Uint64(tmp[:])
}

// Encode returns the register bytes of r in layout order (the raw `g` data).
func (l Layout) Encode(r *guest.Regs) []byte {
	out := make([]byte, l.Size())
	off := 0
	for _, ri := range l {
		n := ri.Bits / 8
		v := ri.Default
		if ri.Reg != noReg {
			v = r.Get(ri.Reg)
		}
		putReg(out[off:off+n], v)
		off += n
	}
	return out
}

// Decode stores raw `g` data into r. Registers the layout has but Regs does
// not are ignored. data shorter than the layout (gdb allows a stub to send
// fewer registers) updates only the registers it covers fully.
func (l Layout) Decode(data []byte, r *guest.Regs) {
	off := 0
	for _, ri := range l {
		n := ri.Bits / 8
		if off+n > len(data) {
			return
		}
		if ri.Reg != noReg {
			r.Set(ri.Reg, getReg(data[off:off+n]))
		}
		off += n
	}
}

// Offset returns the byte offset and size of register number i.
func (l Layout) Offset(i int) (off, size int) {
	for j := 0; j < i; j++ {
		off += l[j].Bits / 8
	}
	return off, l[i].Bits / 8
}

// TargetXML renders the layout as a target description (GDB manual, G.2
// "Target Description Format") for qXfer:features:read:target.xml.
func (l Layout) TargetXML() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n" + `<!DOCTYPE target SYSTEM "gdb-target.dtd">` + "\n")
	b.WriteString("<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n")
	feat := ""
	for i, r := range l {
		if r.Feature != feat {
			if feat != "" {
				b.WriteString("</feature>\n")
			}
			feat = r.Feature
			fmt.Fprintf(&b, "<feature name=%q>\n", feat)
			if feat == featCore {
				b.WriteString(coreTypes)
			}
			if feat == featSSE {
				b.WriteString(sseTypes)
			}
		}
		fmt.Fprintf(&b, "<reg name=%q bitsize=\"%d\" type=%q regnum=\"%d\"", r.Name, r.Bits, r.Type, i)
		if r.Group != "" {
			fmt.Fprintf(&b, " group=%q", r.Group)
		}
		b.WriteString("/>\n")
	}
	if feat != "" {
		b.WriteString("</feature>\n")
	}
	b.WriteString("</target>\n")
	return b.String()
}

// coreTypes and sseTypes are the type definitions 64bit-core.xml and
// 64bit-sse.xml carry (the flag bits of eflags and mxcsr, the vector union),
// so that gdb prints "[ ZF PF IF ]" and xmm registers as it does natively.
const coreTypes = `<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/>
<field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/>
<field name="SF" start="7" end="7"/><field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/>
<field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/>
<field name="RF" start="16" end="16"/><field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/>
<field name="VIF" start="19" end="19"/><field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/>
</flags>
`

const sseTypes = `<vector id="v4f" type="ieee_single" count="4"/>
<vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/>
<vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/>
<vector id="v2i64" type="int64" count="2"/>
<union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>
<field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/>
<field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>
<flags id="i386_mxcsr" size="4">
<field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/><field name="ZE" start="2" end="2"/>
<field name="OE" start="3" end="3"/><field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
<field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/><field name="DM" start="8" end="8"/>
<field name="ZM" start="9" end="9"/><field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
<field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
</flags>
`
