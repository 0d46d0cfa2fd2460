package symbols

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// compareAddr2line runs binutils addr2line and Symbolize over the same
// addresses with the same flags and requires byte-identical output.
func compareAddr2line(t *testing.T, elf string, addrs []uint64, flags []string, o Addr2lineOptions) {
	t.Helper()
	compareOutput(t, elf, addrs, flags, fmt.Sprintf("%s %v", elf, flags), func(f *File, in string, out *bytes.Buffer) error {
		return f.Symbolize(out, strings.NewReader(in), nil, o)
	})
}

// compareOutput runs addr2line with flags over addrs and requires what
// symbolize writes for the same input to be byte-identical; label names
// the case in failures.
func compareOutput(t *testing.T, elf string, addrs []uint64, flags []string, label string, symbolize func(f *File, in string, out *bytes.Buffer) error) {
	t.Helper()
	testenv.Tool(t, "addr2line")
	in := hexList(addrs)
	cmd := exec.Command("addr2line", append(flags, "-e", elf)...)
	cmd.Stdin = strings.NewReader(in)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("addr2line: %v", err)
	}
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got bytes.Buffer
	if err := symbolize(f, in, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("%s: output differs from addr2line at line %d:\naddr2line: %q\nukw:       %q", label, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("%s: output length differs: addr2line %d lines, ukw %d", label, len(wl), len(gl))
	}
}

var flagSets = []struct {
	flags []string
	o     Addr2lineOptions
}{
	{[]string{"-f", "-i"}, Addr2lineOptions{Functions: true, Inlines: true}},
	{nil, Addr2lineOptions{}},
	{[]string{"-f"}, Addr2lineOptions{Functions: true}},
	{[]string{"-a", "-p", "-f", "-i"}, Addr2lineOptions{Addresses: true, Pretty: true, Functions: true, Inlines: true}},
	{[]string{"-a", "-f", "-i", "-C"}, Addr2lineOptions{Addresses: true, Functions: true, Inlines: true, Demangle: true}},
	{[]string{"-s", "-p", "-i"}, Addr2lineOptions{Basenames: true, Pretty: true, Inlines: true}},
}

// TestAddr2lineEveryFunctionAddress: every address of every function of
// the test program, at three optimisation levels, symbolizes exactly like
// addr2line (with several flag sets).
func TestAddr2lineEveryFunctionAddress(t *testing.T) {
	for _, lvl := range optLevels {
		t.Run(lvl.name, func(t *testing.T) {
			elf := buildProg(t, lvl.flags)
			f, err := Open(elf)
			if err != nil {
				t.Fatal(err)
			}
			addrs := funcAddrs(t, f)
			f.Close()
			if len(addrs) < 500 {
				t.Fatalf("only %d function addresses", len(addrs))
			}
			// Also addresses outside any function and section.
			addrs = append(addrs, 0, 1, 0x400000, 0xffffffffffffffff)
			for _, fs := range flagSets {
				compareAddr2line(t, elf, addrs, fs.flags, fs.o)
			}
		})
	}
}

// TestAddr2lineInlineChains makes sure the comparison covers inlined code.
func TestAddr2lineInlineChains(t *testing.T) {
	elf := buildProg(t, "-O2 -fomit-frame-pointer")
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inl := 0
	for _, a := range funcAddrs(t, f) {
		loc := f.Lookup(a)
		if len(loc.Frames) > 1 {
			inl++
			if loc.Frames[0].Func != "square" && loc.Frames[0].Func != "sum_sq" {
				continue
			}
			last := loc.Frames[len(loc.Frames)-1]
			if last.Func == "" || last.Line == 0 {
				t.Fatalf("%#x: incomplete inline chain %+v", a, loc.Frames)
			}
		}
	}
	if inl == 0 {
		t.Fatal("no inlined addresses at -O2: the test program lost its inline functions")
	}
}

