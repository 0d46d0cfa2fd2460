package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// An app with its own layer (layer_paths): the layer's exported header is
// a dependency of the app's source, its options reach the compiler, and
// resolution errors point into its layer.yaml.
func TestLayerPaths(t *testing.T) {
	needToolchain(t)
	dir := filepath.Join(t.TempDir(), "greeter")
	writeFiles(t, dir, map[string]string{
		"ukw.yaml": `name: greeter
layers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/greet]
sources: [main.c]
layer_paths: [mylayers]
options:
  lib/greet.times: 3
`,
		"main.c": "#include <greet.h>\nint main(void) { return greet(\"x\"); }\n",
		"mylayers/lib/greet/layer.yaml": `name: lib/greet
description: says hello
provides: [greeting]
requires: [libc]
sources: [greet.c]
includes: [include]
options:
  times: {type: int, default: 1, description: how often}
`,
		"mylayers/lib/greet/include/greet.h": "int greet(const char *who);\n",
		"mylayers/lib/greet/greet.c": `#include <stdio.h>
#include <greet.h>
#if CONFIG_GREET_TIMES != 3 || !CONFIG_HAVE_GREET
#error options did not arrive
#endif
int greet(const char *who) { for (int i = 0; i < CONFIG_GREET_TIMES; i++) printf("hi %s\n", who); return 0; }
`,
	})
	o := Options{CacheDir: testCacheDir(t)}
	r := mustBuild(t, dir, o)
	if r.Report.Layers[len(r.Report.Layers)-2].Name != "lib/greet" {
		t.Errorf("layers %+v", r.Report.Layers)
	}
	appendLine(t, filepath.Join(dir, "mylayers/lib/greet/include/greet.h"), "/* edited */")
	if r := mustBuild(t, dir, o); r.Report.Compiled != 2 {
		t.Errorf("after editing greet.h (included by main.c and greet.c): compiled %d, want 2", r.Report.Compiled)
	}
	w := mustLoad(t, dir).Watch(r.Inputs)
	if !w.Match(filepath.Join(dir, "mylayers/lib/greet/greet.c")) {
		t.Errorf("watch %+v does not cover the layer path", w)
	}

	// a requirement nobody meets, reported in the layer's own manifest
	writeFiles(t, dir, map[string]string{"mylayers/lib/greet/layer.yaml": "name: lib/greet\nrequires:\n  - libc\n  - smtp\nsources: [greet.c]\nincludes: [include]\n"})
	_, err := Build(context.Background(), mustLoad(t, dir), o)
	want := `lib/greet/layer.yaml:4: layer lib/greet requires "smtp", which no selected layer provides (no layer in the catalog provides it)`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("got %v\nwant ...%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(e.File, filepath.Join(dir, "mylayers")) {
		t.Errorf("error file %v", err)
	}
}
