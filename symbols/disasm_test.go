package symbols

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

var objdumpLineRe = regexp.MustCompile(`^\s+([0-9a-f]+):\t(.*)$`)

type objdumpInsn struct {
	addr uint64
	text string
}

// objdumpText runs objdump -d over .text and returns every instruction.
func objdumpText(t *testing.T, exe string, extra ...string) []objdumpInsn {
	testenv.Tool(t, "objdump")
	args := append([]string{"-d", "--no-show-raw-insn", "-j", ".text"}, extra...)
	out, err := exec.Command("objdump", append(args, exe)...).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	var res []objdumpInsn
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		m := objdumpLineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, _ := strconv.ParseUint(m[1], 16, 64)
		res = append(res, objdumpInsn{a, m[2]})
	}
	if len(res) < 100 {
		t.Fatalf("objdump printed %d instructions", len(res))
	}
	return res
}

// normalizeObjdump applies the documented normalisations (docs/symbols.md,
// "Disassembly"): runs of spaces in the operand text are one space.
// Symbols objdump takes from dynamic relocations ("<puts@GLIBC_2.2.5>")
// are dropped: ukw images are static.
func normalizeObjdump(s string) string {
	s = dynSymRe.ReplaceAllString(s, "")
	return strings.Join(strings.Fields(s), " ")
}

var dynSymRe = regexp.MustCompile(` <[^>]*@[^>]*>`)

// badObjdump: bytes objdump cannot decode either ("(bad)"), or the 287's
// fnsetpm, which ukw shows as ".byte" (docs/symbols.md).
func badObjdump(s string) bool {
	return strings.Contains(s, "(bad)") || strings.Contains(s, "287 only")
}

// TestDisassembleMatchesObjdump: every instruction of .text of the test
// program at three optimisation levels decodes to objdump's text, in
// AT&T and in Intel syntax.
func TestDisassembleMatchesObjdump(t *testing.T) {
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			exe, f := openProg(t, lvl.flags)
			compareObjdump(t, f, exe, 30)
		})
	}
}

