package build

import (
	"fmt"
	"strings"
	"testing"
)

// testCatalog builds a catalog from layer.yaml texts (pure: no files).
func testCatalog(t *testing.T, manifests ...string) *Catalog {
	t.Helper()
	c := &Catalog{Layers: map[string]*Layer{}}
	for _, y := range manifests {
		name := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(y, "name:"), "\n", 2)[0])
		m, err := ParseLayerManifest("layers/"+name+"/layer.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		c.Layers[m.Name] = &Layer{LayerManifest: *m, Origin: "builtin"}
	}
	return c
}

func testApp(t *testing.T, layers ...string) *AppManifest {
	t.Helper()
	y := fmt.Sprintf("name: app\nlayers: [%s]\n", strings.Join(layers, ", "))
	m, err := ParseAppManifest("ukw.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var baseLayers = []string{
	"name: arch/x\nprovides: [arch]\nldscript: link.ld\n",
	"name: plat/p\nprovides: [platform, console]\nrequires: [arch]\n",
	"name: lib/c\nprovides: [libc]\nrequires: [console]\noptions:\n  n: {type: int, default: 4}\n  s: {type: string, default: \"a\\\"b\"}\n",
	"name: lib/bump\nprovides: [allocator]\nrequires: [libc]\n",
	"name: lib/buddy\nprovides: [allocator]\nrequires: [libc]\noptions:\n  on: {type: bool, default: false}\n",
	"name: lib/sched\nprovides: [sched]\nrequires:\n  - allocator\n  - arch\n",
	"name: lib/lonely\nrequires: [network]\n",
	"name: lib/grumpy\nrequires: [libc]\nconflicts:\n  - sched\n",
	"name: lib/a\nrequires: [lib/b]\n",
	"name: lib/b\nrequires: [lib/c2]\n",
	"name: lib/c2\nrequires: [lib/a]\n",
}

func TestResolveOrderAndDefines(t *testing.T) {
	cat := testCatalog(t, baseLayers...)
	app := testApp(t, "lib/sched", "lib/bump", "lib/c", "plat/p", "arch/x")
	app.Options = []OptionSetting{{Layer: "lib/c", Option: "n", Value: "9", Tag: "!!int", Line: 4}}
	res, err := Resolve(cat, app)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range res.Layers {
		names = append(names, l.Name)
	}
	// every layer after what it requires: lib/sched needs allocator
	// (lib/bump), which needs libc (lib/c), which needs console (plat/p),
	// which needs arch (arch/x)
	if got, want := strings.Join(names, " "), "arch/x plat/p lib/c lib/bump lib/sched"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	if res.Providers["allocator"] != "lib/bump" || res.LDScript.Name != "arch/x" {
		t.Errorf("providers %v, ldscript %s", res.Providers, res.LDScript.Name)
	}
	got := strings.Join(res.Defines, " ")
	for _, d := range []string{"-DCONFIG_HAVE_SCHED=1", "-DCONFIG_HAVE_X=1", "-DCONFIG_C_N=9", `-DCONFIG_C_S="a\"b"`} {
		if !strings.Contains(got, d) {
			t.Errorf("defines %q lack %s", got, d)
		}
	}
}

// The resolution errors, with their exact messages: each names the layers,
// the manifest and line, and suggests a fix.
func TestResolveErrors(t *testing.T) {
	cat := testCatalog(t, baseLayers...)
	cases := []struct {
		name   string
		layers []string
		opts   []OptionSetting
		want   string
	}{
		{"missing provider", []string{"arch/x", "plat/p", "lib/sched"},
			nil,
			`layers/lib/sched/layer.yaml:4: layer lib/sched requires "allocator", which no selected layer provides (add lib/buddy or lib/bump to layers in ukw.yaml)`},
		{"missing everywhere", []string{"arch/x", "plat/p", "lib/lonely"},
			nil,
			`layers/lib/lonely/layer.yaml:2: layer lib/lonely requires "network", which no selected layer provides (no layer in the catalog provides it)`},
		{"two providers", []string{"arch/x", "plat/p", "lib/c", "lib/bump", "lib/buddy"},
			nil,
			`ukw.yaml:2: capability "allocator" is provided by lib/bump and lib/buddy: a build needs exactly one provider (keep only one of lib/bump, lib/buddy in layers)`},
		{"conflict", []string{"arch/x", "plat/p", "lib/c", "lib/bump", "lib/sched", "lib/grumpy"},
			nil,
			`layers/lib/grumpy/layer.yaml:4: layer lib/grumpy conflicts with "sched", provided by lib/sched (remove lib/grumpy or lib/sched from layers in ukw.yaml)`},
		{"cycle", []string{"arch/x", "plat/p", "lib/a", "lib/b", "lib/c2"},
			nil,
			`layers/lib/a/layer.yaml:2: dependency cycle: lib/a → lib/b → lib/c2 → lib/a (a layer cannot require itself, even through others; move the shared part into its own layer)`},
		{"no platform", []string{"arch/x"},
			nil,
			`ukw.yaml:2: no selected layer provides "platform", which every app needs (add plat/p to layers in ukw.yaml)`},
		{"unknown layer", []string{"arch/x", "plat/p", "lib/bunp"},
			nil,
			`ukw.yaml:2: unknown layer "lib/bunp" (did you mean lib/bump?)`},
		{"twice", []string{"arch/x", "plat/p", "arch/x"},
			nil,
			`ukw.yaml:2: layer arch/x is listed twice (remove the second one)`},
		{"unknown option", []string{"arch/x", "plat/p", "lib/c"},
			[]OptionSetting{{Layer: "lib/c", Option: "m", Value: "1", Tag: "!!int", Line: 7}},
			`ukw.yaml:7: layer lib/c has no option "m" (its options: n, s)`},
		{"option type", []string{"arch/x", "plat/p", "lib/c"},
			[]OptionSetting{{Layer: "lib/c", Option: "n", Value: "yes", Tag: "!!str", Line: 7}},
			`ukw.yaml:7: option lib/c.n must be a int, not "yes"`},
		{"option layer", []string{"arch/x", "plat/p"},
			[]OptionSetting{{Layer: "lib/c", Option: "n", Value: "1", Tag: "!!int", Line: 8}},
			`ukw.yaml:8: option lib/c.n is for layer lib/c, which is not in layers (add the layer or remove the option)`},
		{"layer_cflags layer", []string{"arch/x", "plat/p"},
			nil,
			`ukw.yaml:9: layer_cflags names layer lib/c, which is not in this build (add the layer to layers or remove its flags)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := testApp(t, c.layers...)
			app.Options = c.opts
			if c.name == "layer_cflags layer" {
				app.LayerCFlags = map[string][]string{"lib/c": {"-O0"}}
				app.Lines["layer_cflags.lib/c"] = 9
			}
			_, err := Resolve(cat, app)
			if err == nil {
				t.Fatalf("no error, want %s", c.want)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
		})
	}
}

func TestResolveLinkerScriptCount(t *testing.T) {
	cat := testCatalog(t, append(baseLayers, "name: arch/y\nprovides: [arch2]\nldscript: y.ld\n")...)
	_, err := Resolve(cat, testApp(t, "arch/x", "arch/y", "plat/p"))
	want := `ukw.yaml:2: exactly one selected layer must have a linker script (ldscript), found 2 (keep one of arch/x, arch/y)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// The built-in catalog resolves for every example and guest, and each
// capability has the providers the docs promise.
func TestBuiltinCatalog(t *testing.T) {
	cat, err := ListCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"arch/x86_64", "plat/kvm", "lib/nolibc", "lib/alloc-bump", "lib/alloc-buddy", "lib/panic", "lib/sched-coop"} {
		if cat.Layers[n] == nil {
			t.Errorf("catalog lacks %s", n)
		}
	}
	if p := cat.Providers("allocator"); strings.Join(p, " ") != "lib/alloc-buddy lib/alloc-bump" {
		t.Errorf("allocator providers %v", p)
	}
	for _, dir := range appDirs(t) {
		app, err := Load(dir)
		if err != nil || app.Manifest.External != nil {
			continue
		}
		if _, err := Resolve(cat, app.Manifest); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}
