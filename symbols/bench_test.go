package symbols

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkOpenGnumach measures Open (symbol table + unit index) of a
// large DWARF 5 kernel; the goal is < 100 ms.
func BenchmarkOpenGnumach(b *testing.B) {
	elf := gnumachELF(b)
	for i := 0; i < b.N; i++ {
		f, err := Open(elf)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkSymbolize100k symbolizes 100k function addresses of gnumach
// with -f -i (Open included), as `ukw symbolize` does.
func BenchmarkSymbolize100k(b *testing.B) {
	elf := gnumachELF(b)
	f, err := Open(elf)
	if err != nil {
		b.Fatal(err)
	}
	addrs := funcAddrs(b, f)
	f.Close()
	if len(addrs) > 100000 {
		addrs = addrs[:100000]
	}
	in := hexList(addrs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := Open(elf)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Symbolize(io.Discard, strings.NewReader(in), nil, Addr2lineOptions{Functions: true, Inlines: true}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
