package symbols

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCloseUnmapsAndStaysSafe: Open maps the image; after Close nothing
// reads the mapping (a read would fault the process): answers computed
// before stay valid, units never indexed answer from the symbol table or
// not at all, and lazy indexing reports errClosed.
func TestCloseUnmapsAndStaysSafe(t *testing.T) {
	elf := buildProg(t, "-O2 -fomit-frame-pointer")
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	if f.mapping == nil {
		t.Fatal("Open did not map the image")
	}
	addrs := funcAddrs(t, f)
	main := f.LookupSymbol("main")
	if len(main) != 1 {
		t.Fatalf("main: %v", main)
	}
	before := f.Lookup(main[0].Addr)
	if len(before.Frames) == 0 || before.Frames[0].Line == 0 {
		t.Fatalf("main: no line before Close: %+v", before)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f.mapping != nil || f.sec.info != nil || f.sec.line != nil {
		t.Fatal("Close left the mapping or its sections in place")
	}
	if after := f.Lookup(main[0].Addr); after.String() != before.String() {
		t.Errorf("main after Close: %v, before: %v", after, before)
	}
	// Every other address: no fault, no panic.
	for _, a := range addrs {
		f.Lookup(a)
		f.LookupGDB(a)
		f.LineAt(a)
	}
	if err := f.Symbolize(io.Discard, strings.NewReader(hexList(addrs)), nil, Addr2lineOptions{Functions: true, Inlines: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range f.units {
		if _, err := f.functions(u); err != nil && err != errClosed {
			t.Fatalf("unit %s: %v", u.name, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestCloseWhileLookingUp: Close waits for indexing in progress on other
// goroutines; lookups racing with it never read the unmapped image.
func TestCloseWhileLookingUp(t *testing.T) {
	elf := gnumachELF(t)
	for round := 0; round < 5; round++ {
		f, err := Open(elf)
		if err != nil {
			t.Fatal(err)
		}
		addrs := funcAddrs(t, f)
		var wg sync.WaitGroup
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := g; i < len(addrs); i += 997 {
					f.Lookup(addrs[i])
				}
			}(g)
		}
		f.Close()
		wg.Wait()
	}
}

// TestSymbolizeAnswersBeforeMoreInput: like addr2line, Symbolize answers
// every address it has read before it waits for more input (its output
// goes through a writer goroutine; the answer must still be out), so it
// can serve as a co-process on a pipe.
func TestSymbolizeAnswersBeforeMoreInput(t *testing.T) {
	elf := buildProg(t, "-O0")
	f, err := Open(elf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	main := f.LookupSymbol("main")
	if len(main) != 1 {
		t.Fatalf("main: %v", main)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- f.Symbolize(outW, inR, nil, Addr2lineOptions{Functions: true})
		outW.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for i := 0; i < 3; i++ {
		if _, err := fmt.Fprintf(inW, "%#x\n", main[0].Addr); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 2; k++ { // function, then file:line
			select {
			case l := <-lines:
				if k == 0 && l != "main" {
					t.Fatalf("answer %d: %q, want main", i, l)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no answer to address %d while the input stays open", i)
			}
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
