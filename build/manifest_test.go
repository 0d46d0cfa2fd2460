package build

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLayerManifest(t *testing.T) {
	m, err := ParseLayerManifest("layers/lib/x/layer.yaml", []byte(`name: lib/x
description: test
provides: [thing]
requires:
  - libc
  - console
sources: [a.c, b.S]
options:
  size:
    type: int
    default: 0x10
    description: bytes
  on: {type: bool, default: true}
  label: {type: string, default: "hi"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "lib/x" || len(m.Requires) != 2 || m.Lines["requires.1"] != 6 {
		t.Fatalf("got %+v", m)
	}
	want := []OptionSpec{{"label", OptString, "hi", ""}, {"on", OptBool, true, ""}, {"size", OptInt, int64(16), "bytes"}}
	for i, o := range m.Options {
		if o != want[i] {
			t.Errorf("option %d = %+v, want %+v", i, o, want[i])
		}
	}
}

// Every manifest error names the file and the line of the offending key.
func TestManifestErrorsHaveLines(t *testing.T) {
	cases := []struct {
		name, yaml, want string
		layer            bool
	}{
		{"unknown key", "name: a\nlayers: [plat/kvm]\nsourcse: [x.c]\n", `ukw.yaml:3: ukw.yaml: unknown key "sourcse" (did you mean "sources"?)`, false},
		{"duplicate", "name: a\nlayers: [plat/kvm]\nname: b\n", `ukw.yaml:3: ukw.yaml: duplicate key "name"`, false},
		{"bad list", "name: a\nlayers: plat/kvm\n", `ukw.yaml:2: layers must be a list of strings (write [a, b] or one "- item" per line)`, false},
		{"bad memory", "name: a\nlayers: [x]\nmemory: lots\n", `ukw.yaml:3: memory must be an integer`, false},
		{"small memory", "name: a\nlayers: [x]\nmemory: 1\n", `ukw.yaml:3: memory must be between 2 and 65536 MiB, not 1`, false},
		{"bad opt", "name: a\nlayers: [x]\nopt: 3\n", `ukw.yaml:3: opt must be one of 0, 1, 2, s, g, not "3"`, false},
		{"bad yaml", "name: a\nlayers: [x\n", `ukw.yaml:2: invalid YAML: did not find expected ',' or ']'`, false},
		{"tab yaml", "name: a\n\tlayers: [x]\n", `ukw.yaml:2: invalid YAML: found a tab character that violates indentation`, false},
		{"unclosed flow", "name: a\nmemory: 4\nlayers: [x, y\ncmdline: z\n", `ukw.yaml:3: invalid YAML: did not find expected ',' or ']'`, false},
		{"no layers", "name: a\nlayers: []\n", `ukw.yaml:2: an app needs layers (or an external build) (for example: layers: [arch/x86_64, plat/kvm, lib/nolibc])`, false},
		{"external mix", "name: a\nexternal:\n  build: make\n  kernel: k\nsources: [a.c]\n", `ukw.yaml:5: sources is not allowed in an external app (remove it: the external build command decides)`, false},
		{"external missing", "name: a\nexternal:\n  build: make\n", `ukw.yaml:2: external: missing kernel path`, false},
		{"option key", "name: a\nlayers: [x]\noptions:\n  heap: 3\n", `ukw.yaml:4: option "heap" must be written layer.option (for example lib/alloc-bump.heap_kib: 2048)`, false},
		{"layer_cflags list", "name: a\nlayers: [x]\nlayer_cflags: [-O2]\n", `ukw.yaml:3: layer_cflags must be a mapping of layer names to flag lists (for example layer_cflags: {lib/nolibc: [-finstrument-functions]})`, false},
		{"layer_cflags value", "name: a\nlayers: [x]\nlayer_cflags:\n  lib/nolibc: -O2\n", `ukw.yaml:4: lib/nolibc must be a list of strings (write [a, b] or one "- item" per line)`, false},
		{"external layer_cflags", "name: a\nexternal:\n  build: make\n  kernel: k\nlayer_cflags: {lib/x: [-g]}\n", `ukw.yaml:5: layer_cflags is not allowed in an external app (remove it: the external build command decides)`, false},
		{"no name", "layers: [x]\n", `ukw.yaml:1: missing required key "name"`, false},
		{"not a map", "- a\n- b\n", `ukw.yaml:1: a manifest must be a mapping of keys to values`, false},
		{"empty", "", `ukw.yaml: empty manifest`, false},
		{"layer bad type", "name: lib/x\noptions:\n  n: {type: float, default: 1}\n", `layer.yaml:3: option "n": unknown type "float" (int, bool or string)`, true},
		{"layer bad default", "name: lib/x\noptions:\n  n:\n    type: int\n    default: many\n", `layer.yaml:5: option n default must be a int, not "many"`, true},
		{"layer source ext", "name: lib/x\nsources: [a.cc]\n", `layer.yaml:2: source "a.cc": only .c and .S files are compiled`, true},
		{"layer escape", "name: lib/x\nsources: [../y.c]\n", `layer.yaml:2: path "../y.c" must stay inside the layer directory`, true},
		{"layer name", "name: Lib/X\n", `layer.yaml:1: invalid layer name "Lib/X" (use lower-case path elements such as lib/alloc-bump)`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.layer {
				_, err = ParseLayerManifest("layer.yaml", []byte(c.yaml))
			} else {
				_, err = ParseAppManifest("ukw.yaml", []byte(c.yaml))
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if got := err.Error(); got != c.want {
				t.Errorf("error\n got: %s\nwant: %s", got, c.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is %T, not *Error", err)
			}
		})
	}
}

func TestManifestCollectsSeveralErrors(t *testing.T) {
	_, err := ParseAppManifest("ukw.yaml", []byte("name: a\nfoo: 1\nlayers: [x]\nbar: 2\n"))
	var l ErrorList
	if !errors.As(err, &l) || len(l) != 2 || l[0].Line != 2 || l[1].Line != 4 {
		t.Fatalf("got %v", err)
	}
}

func TestExampleManifestsParse(t *testing.T) {
	for _, dir := range appDirs(t) {
		app, err := Load(dir)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if app.Manifest.Name == "" {
			t.Errorf("%s: no name", dir)
		}
	}
}

// FuzzParseManifest: any input gives a manifest or an error, never a panic,
// and every error carries the file name.
func FuzzParseManifest(f *testing.F) {
	seeds := []string{
		"name: hello\nlayers: [arch/x86_64, plat/kvm]\nsources: [main.c]\noptions:\n  lib/alloc-bump.heap_kib: 2048\n",
		"name: e\nexternal:\n  build: make\n  kernel: k\n  watch: [\"*.c\"]\n",
		"name: lib/x\nprovides: [a]\noptions:\n  n: {type: int, default: 3}\n",
		"a: &x [1, 2]\nb: *x\n",
		"name: [\n", "- 1\n", "", "~", "name: !!binary aGk=\n", "options:\n  a.b: {x: 1}\n",
		"name: a\nlayers: [x]\nmemory: 0x7fffffffffffffff\n", "name: a\nlayers: [x]\nlayer_cflags: {x: [-g], y: ~}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func() error{
			func() error { _, err := ParseAppManifest("f.yaml", data); return err },
			func() error { _, err := ParseLayerManifest("f.yaml", data); return err },
		} {
			if err := parse(); err != nil && !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
		}
	})
}

func TestParseLayerCFlags(t *testing.T) {
	m, err := ParseAppManifest("ukw.yaml", []byte("name: a\nlayers: [lib/nolibc]\nlayer_cflags:\n  lib/nolibc: [-finstrument-functions, -O1]\n  plat/kvm:\n    - -g3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.LayerCFlags; len(got) != 2 || strings.Join(got["lib/nolibc"], " ") != "-finstrument-functions -O1" || strings.Join(got["plat/kvm"], " ") != "-g3" {
		t.Fatalf("layer_cflags %v", got)
	}
	if m.Lines["layer_cflags.lib/nolibc"] != 4 || m.Lines["layer_cflags.plat/kvm"] != 5 {
		t.Fatalf("lines %v", m.Lines)
	}
}
