package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ukw/internal/testenv"
	"ukw/trace"
)

// tracetreeShape is the call tree testdata/guests/tracetree/main.c makes,
// worked out from its source by hand (names, nesting, counts).
const tracetreeShape = `main 1
  work 3
    step 3
      leaf 6
    square 3
    leaf 2
  fib 1
    fib 2
      fib 4
        fib 2
`

type traceJSON struct {
	Records   int         `json:"records"`
	Dropped   uint64      `json:"dropped"`
	Unmatched int         `json:"unmatched_exits"`
	Ring      string      `json:"ring"`
	Live      bool        `json:"live"`
	Polls     int         `json:"polls"`
	Tree      []*treeJSON `json:"tree"`
	Points    []pointJSON `json:"tracepoints"`
	Outcome   string      `json:"outcome"`
	ElapsedNS int64       `json:"guest_elapsed_ns"`
}

type treeJSON struct {
	Func       string      `json:"func"`
	File       string      `json:"file"`
	Line       int         `json:"line"`
	Calls      int         `json:"calls"`
	Unfinished int         `json:"unfinished"`
	InclTicks  uint64      `json:"incl_ticks"`
	ExclTicks  uint64      `json:"excl_ticks"`
	Children   []*treeJSON `json:"children"`
}

type pointJSON struct {
	Name string   `json:"name"`
	Text string   `json:"text"`
	Args []uint64 `json:"args"`
	File string   `json:"file"`
	Line int      `json:"line"`
	In   string   `json:"in"`
}

func shapeOf(nodes []*treeJSON, depth int, b *strings.Builder) {
	for _, n := range nodes {
		fmt.Fprintf(b, "%s%s %d\n", strings.Repeat("  ", depth), n.Func, n.Calls)
		shapeOf(n.Children, depth+1, b)
	}
}

func checkTimes(t *testing.T, nodes []*treeJSON) {
	t.Helper()
	for _, n := range nodes {
		var kids uint64
		for _, c := range n.Children {
			kids += c.InclTicks
		}
		if n.InclTicks == 0 || n.ExclTicks+kids != n.InclTicks || n.Unfinished != 0 {
			t.Errorf("%s: incl %d, excl %d + children %d, unfinished %d", n.Func, n.InclTicks, n.ExclTicks, kids, n.Unfinished)
		}
		checkTimes(t, n.Children)
	}
}

func runTrace(t *testing.T, args ...string) traceJSON {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"trace", "--json"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("ukw trace %v: %v\nstderr:\n%s", args, err, errOut.String())
	}
	var j traceJSON
	if err := json.Unmarshal(out.Bytes(), &j); err != nil {
		t.Fatalf("ukw trace --json: %v\n%s", err, out.String())
	}
	return j
}

// TestTraceTracetree: `ukw trace` reproduces the known call tree exactly,
// the tracepoint log, and Perfetto JSON that validates.
func TestTraceTracetree(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	pf := filepath.Join(t.TempDir(), "tracetree.json")
	j := runTrace(t, copyGuest(t, "tracetree"), "--perfetto", pf)
	var b strings.Builder
	shapeOf(j.Tree, 0, &b)
	if b.String() != tracetreeShape {
		t.Fatalf("call tree:\n%s\nwant:\n%s", b.String(), tracetreeShape)
	}
	checkTimes(t, j.Tree)
	if j.Dropped != 0 || j.Unmatched != 0 || !j.Live || j.Records != 2*27+4 {
		t.Fatalf("records %d (want 58), dropped %d, unmatched %d, live %v", j.Records, j.Dropped, j.Unmatched, j.Live)
	}
	if j.Tree[0].File == "" || !strings.HasSuffix(j.Tree[0].File, "main.c") || j.Tree[0].Line == 0 {
		t.Errorf("main not located in main.c: %+v", j.Tree[0])
	}
	var texts []string
	for _, p := range j.Points {
		texts = append(texts, p.Name+": "+p.Text+" in "+p.In)
		if !strings.HasSuffix(p.File, "main.c") || p.Line == 0 {
			t.Errorf("tracepoint %s at %s:%d", p.Name, p.File, p.Line)
		}
	}
	want := []string{"work: i=0 in work", "work: i=1 in work", "work: i=2 in work", "done: total=38 reps=1 in main"}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("tracepoints:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(j.Outcome, "exit status 0") {
		t.Fatalf("outcome %q", j.Outcome)
	}
	data, err := os.ReadFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.ValidateTraceEvents(data); err != nil {
		t.Fatalf("perfetto JSON: %v", err)
	}
	var tf trace.TraceFile
	json.Unmarshal(data, &tf)
	calls := map[string]int{}
	for _, e := range tf.TraceEvents {
		if e.Ph == "X" {
			calls[e.Name]++
		}
	}
	if fmt.Sprint(calls) != "map[fib:9 leaf:8 main:1 square:3 step:3 work:3]" {
		t.Fatalf("X events per function: %v", calls)
	}
}

