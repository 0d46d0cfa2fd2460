package symbols

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// optLevels are the builds every comparison test runs over (issue 5).
var optLevels = []struct{ name, flags string }{
	{"O0", "-O0"},
	{"O1fp", "-O1 -fno-omit-frame-pointer"},
	{"O2nofp", "-O2 -fomit-frame-pointer"},
}

func srcDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "symbols")
}

// openProg builds the test program with flags and opens it (closed at
// cleanup); it returns the executable's path and the File.
func openProg(t testing.TB, flags string) (string, *File) {
	t.Helper()
	exe := buildProg(t, flags)
	f, err := Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return exe, f
}

// buildProg compiles testdata/symbols into a non-PIE host executable with
// DWARF 5 (gcc 12's default) in a temp dir.
func buildProg(t testing.TB, flags string, extra ...string) string {
	t.Helper()
	testenv.Tool(t, "gcc")
	dir := t.TempDir()
	out := filepath.Join(dir, "prog")
	src := srcDir(t)
	args := append([]string{"-g", "-no-pie", "-o", out}, strings.Fields(flags)...)
	args = append(args, extra...)
	args = append(args, filepath.Join(src, "prog.c"), filepath.Join(src, "util.c"))
	cmd := exec.Command("gcc", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return out
}

// funcAddrs lists every address of every sized function symbol of the ELF.
func funcAddrs(t testing.TB, f *File) []uint64 {
	var out []uint64
	seen := map[uint64]bool{}
	for _, s := range f.Symbols() {
		if s.Kind != SymFunc || s.Size == 0 {
			continue
		}
		for a := s.Addr; a < s.Addr+s.Size; a++ {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func hexList(addrs []uint64) string {
	var b strings.Builder
	for _, a := range addrs {
		b.WriteString("0x")
		b.WriteString(strconv.FormatUint(a, 16))
		b.WriteByte('\n')
	}
	return b.String()
}

// gnumachELF unpacks the Debian gnumach -dbg kernel (DWARF 5, 3027
// symbols) into a temp file.
func gnumachELF(t testing.TB) string {
	t.Helper()
	gz := testenv.File(t, "/boot/gnumach-1.8-486-dbg.gz", "Debian package gnumach-image-1.8-486-dbg")
	out := filepath.Join(t.TempDir(), "gnumach")
	cmd := exec.Command("sh", "-c", "gzip -dc "+gz+" > "+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gunzip: %v %s", err, b)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	return out
}
