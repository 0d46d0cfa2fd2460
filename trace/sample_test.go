package trace

import (
	"errors"
	"testing"

	"ukw/guest"
	"ukw/symbols"
)

func TestStackSnapshot(t *testing.T) {
	mem := make([]byte, 0x4000)
	for i := range mem {
		mem[i] = byte(i)
	}
	read := func(addr uint64, buf []byte) error {
		if addr < 0x1000 || addr+uint64(len(buf)) > 0x3000 { // [0x1000, 0x3000) readable
			return errors.New("unmapped")
		}
		copy(buf, mem[addr:])
		return nil
	}
	var s stackSnapshot
	s.take(&guest.Regs{RSP: 0x1ff0, RIP: 5}, read, StackSnapshotMax)
	if s.base != 0x1ff0 || len(s.data) != 0x1010 || s.regs.RIP != 5 {
		t.Fatalf("copied %#x bytes at %#x, want up to the unreadable page (0x1010)", len(s.data), s.base)
	}
	b := make([]byte, 8)
	if n, err := s.ReadAt(b, 0x2ff8); err != nil || n != 8 || b[0] != 0xf8 {
		t.Fatalf("ReadAt in the copy: %d, %v, % x", n, err, b)
	}
	for _, off := range []int64{0x1fe8, 0x2ffc, 0x3000} {
		if _, err := s.ReadAt(b, off); err == nil {
			t.Errorf("ReadAt(%#x) outside the copy succeeded", off)
		}
	}
	s.take(&guest.Regs{RSP: 0x1100}, read, 0x20)
	if len(s.data) != 0x20 {
		t.Fatalf("limit 0x20 copied %#x", len(s.data))
	}
	sb := stackBounds{{0x1000, 0x2000}}
	if sb.limit(0x1f00) != 0x100 || sb.limit(0x2000) != StackSnapshotMax || sb.limit(0x800) != StackSnapshotMax {
		t.Fatalf("limits %#x %#x %#x", sb.limit(0x1f00), sb.limit(0x2000), sb.limit(0x800))
	}
}

// TestSymbolsRegs checks guest's DWARF order against symbols' register
// numbers (System V AMD64 psABI, Figure 3.36), as the sampler converts.
func TestSymbolsRegs(t *testing.T) {
	r := guest.Regs{RAX: 1, RDX: 2, RCX: 3, RBX: 4, RSI: 5, RDI: 6, RBP: 7, RSP: 8,
		R8: 9, R9: 10, R10: 11, R11: 12, R12: 13, R13: 14, R14: 15, R15: 16, RIP: 17}
	s := symbols.AllRegs(r.DWARF())
	for _, c := range []struct {
		n    int
		want uint64
	}{
		{symbols.RegRAX, 1}, {symbols.RegRDX, 2}, {symbols.RegRCX, 3}, {symbols.RegRBX, 4},
		{symbols.RegRSI, 5}, {symbols.RegRDI, 6}, {symbols.RegRBP, 7}, {symbols.RegRSP, 8},
		{symbols.RegR8, 9}, {symbols.RegR9, 10}, {symbols.RegR10, 11}, {symbols.RegR11, 12},
		{symbols.RegR12, 13}, {symbols.RegR13, 14}, {symbols.RegR14, 15}, {symbols.RegR15, 16},
		{symbols.RegRIP, 17},
	} {
		if v, ok := s.Get(c.n); !ok || v != c.want {
			t.Errorf("%s = %d, %v; want %d", symbols.RegName(c.n), v, ok, c.want)
		}
	}
}