// compareObjdump checks every instruction objdump -d finds in .text, in
// both syntaxes, and reports at most maxBad differences.
func compareObjdump(t *testing.T, f *File, exe string, maxBad int) {
	for _, syn := range []struct {
		name  string
		s     Syntax
		extra []string
	}{{"att", ATT, nil}, {"intel", Intel, []string{"-M", "intel"}}} {
		want := objdumpText(t, exe, syn.extra...)
		sec, _ := f.SectionAt(want[0].addr)
		bad := 0
		for i, w := range want {
			end := sec.Addr + sec.Size
			if i+1 < len(want) {
				end = want[i+1].addr
			}
			got, err := f.Disassemble(w.addr, end, f, syn.s)
			if err != nil {
				t.Fatal(err)
			}
			g := ""
			if len(got) > 0 {
				g = got[0].Text
			}
			if normalizeObjdump(g) != normalizeObjdump(w.text) && !(badObjdump(w.text) && len(got) > 0 && got[0].Bad) {
				if bad++; bad <= maxBad {
					t.Errorf("%s %#x: objdump %q, ukw %q", syn.name, w.addr, w.text, g)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d instructions differ", syn.name, bad, len(want))
		}
	}
}

// TestDisassembleGnumach: the same on Debian's gnumach kernel (privileged
// and string instructions, far more opcodes than the test program).
func TestDisassembleGnumach(t *testing.T) {
	exe := gnumachELF(t)
	f, err := Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	compareObjdump(t, f, exe, 60)
}

var gdbSrcLineRe = regexp.MustCompile(`^(\d+)\t`)
var gdbInsnRe = regexp.MustCompile(`^\s+0x([0-9a-f]+) <\+\d+>:`)

// TestDisassembleSourceMatchesGDB: at -O0, each instruction of each
// function of the test program sits under the same source line in
// DisassembleSource as in gdb's `disassemble /s`.
func TestDisassembleSourceMatchesGDB(t *testing.T) {
	testenv.Tool(t, "gdb")
	exe, f := openProg(t, "-O0")
	for _, fn := range []string{"main", "leaf", "walk", "fib", "hook", "helper", "util_entry", "stop"} {
		out, err := exec.Command("gdb", "-nx", "-batch", "-ex", "disassemble /s "+fn, exe).Output()
		if err != nil {
			t.Fatalf("gdb: %v", err)
		}
		want := map[uint64]int{}
		line := 0
		for _, l := range strings.Split(string(out), "\n") {
			if m := gdbSrcLineRe.FindStringSubmatch(l); m != nil {
				line, _ = strconv.Atoi(m[1])
			} else if m := gdbInsnRe.FindStringSubmatch(l); m != nil {
				a, _ := strconv.ParseUint(m[1], 16, 64)
				want[a] = line
			}
		}
		s := f.LookupSymbol(fn)[0]
		lines, err := f.DisassembleSource(s.Addr, s.Addr+s.Size, f, ATT)
		if err != nil {
			t.Fatal(err)
		}
		cur, n := 0, 0
		for _, l := range lines {
			if l.Insn == nil {
				cur = l.Line
				if l.Text == "" {
					t.Errorf("%s: no text for %s:%d", fn, l.File, l.Line)
				}
				continue
			}
			n++
			if w, ok := want[l.Insn.Addr]; !ok || w != cur {
				t.Errorf("%s %#x: gdb line %d, ukw %d", fn, l.Insn.Addr, w, cur)
			}
		}
		if n != len(want) {
			t.Errorf("%s: %d instructions, gdb %d", fn, n, len(want))
		}
	}
}

// memBytes is Memory over a byte slice at address 0.
type memBytes []byte

func (m memBytes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, os.ErrInvalid
	}
	return copy(p, m[off:]), nil
}

// TestDisassembleSpecialCases: instructions x86asm lacks or misdecodes
// (endbr64, vmcall, vmmcall, clac, stac, ...) and ud2, int3, hlt, as raw
// bytes, against objdump -b binary; undecodable bytes give ".byte".
func TestDisassembleSpecialCases(t *testing.T) {
	testenv.Tool(t, "objdump")
	cases := [][]byte{
		{0xf3, 0x0f, 0x1e, 0xfa}, {0x0f, 0x01, 0xc1}, {0x0f, 0x01, 0xd9}, {0x0f, 0x01, 0xca}, {0x0f, 0x01, 0xcb},
		{0x0f, 0x01, 0xc2}, {0x0f, 0x01, 0xc3}, {0x0f, 0x01, 0xc4}, {0x0f, 0x01, 0xf8}, {0x0f, 0x01, 0xf9},
		{0x0f, 0x01, 0xd0}, {0x0f, 0x01, 0xd1}, {0x0f, 0x0b}, {0xcc}, {0xf4}, {0xfa}, {0xfb}, {0x0f, 0x01, 0x15, 0, 0, 0, 0},
		{0x48, 0xcf}, {0xe6, 0xf4}, {0xef}, {0x0f, 0x22, 0xd8}, {0x0f, 0x20, 0xe0}, {0x0f, 0x30}, {0x0f, 0x32}, {0x0f, 0xa2},
		{0x66, 0x90}, {0x90}, {0xf3, 0x90}, {0x0f, 0xae, 0xf0},
	}
	dir := t.TempDir()
	for _, code := range cases {
		bin := dir + "/code.bin"
		if err := os.WriteFile(bin, code, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, syn := range []struct {
			s     Syntax
			extra []string
		}{{ATT, nil}, {Intel, []string{"-M", "intel"}}} {
			args := append([]string{"-D", "-b", "binary", "-m", "i386:x86-64", "--no-show-raw-insn"}, syn.extra...)
			out, err := exec.Command("objdump", append(args, bin)...).Output()
			if err != nil {
				t.Fatalf("objdump: %v", err)
			}
			want := ""
			for _, l := range strings.Split(string(out), "\n") {
				if m := objdumpLineRe.FindStringSubmatch(l); m != nil && m[1] == "0" {
					want = m[2]
				}
			}
			f := &File{}
			got, err := f.Disassemble(0, uint64(len(code)), memBytes(code), syn.s)
			if err != nil || len(got) != 1 {
				t.Errorf("% x: %d instructions, %v", code, len(got), err)
				continue
			}
			if normalizeObjdump(got[0].Text) != normalizeObjdump(want) {
				t.Errorf("% x (%d): objdump %q, ukw %q", code, syn.s, want, got[0].Text)
			}
		}
	}
	// Undecodable: one .byte per byte, and decoding goes on after it.
	got, err := (&File{}).Disassemble(0, 3, memBytes{0x06, 0x0f, 0x0b}, ATT)
	if err != nil || len(got) != 2 || got[0].Text != ".byte  0x6" || !got[0].Bad || got[1].Text != "ud2" {
		t.Errorf("bad byte then ud2: %+v %v", got, err)
	}
}

// FuzzDisassemble: any bytes decode to instructions covering them all,
// in both syntaxes, without a panic.
func FuzzDisassemble(f *testing.F) {
	f.Add([]byte{0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5})
	f.Add([]byte{0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0})
	f.Add([]byte{0x48, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0xf3, 0x48, 0xa5, 0xf2, 0xae, 0xd9, 0xc9})
	f.Fuzz(func(t *testing.T, code []byte) {
		for _, syn := range []Syntax{ATT, Intel} {
			got, err := (&File{}).Disassemble(0x1000, 0x1000+uint64(len(code)), memAt{0x1000, code}, syn)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, in := range got {
				n += len(in.Bytes)
			}
			if n != len(code) {
				t.Fatalf("% x: instructions cover %d bytes", code, n)
			}
		}
	})
}

type memAt struct {
	base uint64
	b    []byte
}

func (m memAt) ReadAt(p []byte, off int64) (int, error) {
	return memBytes(m.b).ReadAt(p, off-int64(m.base))
}
