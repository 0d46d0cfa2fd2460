package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// unit is one compilation: a source of a layer or of the app.
type unit struct {
	layer string // layer name, or "app"
	src   string // absolute path
	flags []string
	unit  string // unit key (see cache.go)
	key   string // object key once known
	deps  []string
}

// AppLayer is the name the report uses for the app's own sources.
const AppLayer = "app"

// plan lists every compilation with its flags, in link order.
func plan(app *App, res *Resolution, tc *toolchain, opt string) ([]*unit, error) {
	m := app.Manifest
	common := baseFlags(opt, tc.gccInclude)
	common = append(common, res.Defines...)
	common = append(common, "-DUKW_APP_NAME="+cString(m.Name))
	for _, l := range res.Layers {
		for _, inc := range l.Includes {
			common = append(common, "-I", filepath.Join(l.Dir, filepath.FromSlash(inc)))
		}
	}
	for _, inc := range m.Includes {
		common = append(common, "-I", app.abs(inc))
	}
	var units []*unit
	add := func(layer, src string, extra []string) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("%s: %w", layer, err)
		}
		flags := append(append([]string{}, common...), extra...)
		if strings.HasSuffix(src, ".S") {
			flags = append(flags, "-D__ASSEMBLY__")
		}
		units = append(units, &unit{layer: layer, src: src, flags: flags, unit: unitKey(tc.ccID, flags, src, data)})
		return nil
	}
	for _, l := range res.Layers {
		for _, s := range l.Sources {
			flags := append(append([]string{}, l.CFlags...), m.LayerCFlags[l.Name]...)
			if err := add(l.Name, filepath.Join(l.Dir, filepath.FromSlash(s)), flags); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range m.Sources {
		if err := add(AppLayer, app.abs(s), m.CFlags); err != nil {
			return nil, err
		}
	}
	return units, nil
}

// compileAll compiles the units that miss the cache, jobs at a time, and
// returns how many it compiled and every diagnostic.
func compileAll(ctx context.Context, app *App, units []*unit, tc *toolchain, cache objCache, jobs int) (int, []Diagnostic, error) {
	var todo []*unit
	for _, u := range units {
		if key, deps, hit := cache.lookup(u.unit); hit {
			u.key, u.deps = key, deps
		} else {
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		return 0, nil, nil
	}
	tmpDir := filepath.Join(cache.dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return 0, nil, err
	}
	type outcome struct {
		diags []Diagnostic
		err   error
	}
	outs := make([]outcome, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	for i, u := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			outs[i].diags, outs[i].err = compileOne(ctx, app, u, tc, cache, tmpDir)
		}()
	}
	wg.Wait()
	var diags []Diagnostic
	var failed []string
	for i, o := range outs {
		diags = append(diags, o.diags...)
		if o.err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", filepath.Base(todo[i].src), o.err))
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return len(todo), diags, fmt.Errorf("%w: %s", ErrCompile, strings.Join(failed, "; "))
	}
	return len(todo), diags, nil
}

func compileOne(ctx context.Context, app *App, u *unit, tc *toolchain, cache objCache, tmpDir string) ([]Diagnostic, error) {
	tmp, err := os.CreateTemp(tmpDir, "*.o")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	obj := tmp.Name()
	dep := obj + ".d"
	defer os.Remove(obj)
	defer os.Remove(dep)
	args := append(append([]string{}, u.flags...), "-MD", "-MF", dep, "-c", u.src, "-o", obj)
	out, runErr := run(ctx, app.Dir, tc.cc, args...)
	diags := ParseDiagnostics(out)
	if runErr != nil {
		if ctx.Err() != nil {
			return diags, ctx.Err()
		}
		if len(diags) == 0 {
			diags = append(diags, Diagnostic{File: u.src, Severity: "error", Message: strings.TrimSpace(out)})
		}
		return diags, fmt.Errorf("gcc failed")
	}
	data, err := os.ReadFile(dep)
	if err != nil {
		return diags, err
	}
	u.deps = parseDepFile(data, app.Dir)
	u.key, err = cache.store(u.unit, obj, u.deps)
	return diags, err
}

// inputs lists the sources and headers outside the extracted catalog and
// the compiler's own include directory.
func inputs(units []*unit, catalogRoot, gccInclude string) []string {
	var out []string
	skip := func(p string) bool {
		for _, root := range []string{catalogRoot, gccInclude} {
			if root != "" && strings.HasPrefix(p, root+string(filepath.Separator)) {
				return true
			}
		}
		return false
	}
	for _, u := range units {
		if !skip(u.src) {
			out = append(out, u.src)
		}
		for _, d := range u.deps {
			if !skip(d) {
				out = append(out, d)
			}
		}
	}
	return uniqSorted(out)
}
