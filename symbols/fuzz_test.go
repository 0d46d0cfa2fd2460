package symbols

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"testing"
)

// seedELF returns a small real ELF (the -O2 test program) for seeding.
func seedELF(f *testing.F) []byte {
	exe := buildProg(f, "-O2")
	b, err := os.ReadFile(exe)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// exercise runs every query on an opened file; none may panic.
func exercise(fl *File) {
	for _, s := range fl.Symbols() {
		fl.Lookup(s.Addr)
		fl.LookupGDB(s.Addr + 1)
	}
	var r Regs
	r.Set(RegRIP, 0x401000)
	r.Set(RegRSP, 0x1000)
	r.Set(RegRBP, 0x1010)
	bt := fl.Unwind(r, fl)
	if len(bt.Frames) > 0 {
		fl.FrameVars(bt.Frames, 0, 0, fl)
	}
	fl.Breakpoints("main")
	fl.Breakpoints("prog.c:40")
	fl.Breakpoints("prog.h:34")
	for _, a := range []uint64{0x401000, 0x401136, 0x401200} {
		fl.LineAt(a)
		fl.IsStmtStart(a)
		if fn, ok := fl.FuncAt(a); ok {
			fl.AfterPrologue(fn.Entry)
			fl.DisassembleSource(fn.Lo, fn.Lo+64, fl, ATT)
		}
	}
	if len(bt.Frames) > 0 {
		if v, err := fl.Eval("s->pts[1].x + counter", bt.Frames, 0, 0, fl); err == nil {
			fl.Children(v, fl, 10)
		}
	}
	fl.Eval("global_counter + sizeof(struct shape)", nil, 0, 0, fl)
	fl.Symbolize(io.Discard, bytes.NewReader(nil), []string{"0x401000", "0"}, Addr2lineOptions{Functions: true, Inlines: true})
}

// FuzzOpen: arbitrary bytes, truncations and byte flips of a real ELF
// give errors or answers, never panics.
func FuzzOpen(f *testing.F) {
	b := seedELF(f)
	f.Add(b)
	for _, n := range []int{0, 16, 64, 1000, len(b) / 2, len(b) - 100} {
		f.Add(b[:n])
	}
	for _, off := range []int{0x20, 0x28, 0x3c, len(b) - 200} {
		c := bytes.Clone(b)
		c[off] ^= 0xff
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := NewFile(bytes.NewReader(data))
		if err != nil {
			return
		}
		exercise(fl)
	})
}

// FuzzDWARFSections: corrupt .debug_line, .debug_info and .debug_frame
// contents inside an otherwise valid ELF.
func FuzzDWARFSections(f *testing.F) {
	b := seedELF(f)
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		f.Fatal(err)
	}
	var secs []*elf.Section
	for _, name := range []string{".debug_line", ".debug_info", ".eh_frame", ".debug_loclists", ".debug_abbrev"} {
		if s := ef.Section(name); s != nil {
			secs = append(secs, s)
		}
	}
	f.Add(uint8(0), uint32(0), []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(1), uint32(8), []byte{0x00})
	f.Add(uint8(2), uint32(20), []byte{0x7f, 0x80})
	f.Add(uint8(3), uint32(0), []byte{0x09, 0x09, 0x09})
	f.Add(uint8(0), uint32(40), bytes.Repeat([]byte{0}, 64))
	f.Fuzz(func(t *testing.T, which uint8, off uint32, patch []byte) {
		s := secs[int(which)%len(secs)]
		c := bytes.Clone(b)
		start := int(s.Offset) + int(off%uint32(max(s.Size, 1)))
		for i, x := range patch {
			if start+i < int(s.Offset+s.Size) {
				c[start+i] = x
			}
		}
		fl, err := NewFile(bytes.NewReader(c))
		if err != nil {
			return
		}
		exercise(fl)
	})
}
