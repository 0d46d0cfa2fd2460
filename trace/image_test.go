package trace

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ukw/build"
	"ukw/internal/testenv"
	"ukw/symbols"
)

// buildGuest builds a copy of testdata/guests/name (so that concurrent test
// binaries never build the same directory at once) and opens its ELF.
func buildGuest(t *testing.T, name string) *symbols.File {
	t.Helper()
	return buildDir(t, testenv.CopyApp(t, filepath.Join("..", "testdata", "guests", name)))
}

// buildDir builds the app in dir and opens its ELF, closed at cleanup.
func buildDir(t *testing.T, dir string) *symbols.File {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	app, err := build.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), app, build.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := symbols.Open(res.ELF)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// traceLines finds the UKW_TRACE lines of a source file.
func traceLines(t *testing.T, path string) []int {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var lines []int
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), "UKW_TRACE(") {
			lines = append(lines, n)
		}
	}
	return lines
}

func TestImageReadsTracepointsAndRing(t *testing.T) {
	f := buildGuest(t, "tracetree")
	im, err := NewImage(f)
	if err != nil {
		t.Fatal(err)
	}
	lines := traceLines(t, "../testdata/guests/tracetree/main.c")
	tps := im.Tracepoints()
	if len(tps) != 2 || len(lines) != 2 {
		t.Fatalf("tracepoints %+v, UKW_TRACE lines %v", tps, lines)
	}
	want := []Tracepoint{{Name: "work", Format: "i=%d", Line: lines[0], NArgs: 1}, {Name: "done", Format: "total=%d reps=%d", Line: lines[1], NArgs: 2}}
	for i, tp := range tps {
		w := want[i]
		if tp.Name != w.Name || tp.Format != w.Format || tp.Line != w.Line || tp.NArgs != w.NArgs || !strings.HasSuffix(tp.File, "main.c") {
			t.Errorf("tracepoint %d: %+v, want %+v in main.c", i, tp, w)
		}
		if got, ok := im.Tracepoint(tp.Addr); !ok || got != tp {
			t.Errorf("Tracepoint(%#x) = %+v, %v", tp.Addr, got, ok)
		}
	}
	// The ring's address is the symbol's, as nm sees it (identity-mapped image).
	out, err := exec.Command("nm", f.Path()).Output()
	if err != nil {
		t.Skipf("nm: %v", err)
	}
	var nmAddr uint64
	for _, l := range strings.Split(string(out), "\n") {
		if fs := strings.Fields(l); len(fs) == 3 && fs[2] == RingSymbol {
			nmAddr, _ = strconv.ParseUint(fs[0], 16, 64)
		}
	}
	if ring, ok := im.Ring(); !ok || ring != nmAddr || ring == 0 {
		t.Fatalf("ring %#x, %v; nm says %#x", ring, ok, nmAddr)
	}
	mains := f.LookupSymbol("main")
	if len(mains) != 1 {
		t.Fatalf("main symbols %+v", mains)
	}
	fn := im.Func(mains[0].Addr)
	if fn.Name != "main" || !strings.HasSuffix(fn.File, "main.c") || fn.Line == 0 {
		t.Fatalf("Func(main) = %+v", fn)
	}
	if fn := im.Func(mains[0].Addr + 4); fn.Name != "main+0x4" {
		t.Fatalf("inside main: %+v", fn)
	}
	if fn := im.Func(0x10); fn.Name != "0x10" {
		t.Fatalf("unknown address named %+v", fn)
	}
}

func TestImageWithoutTracing(t *testing.T) {
	im, err := NewImage(buildGuest(t, "hot"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := im.Ring(); ok || len(im.Tracepoints()) != 0 {
		t.Fatalf("hot has no lib/trace, yet ring %v and %d tracepoints", ok, len(im.Tracepoints()))
	}
}