// TestAddr2lineGnumach: every function address of a large third-party
// kernel (DWARF 5, assembly units, labels inside functions).
func TestAddr2lineGnumach(t *testing.T) {
	testenv.Short(t, "400k addresses through addr2line")
	elf := gnumachELF(t)
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	addrs := funcAddrs(t, f)
	f.Close()
	compareAddr2line(t, elf, addrs, []string{"-a", "-p", "-f", "-i"}, Addr2lineOptions{Addresses: true, Pretty: true, Functions: true, Inlines: true})
}

// TestAddr2lineShuffled: Symbolize repeats the last answer over the
// addresses it is known to hold for and keeps BFD's symbol cache between
// queries; in a shuffled order (every kind of jump between sections,
// units, functions and rows, and back) and with repeated addresses the
// output must still equal addr2line's.
func TestAddr2lineShuffled(t *testing.T) {
	elfs := map[string]string{"O2nofp": buildProg(t, "-O2 -fomit-frame-pointer")}
	if !testing.Short() {
		elfs["gnumach"] = gnumachELF(t)
	}
	for name, elf := range elfs {
		t.Run(name, func(t *testing.T) {
			f, err := Open(elf)
			if err != nil {
				t.Fatal(err)
			}
			all := funcAddrs(t, f)
			f.Close()
			rng := rand.New(rand.NewPCG(5, 5))
			var addrs []uint64
			for len(addrs) < min(60000, 4*len(all)) {
				// Short sorted runs from random places, some addresses twice.
				i := rng.IntN(len(all))
				n := 1 + rng.IntN(40)
				for k := i; k < len(all) && k < i+n; k++ {
					addrs = append(addrs, all[k])
					if rng.IntN(8) == 0 {
						addrs = append(addrs, all[k])
					}
				}
			}
			compareAddr2line(t, elf, addrs, []string{"-f", "-i"}, Addr2lineOptions{Functions: true, Inlines: true})
			compareAddr2line(t, elf, addrs, []string{"-a", "-f"}, Addr2lineOptions{Addresses: true, Functions: true})
			// Input read in small chunks and every batch split: thousands
			// of speculative second halves (answerBatch), whose symbol-cache
			// logs are checked and some redone.
			for _, chunk := range []int{300, 4000} {
				compareSplit(t, elf, addrs, []string{"-f", "-i"}, Addr2lineOptions{Functions: true, Inlines: true}, chunk)
			}
		})
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// compareSplit is compareAddr2line reading the input in chunks of at most
// chunk bytes, every batch of input split across two goroutines.
func compareSplit(t *testing.T, elf string, addrs []uint64, flags []string, o Addr2lineOptions, chunk int) {
	t.Helper()
	compareOutput(t, elf, addrs, flags, fmt.Sprintf("chunks of %d", chunk), func(f *File, in string, out *bytes.Buffer) error {
		return f.symbolize(out, chunkReader{strings.NewReader(in), chunk}, nil, o, 1)
	})
}

// pad is addr as hex followed by spaces up to n characters.
func pad(addr uint64, n int) string {
	s := fmt.Sprintf("%#x", addr)
	return s + strings.Repeat(" ", max(0, n-len(s)))
}

// TestAddr2lineInputSyntax: odd input lines (spaces, tabs, 0X, upper
// case, no 0x, trailing garbage, empty lines, CRLF, a last line without
// a newline, lines of 99 characters and more, which addr2line's fgets
// reads in pieces, a line longer than Symbolize's buffer) parse and
// answer as in addr2line.
func TestAddr2lineInputSyntax(t *testing.T) {
	testenv.Tool(t, "addr2line")
	elf := buildProg(t, "-O2 -fomit-frame-pointer")
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	main := f.LookupSymbol("main")[0].Addr
	long := fmt.Sprintf("%#x", main) + strings.Repeat("z", symbolizeReadAhead+100)
	for _, in := range []string{
		fmt.Sprintf("%#x\n  %#x\n\t%x\n0X%X\n%x zz\n\n0x\n0\nxyz\n%#x\r\n%#x", main, main+1, main+2, main+3, main+4, main+5, main+6),
		long + "\n" + fmt.Sprintf("%#x\n", main+1),
		// fgets pieces lines of 99 characters and more.
		pad(main, 98) + "\n" + pad(main+1, 99) + "\n" + pad(main+2, 100) + "\n" + pad(main+3, 198) + "\n" + pad(main+4, 99),
		pad(main, 197) + "0x401000\n" + pad(main, 50),
	} {
		cmd := exec.Command("addr2line", "-a", "-f", "-i", "-e", elf)
		cmd.Stdin = strings.NewReader(in)
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("addr2line: %v", err)
		}
		var got bytes.Buffer
		if err := f.Symbolize(&got, strings.NewReader(in), nil, Addr2lineOptions{Addresses: true, Functions: true, Inlines: true}); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("input %.80q:\naddr2line:\n%s\nukw:\n%s", in, want, got.String())
		}
	}
}

