package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

func runUKW(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String() + errOut.String(), err
}

func TestBuildCommandJSON(t *testing.T) {
	testenv.Tool(t, "gcc", "ld", "objcopy")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "hello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ukw.yaml", "main.c"} {
		data, err := os.ReadFile(filepath.Join("../../examples/hello", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runUKW(t, "build", "--json", "-O", "1", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res struct {
		ELF, Image string
		Report     struct {
			Opt      string
			Compiled int
			Layers   []struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.ELF != filepath.Join(dir, ".ukw/build/hello.elf") || res.Image != filepath.Join(dir, ".ukw/build/hello.img") ||
		res.Report.Opt != "1" || res.Report.Compiled == 0 || len(res.Report.Layers) != 6 {
		t.Errorf("result %+v", res)
	}
	out, err = runUKW(t, "build", dir)
	if err != nil || !strings.Contains(out, "objects: 13 compiled, 0 cached") && !strings.Contains(out, "0 cached") {
		t.Errorf("text report: %v\n%s", err, out)
	}

	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte("int main(void) { return nope; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runUKW(t, "build", dir)
	if ee, ok := err.(exitError); !ok || ee.code != 1 || !strings.Contains(out, "main.c:1:25: error: 'nope' undeclared") {
		t.Errorf("broken build: %v\n%s", err, out)
	}
	if _, err := runUKW(t, "build", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no ukw.yaml here") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestLayersCommand(t *testing.T) {
	out, err := runUKW(t, "layers")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"arch/x86_64\n", "  provides:  allocator\n", "option     lib/alloc-bump.heap_kib (int, default 0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runUKW(t, "layers", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ls []struct {
		Name     string
		Provides []string
	}
	if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls) < 7 {
		t.Fatalf("%v: %s", err, out)
	}
}
