package gdbstub

import (
	"testing"

	"ukw/guest"
)

func TestLayoutMatchesGDBAMD64Order(t *testing.T) {
	l := AMD64()
	// Spot checks against gdb's features/i386/64bit-core.xml numbering.
	for name, num := range map[string]int{"rax": 0, "rbx": 1, "rsp": 7, "r15": 15, "rip": 16, "eflags": 17,
		"cs": 18, "gs": 23, "st0": 24, "fop": 39, "xmm0": 40, "mxcsr": 56, "fs_base": 57, "gs_base": 58, "cr0": 59, "efer": 64} {
		if l[num].Name != name {
			t.Errorf("register %d is %q, want %q", num, l[num].Name, name)
		}
	}
	// g packet size: 16 GPRs + rip (8 each), eflags + 6 segments + 8 x87
	// control (4 each), st0-7 (10 each), xmm (16 each), mxcsr (4), then
	// fs_base, gs_base and six control registers (8 each).
	if want := 17*8 + 7*4 + 8*4 + 8*10 + 16*16 + 4 + 8*8; l.Size() != want {
		t.Fatalf("g size %d, want %d", l.Size(), want)
	}
	if defaultBuiltinRegs != l.Index(guest.FSBase) {
		t.Fatal("the built-in layout must end before fs_base")
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	l := AMD64()
	var r guest.Regs
	for reg := guest.Reg(0); reg < guest.NumRegs; reg++ {
		r.Set(reg, 0x0102030405060708+uint64(reg)<<56)
	}
	raw := l.Encode(&r)
	var back guest.Regs
	l.Decode(raw, &back)
	for _, ri := range l {
		if ri.Reg == noReg {
			continue
		}
		want := r.Get(ri.Reg)
		if ri.Bits == 32 {
			want &= 0xffffffff
		}
		if ri.Reg >= guest.CS && ri.Reg <= guest.GS {
			want &= 0xffff
		}
		if got := back.Get(ri.Reg); got != want {
			t.Errorf("%s: %#x after the round trip, want %#x", ri.Name, got, want)
		}
	}
	// Registers Regs lacks come out as their defaults.
	off, n := l.Offset(l.indexName("mxcsr"))
	if n != 4 || getReg(raw[off:off+n]) != 0x1f80 {
		t.Fatalf("mxcsr default %#x", getReg(raw[off:off+n]))
	}
	// Encoding is little-endian: rip's bytes start with its low byte.
	off, _ = l.Offset(16)
	if raw[off] != 0x08+16 && raw[off] != byte(r.RIP) {
		t.Fatalf("rip low byte %#x", raw[off])
	}
	// A short g (a stub may send fewer registers) updates what it covers.
	var part guest.Regs
	l.Decode(raw[:8*3+4], &part)
	if part.RAX != r.RAX || part.RCX != r.RCX || part.RDX != 0 {
		t.Fatal("short g decoded wrongly")
	}
}

func (l Layout) indexName(name string) int {
	for i, r := range l {
		if r.Name == name {
			return i
		}
	}
	return -1
}

func TestParseTargetXMLIncludesAndRegnum(t *testing.T) {
	files := map[string]string{
		"core.xml": `<feature name="org.gnu.gdb.i386.core"><reg name="rax" bitsize="64"/><reg name="rbx" bitsize="64" regnum="2"/></feature>`,
	}
	doc := `<target><architecture>i386:x86-64</architecture><xi:include href="core.xml"/>
<feature name="x"><reg name="rcx" bitsize="32" regnum="1"/></feature></target>`
	l, err := parseTargetXML([]byte(doc), func(n string) ([]byte, error) { return []byte(files[n]), nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 3 || l[0].Name != "rax" || l[1].Name != "rcx" || l[1].Bits != 32 || l[2].Reg != guest.RBX || l[1].Feature != "x" {
		t.Fatalf("layout %+v", l)
	}
	for _, bad := range []string{`<reg name="a" bitsize="x"/>`, `<reg name="a" bitsize="64" regnum="-4"/>`, `<reg name="a" bitsize="64" regnum="3"/>`, `<reg`} {
		if _, err := parseTargetXML([]byte(bad), nil); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
