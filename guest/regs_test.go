package guest

import "testing"

func TestRegGetSetRoundTrip(t *testing.T) {
	var r Regs
	for reg := Reg(0); reg < NumRegs; reg++ {
		v := uint64(0x1000 + int(reg))
		if !r.Set(reg, v) {
			t.Fatalf("Set(%v) refused", reg)
		}
	}
	for reg := Reg(0); reg < NumRegs; reg++ {
		want := uint64(0x1000 + int(reg))
		if reg >= CS && reg <= GS {
			want &= 0xffff
		}
		if got := r.Get(reg); got != want {
			t.Errorf("%v = %#x, want %#x", reg, got, want)
		}
		if back, ok := RegByName(reg.String()); !ok || back != reg {
			t.Errorf("RegByName(%q) = %v,%v", reg.String(), back, ok)
		}
	}
	if r.FS.Base != 0x1000+uint64(FSBase) || r.DR[2] != 0x1000+uint64(DR2) {
		t.Fatal("named fields not aliased by Reg")
	}
}

func TestFlagsAndVectors(t *testing.T) {
	if s := FlagsString(FlagZF | FlagIF | FlagPF); s != "[ PF ZF IF ]" {
		t.Fatalf("FlagsString = %q", s)
	}
	if VectorName(14) != "#PF page fault" || !HasErrorCode(14) || HasErrorCode(3) {
		t.Fatal("vector table wrong")
	}
	f := Fault{Kind: FaultException, Vector: 14, ErrorCode: 2, Regs: Regs{RIP: 0x1000, CR2: 0x10}}
	if got := f.Summary(); got != "#PF page fault (error 0x2) accessing 0x10 at rip 0x1000" {
		t.Fatalf("Summary = %q", got)
	}
}

func TestDWARFOrder(t *testing.T) {
	r := Regs{RAX: 1, RDX: 2, RCX: 3, RBX: 4, RSI: 5, RDI: 6, RBP: 7, RSP: 8, R8: 9, R15: 16, RIP: 17}
	d := r.DWARF()
	want := [NumDWARFRegs]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 16, 17}
	if d != want {
		t.Fatalf("DWARF() = %v, want %v", d, want)
	}
	for n := 0; n < NumDWARFRegs; n++ {
		reg, ok := DWARFReg(n)
		if !ok || r.Get(reg) != d[n] {
			t.Fatalf("DWARFReg(%d) = %v", n, reg)
		}
	}
	if _, ok := DWARFReg(17); ok {
		t.Fatal("DWARFReg(17) must not exist")
	}
}

func TestArgsAfterName(t *testing.T) {
	for in, want := range map[string]string{"hello world": "world", "hello  a b": "a b", "hello": "", "": "", "x\ty": "y"} {
		if got := (Config{Cmdline: in}).ArgsAfterName(); got != want {
			t.Errorf("ArgsAfterName(%q) = %q, want %q", in, got, want)
		}
	}
}
