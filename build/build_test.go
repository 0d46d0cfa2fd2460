package build

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

func needToolchain(t testing.TB) {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
}

func mustBuild(t testing.TB, dir string, o Options) *Result {
	t.Helper()
	app, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(context.Background(), app, o)
	if err != nil {
		if r != nil {
			for _, d := range r.Diagnostics {
				t.Log(d)
			}
		}
		t.Fatalf("build %s: %v", dir, err)
	}
	return r
}

func appendLine(t testing.TB, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// The object cache: a second build compiles nothing and does not relink;
// changing one .c recompiles exactly that object; changing a header
// recompiles exactly the units that include it; touching a file without
// changing it compiles nothing.
func TestBuildCache(t *testing.T) {
	needToolchain(t)
	dir := copyApp(t, filepath.Join(repoRoot(t), "testdata/guests/calls"))
	o := Options{CacheDir: testCacheDir(t)}

	r := mustBuild(t, dir, o)
	total := r.Report.Compiled
	if total < 10 || r.Report.Cached != 0 || !r.Report.Linked {
		t.Fatalf("first build: %+v", r.Report)
	}
	check := func(step string, compiled int, linked bool) {
		t.Helper()
		r := mustBuild(t, dir, o)
		if r.Report.Compiled != compiled || r.Report.Cached != total-compiled || r.Report.Linked != linked {
			t.Errorf("%s: compiled %d, cached %d, linked %v; want %d, %d, %v", step,
				r.Report.Compiled, r.Report.Cached, r.Report.Linked, compiled, total-compiled, linked)
		}
	}
	check("second build", 0, false)
	appendLine(t, filepath.Join(dir, "main.c"), "/* edited */")
	check("after editing main.c", 1, true)
	appendLine(t, filepath.Join(dir, "shapes.h"), "/* edited */")
	check("after editing shapes.h (included by main.c and shapes.c)", 2, true)
	now := mustStat(t, filepath.Join(dir, "shapes.c"))
	if err := os.Chtimes(filepath.Join(dir, "shapes.c"), now, now); err != nil {
		t.Fatal(err)
	}
	check("after touching shapes.c", 0, false)
	r = mustBuild(t, dir, Options{CacheDir: o.CacheDir, Opt: "1"})
	if r.Report.Compiled != total || r.Report.Opt != "1" {
		t.Errorf("-O1 override: compiled %d of %d, opt %q", r.Report.Compiled, total, r.Report.Opt)
	}
	// the header list for the watcher: shapes.h, not the catalog's headers
	w := mustLoad(t, dir).Watch(r.Inputs)
	if !w.Match(filepath.Join(dir, "shapes.h")) || !w.Match(filepath.Join(dir, "main.c")) ||
		w.Match(filepath.Join(dir, ".ukw", "build", "calls.elf")) {
		t.Errorf("watch spec %+v", w)
	}
	for _, in := range r.Inputs {
		if strings.Contains(in, "plat/kvm") {
			t.Errorf("input %s is inside the catalog", in)
		}
	}
}

func mustStat(t testing.TB, p string) time.Time {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime().Add(1e9)
}

func mustLoad(t testing.TB, dir string) *App {
	t.Helper()
	a, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// hello: the second build compiles 0 objects; editing main.c compiles 1.
func TestHelloRebuild(t *testing.T) {
	needToolchain(t)
	dir := copyApp(t, filepath.Join(repoRoot(t), "examples/hello"))
	o := Options{CacheDir: testCacheDir(t)}
	first := mustBuild(t, dir, o)
	second := mustBuild(t, dir, o)
	if second.Report.Compiled != 0 || second.Report.Cached != first.Report.Compiled {
		t.Errorf("second build compiled %d, cached %d", second.Report.Compiled, second.Report.Cached)
	}
	appendLine(t, filepath.Join(dir, "main.c"), "int touched;")
	if r := mustBuild(t, dir, o); r.Report.Compiled != 1 {
		t.Errorf("after editing main.c: compiled %d, want 1", r.Report.Compiled)
	}
}

// Two clean builds give byte-identical outputs.
func TestBuildDeterministic(t *testing.T) {
	needToolchain(t)
	dir := copyApp(t, filepath.Join(repoRoot(t), "examples/hello"))
	o := Options{CacheDir: testCacheDir(t), Clean: true}
	r1 := mustBuild(t, dir, o)
	elf1, img1 := readFile(t, r1.ELF), readFile(t, r1.Image)
	r2 := mustBuild(t, dir, o)
	if r2.Report.Compiled != r1.Report.Compiled {
		t.Fatalf("the clean build used the cache: %+v", r2.Report)
	}
	if !bytes.Equal(elf1, readFile(t, r2.ELF)) {
		t.Error("ELF differs between two clean builds")
	}
	if !bytes.Equal(img1, readFile(t, r2.Image)) {
		t.Error("image differs between two clean builds")
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The image is an ELF32 with a valid Multiboot 1 header in its first 8 KiB
// and no debug info; the ELF is an ELF64 with DWARF and both entry notes.
func TestBuildOutputs(t *testing.T) {
	needToolchain(t)
	dir := copyApp(t, filepath.Join(repoRoot(t), "examples/hello"))
	r := mustBuild(t, dir, Options{CacheDir: testCacheDir(t)})
	if r.ELF != filepath.Join(dir, ".ukw/build/hello.elf") || r.Image != filepath.Join(dir, ".ukw/build/hello.img") {
		t.Errorf("outputs %s, %s", r.ELF, r.Image)
	}
	img := readFile(t, r.Image)
	found := -1
	for off := 0; off+12 <= len(img) && off < 8192; off += 4 {
		magic := binary.LittleEndian.Uint32(img[off:])
		flags := binary.LittleEndian.Uint32(img[off+4:])
		sum := binary.LittleEndian.Uint32(img[off+8:])
		if magic == 0x1BADB002 && magic+flags+sum == 0 {
			found = off
			if flags != 3 {
				t.Errorf("multiboot flags %#x, want 3 (page-align, meminfo)", flags)
			}
			break
		}
	}
	if found < 0 {
		t.Fatal("no Multiboot header in the image's first 8 KiB")
	}
	fi, err := elf.Open(r.Image)
	if err != nil {
		t.Fatal(err)
	}
	defer fi.Close()
	if fi.Class != elf.ELFCLASS32 || fi.Machine != elf.EM_386 || fi.Section(".debug_info") != nil || fi.Section(".symtab") != nil {
		t.Errorf("image: class %v machine %v, debug_info %v", fi.Class, fi.Machine, fi.Section(".debug_info") != nil)
	}
	fe, err := elf.Open(r.ELF)
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	if fe.Class != elf.ELFCLASS64 || fe.Machine != elf.EM_X86_64 {
		t.Errorf("elf: class %v machine %v", fe.Class, fe.Machine)
	}
	if fe.Section(".debug_info") == nil || fe.Section(".debug_line") == nil {
		t.Error("the ELF has no .debug_info/.debug_line")
	}
	if _, err := fe.DWARF(); err != nil {
		t.Errorf("DWARF: %v", err)
	}
	syms, _ := fe.Symbols()
	addr := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name] = s.Value
	}
	if fe.Entry != addr["_start"] || fe.Entry < 0x100000 {
		t.Errorf("entry %#x, _start %#x", fe.Entry, addr["_start"])
	}
	notes := readNotes(t, fe)
	if notes["ukw/0x75770001"] != addr["_start64"] || notes["Xen/0x12"] != addr["_start_pvh"] || addr["_start64"] == 0 {
		t.Errorf("notes %v, _start64 %#x, _start_pvh %#x", notes, addr["_start64"], addr["_start_pvh"])
	}
	if r.Report.LoadBytes == 0 || r.Report.LoadBytes > 32*1024 {
		t.Errorf("hello loads %d bytes; the goal is at most 32 KiB", r.Report.LoadBytes)
	}
	var sum uint64
	for _, l := range r.Report.Layers {
		sum += l.Text + l.Data
	}
	if len(r.Report.Layers) != 6 || r.Report.Layers[len(r.Report.Layers)-1].Name != AppLayer || sum == 0 {
		t.Errorf("layers %+v", r.Report.Layers)
	}
}

// readNotes returns "name/0xtype" -> the desc as a little-endian number.
func readNotes(t testing.TB, f *elf.File) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			t.Fatal(err)
		}
		for len(data) >= 12 {
			nsz, dsz, typ := binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:]), binary.LittleEndian.Uint32(data[8:])
			npad, dpad := (nsz+3)&^3, (dsz+3)&^3
			if uint32(len(data)) < 12+npad+dpad {
				break
			}
			name := strings.TrimRight(string(data[12:12+nsz]), "\x00")
			desc := data[12+npad : 12+npad+dsz]
			var v uint64
			for i := len(desc) - 1; i >= 0; i-- {
				v = v<<8 | uint64(desc[i])
			}
			out[name+"/0x"+strings.TrimLeft(hex32(typ), "0")] = v
			data = data[12+npad+dpad:]
		}
	}
	return out
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// gcc's messages come back as structured diagnostics and the build fails
// with ErrCompile.
func TestBuildDiagnostics(t *testing.T) {
	needToolchain(t)
	dir := copyApp(t, filepath.Join(repoRoot(t), "examples/hello"))
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte("int main(void)\n{\n\tint unused;\n\treturn undefined_thing;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := mustLoad(t, dir)
	r, err := Build(context.Background(), app, Options{CacheDir: testCacheDir(t)})
	if !errors.Is(err, ErrCompile) || r == nil {
		t.Fatalf("err %v", err)
	}
	var got []string
	for _, d := range r.Diagnostics {
		got = append(got, d.String())
	}
	want := []string{
		filepath.Join(dir, "main.c") + ":4:16: error: 'undefined_thing' undeclared (first use in this function)",
		filepath.Join(dir, "main.c") + ":3:13: warning: unused variable 'unused' [-Wunused-variable]",
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(got, "\n"), w) {
			t.Errorf("diagnostics lack %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestParseDiagnostics(t *testing.T) {
	out := `main.c: In function 'main':
main.c:4:16: error: 'x' undeclared (first use in this function)
    4 |         return x;
      |                ^
inc.h:2: warning: no column here
main.c:9:1: fatal error: foo.h: No such file or directory
ld: main.o: in function ` + "`main':" + `
main.c:(.text+0x5): undefined reference to ` + "`nothing'" + `
ld: warning: x.o: missing .note.GNU-stack section implies executable stack
`
	got := ParseDiagnostics(out)
	want := []Diagnostic{
		{"main.c", 4, 16, "error", "'x' undeclared (first use in this function)"},
		{"inc.h", 2, 0, "warning", "no column here"},
		{"main.c", 9, 1, "error", "foo.h: No such file or directory"},
		{"main.o", 0, 0, "error", "in function `main':"},
		{"main.c", 0, 0, "error", "undefined reference to `nothing'"},
		{"", 0, 0, "warning", "x.o: missing .note.GNU-stack section implies executable stack"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseDepFile(t *testing.T) {
	d := "/o/x.o: /src/a.c /inc/b.h \\\n  rel/c.h /with\\ space.h \\\n /inc/b.h\n/inc/b.h:\n"
	got := strings.Join(parseDepFile([]byte(d), "/app"), ",")
	if want := "/app/rel/c.h,/inc/b.h,/with space.h"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// The external app form runs the app's own make and reports its kernel.
func TestBuildExternal(t *testing.T) {
	testenv.Tool(t, "make", "gcc", "ld")
	dir := copyApp(t, filepath.Join(repoRoot(t), "testdata/guests/external"))
	r := mustBuild(t, dir, Options{CacheDir: testCacheDir(t)})
	if r.Image != filepath.Join(dir, "out/kernel.elf") || r.ELF != r.Image || !r.Report.External || r.Report.LoadBytes == 0 {
		t.Errorf("result %+v", r)
	}
	w := mustLoad(t, dir).Watch(nil)
	if !w.Match(filepath.Join(dir, "kernel.c")) || !w.Match(filepath.Join(dir, "Makefile")) || w.Match(filepath.Join(dir, "out/kernel.o")) {
		t.Errorf("watch %+v", w)
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.c"), []byte("void kmain(void) { syntax error }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Build(context.Background(), mustLoad(t, dir), Options{})
	if !errors.Is(err, ErrCompile) || len(r.Diagnostics) == 0 || r.Diagnostics[0].File != "kernel.c" {
		t.Errorf("broken external build: %v, %+v", err, r)
	}
}