// TestTraceTextOutput checks the human form: the tree lines and the log.
func TestTraceTextOutput(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	out, err := runUKW(t, "trace", copyGuest(t, "tracetree"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"tracetree: total 38", "58 records (27 calls, 4 tracepoints), 0 dropped", "call tree:",
		"  main  (main.c:", "      leaf  (main.c:", "          fib  (main.c:", "tracepoints:", "work             i=1  (main.c:", "exit status 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// TestTraceLiveSmallRing runs 20 repetitions through a 256-record ring:
// 1103 records, so the ring wraps four times and the guest keeps
// writing only because the host hands slots back while it runs.
func TestTraceLiveSmallRing(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	dir := t.TempDir()
	src, err := os.ReadFile("../../testdata/guests/tracetree/main.c")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "main.c"), src, 0o644)
	os.WriteFile(filepath.Join(dir, "ukw.yaml"), []byte(`name: tracering
layers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/panic, lib/trace, lib/ftrace]
sources: [main.c]
cflags: [-finstrument-functions]
opt: "0"
cmdline: "tracering 20"
options:
  lib/trace.ring_kib: 16
`), 0o644)
	j := runTrace(t, dir, "--period", "2ms")
	if j.Dropped != 0 {
		t.Fatalf("%d records dropped with a live reader", j.Dropped)
	}
	if want := 2*(20*26+1) + 20*3 + 1; j.Records != want || j.Polls < 5 {
		t.Fatalf("records %d (want %d), polls %d", j.Records, want, j.Polls)
	}
	var b strings.Builder
	shapeOf(j.Tree, 0, &b)
	want := `main 1
  work 60
    step 60
      leaf 120
    square 60
    leaf 40
  fib 20
    fib 40
      fib 80
        fib 40
`
	if b.String() != want {
		t.Fatalf("call tree:\n%s\nwant:\n%s", b.String(), want)
	}
}

type profileJSON struct {
	Samples int     `json:"samples"`
	Failed  int     `json:"failed"`
	Hz      int     `json:"hz"`
	Method  string  `json:"method"`
	HeldPct float64 `json:"held_pct"`
	Top     []struct {
		Name  string `json:"name"`
		Self  int    `json:"self"`
		Total int    `json:"total"`
	} `json:"top"`
	Outcome string `json:"outcome"`
}

// TestProfileHot: >= 90% of samples in hot_spin, with both sampling
// methods; the flame graph is well-formed SVG naming the functions.
func TestProfileHot(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	for _, method := range []string{"sample", "interrupt"} {
		t.Run(method, func(t *testing.T) {
			dir := t.TempDir()
			folded, svg := filepath.Join(dir, "hot.folded"), filepath.Join(dir, "hot.svg")
			var out, errOut bytes.Buffer
			root := newRootCmd()
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs([]string{"profile", copyGuest(t, "hot"), "--cmdline", "hot 20", "--hz", "200",
				"--method", method, "--json", "--folded", folded, "--svg", svg})
			if err := root.Execute(); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			var j profileJSON
			if err := json.Unmarshal(out.Bytes(), &j); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if j.Method != method || j.Samples < 20 || !strings.Contains(j.Outcome, "exit status 0") {
				t.Fatalf("method %s, %d samples, outcome %q", j.Method, j.Samples, j.Outcome)
			}
			if j.Top[0].Name != "hot_spin" || float64(j.Top[0].Self) < 0.9*float64(j.Samples) {
				t.Fatalf("top %+v of %d samples: want hot_spin with >= 90%%", j.Top, j.Samples)
			}
			f, err := os.Open(folded)
			if err != nil {
				t.Fatal(err)
			}
			p, err := trace.ParseFolded(f)
			f.Close()
			if err != nil || p.Samples != j.Samples {
				t.Fatalf("folded: %d samples, %v; want %d", p.Samples, err, j.Samples)
			}
			if !hasStack(p, "main;hot_spin") {
				t.Fatalf("no ...;main;hot_spin stack in %v", p.Stacks)
			}
			data, err := os.ReadFile(svg)
			if err != nil {
				t.Fatal(err)
			}
			titles := xmlTitles(t, data)
			for _, fn := range []string{"hot_spin", "main", "ukw_plat_entry"} {
				if !strings.Contains(strings.Join(titles, "\n"), fn+" (") {
					t.Errorf("flame graph has no %s frame: %q", fn, titles)
				}
			}
		})
	}
}

func hasStack(p *trace.Profile, suffix string) bool {
	for k := range p.Stacks {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// xmlTitles parses data with encoding/xml (failing on malformed XML) and
// returns the text of its <title> elements.
func xmlTitles(t *testing.T, data []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var titles []string
	in := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return titles
		}
		if err != nil {
			t.Fatalf("flame graph SVG is not well-formed: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			in = x.Name.Local == "title"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				titles = append(titles, string(x))
			}
		}
	}
}

// TestTracePerLayer instruments one layer (its own cflags) and not the
// app: only the layer's functions are traced, and a UKW_NOTRACE function
// in it is transparent (its callee shows under its caller).
func TestTracePerLayer(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	dir := t.TempDir()
	files := map[string]string{
		"app/ukw.yaml": `name: perlayer
layers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/panic, lib/trace, lib/ftrace, lib/counter]
sources: [main.c]
layer_paths: [../layers]
opt: "0"
`,
		"app/main.c": `#include <stdio.h>
int counter_run(int n);
static int app_helper(int x) { return x + 1; }
int main(void) { printf("perlayer %d\n", counter_run(app_helper(2))); return 0; }
`,
		"layers/lib/counter/layer.yaml": `name: lib/counter
description: a layer traced on its own
provides: [counter]
requires: [lib/trace]
sources: [counter.c]
cflags: [-finstrument-functions]
`,
		"layers/lib/counter/counter.c": `#include <ukw/trace.h>
static int count_one(int i) { return i * 2; }
static UKW_NOTRACE int hidden(int i) { return count_one(i) + 1; }
int counter_run(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += count_one(i);
	return s + hidden(n);
}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j := runTrace(t, filepath.Join(dir, "app"))
	var b strings.Builder
	shapeOf(j.Tree, 0, &b)
	if want := "counter_run 1\n  count_one 4\n"; b.String() != want {
		t.Fatalf("call tree:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestTraceCatalogLayerFromTheApp instruments a catalog layer (lib/nolibc)
// for one app through its ukw.yaml (layer_cflags), not the app itself:
// the libc calls main makes are the roots of the call tree.
func TestTraceCatalogLayerFromTheApp(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ukw.yaml"), []byte(`name: tracelibc
layers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/panic, lib/trace, lib/ftrace]
sources: [main.c]
layer_cflags:
  lib/nolibc: [-finstrument-functions]
opt: "0"
`), 0o644)
	os.WriteFile(filepath.Join(dir, "main.c"), []byte(`#include <stdio.h>
#include <string.h>
int main(void)
{
	char buf[16] = "abc";
	size_t n = 0;
	for (int i = 0; i < 3; i++)
		n += strlen(buf);
	printf("tracelibc %d\n", (int)n);
	return 0;
}
`), 0o644)
	j := runTrace(t, dir)
	roots := map[string]int{}
	for _, n := range j.Tree {
		roots[n.Func] = n.Calls
	}
	if roots["strlen"] != 3 || roots["printf"] != 1 || roots["main"] != 0 {
		var b strings.Builder
		shapeOf(j.Tree, 0, &b)
		t.Fatalf("roots %v, want strlen 3 and printf 1 (main not instrumented); tree:\n%s", roots, b.String())
	}
}

// copyGuest copies testdata/guests/NAME to a temporary directory: test
// binaries run in parallel, and two builds of one directory would race.
func copyGuest(t *testing.T, name string) string {
	return testenv.CopyApp(t, filepath.Join("..", "..", "testdata", "guests", name))
}