// TestSymbolizeSplitKeepsBFDSymbolCache: BFD answers an address inside
// the last symbol it chose with that symbol (gnumach: 0x410139cb alone is
// syscall_native, after 0x41013924 it is syscall). A batch split between
// the two lines runs its second half from an empty cache and says
// syscall_native; the replayed log must catch that and redo the half.
func TestSymbolizeSplitKeepsBFDSymbolCache(t *testing.T) {
	testenv.Tool(t, "addr2line")
	elf := gnumachELF(t)
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The first line is longer, so the split falls after it.
	in := "                0x41013924\n0x410139cb\n0x410139cc\n"
	cmd := exec.Command("addr2line", "-f", "-e", elf)
	cmd.Stdin = strings.NewReader(in)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("addr2line: %v", err)
	}
	if !strings.Contains(string(want), "syscall\n??:?\nsyscall\n") {
		t.Fatalf("addr2line no longer shows the symbol cache here:\n%s", want)
	}
	var got bytes.Buffer
	if err := f.symbolize(&got, strings.NewReader(in), nil, Addr2lineOptions{Functions: true}, 1); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("split batch:\naddr2line:\n%s\nukw:\n%s", want, got.String())
	}
}

// TestVerifySpec: the replay of a speculative run's symbol-cache log.
func TestVerifySpec(t *testing.T) {
	a := &Symbol{Name: "a", Addr: 0x100, Size: 0x100}
	b := &Symbol{Name: "b", Addr: 0x180, Size: 0x10}
	from := symCache{a, 1, 0x100}
	for _, c := range []struct {
		name    string
		from    symCache
		calls   []specCall
		end     symCache
		ok      bool
		wantSym *Symbol
	}{
		{"no calls", from, nil, symCache{}, true, a},
		{"cache hit, other symbol", from, []specCall{{0x185, 1, b, true}}, symCache{b, 1, 0x10}, false, nil},
		{"cache hit, same symbol", from, []specCall{{0x110, 1, a, true}}, symCache{a, 1, 0x100}, true, a},
		{"other section", from, []specCall{{0x185, 2, b, true}}, symCache{b, 2, 0x10}, true, b},
		{"outside, found", from, []specCall{{0x300, 1, b, true}}, symCache{b, 1, 0x10}, true, b},
		{"not found, then hit", from, []specCall{{0x300, 1, nil, false}, {0x185, 1, b, true}}, symCache{b, 1, 0x10}, false, nil},
		{"not found outside", from, []specCall{{0x300, 1, nil, false}}, symCache{}, true, a},
		{"hit on a lookup that failed", from, []specCall{{0x185, 1, nil, false}}, symCache{}, false, nil},
		{"empty start", symCache{}, []specCall{{0x185, 1, b, true}}, symCache{b, 1, 0x10}, true, b},
	} {
		end, ok := verifySpec(c.from, &specLog{calls: c.calls}, c.end)
		if ok != c.ok || ok && end.sym != c.wantSym {
			t.Errorf("%s: got %v %v, want %v %v", c.name, end.sym, ok, c.wantSym, c.ok)
		}
	}
	if _, ok := verifySpec(from, &specLog{full: true}, symCache{}); ok {
		t.Error("a full log was accepted")
	}
}
