package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Options adjust a build. The zero value builds with gcc, ld and objcopy
// from PATH, the manifest's opt level, and the default cache directory.
type Options struct {
	// Opt overrides the manifest's opt (0, 1, 2, s, g) when not empty.
	Opt string
	// Clean removes DIR/.ukw/build and the object cache first.
	Clean bool
	// CacheDir holds the extracted built-in catalog; default DefaultCacheDir().
	CacheDir string
	// Jobs is the number of parallel compiles; default the number of CPUs.
	Jobs int
	// CC, LD and Objcopy name the tools; defaults gcc, ld, objcopy.
	CC, LD, Objcopy string
}

func (o Options) withDefaults() Options {
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.CC == "" {
		o.CC = "gcc"
	}
	if o.LD == "" {
		o.LD = "ld"
	}
	if o.Objcopy == "" {
		o.Objcopy = "objcopy"
	}
	return o
}

// Result is what a build produced.
type Result struct {
	// ELF is the ELF64 with symbols and DWARF (for symbols and gdb); Image
	// is the bootable copy (ELF32, no debug info). Absolute paths.
	ELF   string `json:"elf"`
	Image string `json:"image"`
	// Cmdline and MemoryMiB come from ukw.yaml, for the VMM.
	Cmdline   string `json:"cmdline"`
	MemoryMiB int    `json:"memory"`
	Report    Report `json:"report"`
	// Diagnostics are gcc/ld messages, warnings included.
	Diagnostics []Diagnostic `json:"diagnostics"`
	// Inputs are the files the build read outside the extracted catalog
	// (sources and headers), for App.Watch.
	Inputs []string `json:"inputs,omitempty"`
	// Output is the build command's output (external apps).
	Output string `json:"-"`
}

// ErrCompile is returned (wrapped) when gcc or ld reported errors; the
// Result still carries the Diagnostics.
var ErrCompile = errors.New("compile failed")

// Build builds the app into DIR/.ukw/build. On a compile or link error
// it returns the Result with Diagnostics and an error wrapping ErrCompile.
func Build(ctx context.Context, app *App, opts Options) (*Result, error) {
	o := opts.withDefaults()
	start := time.Now()
	m := app.Manifest
	if o.Clean {
		if err := os.RemoveAll(filepath.Join(app.Dir, ".ukw")); err != nil {
			return nil, err
		}
	}
	if m.External != nil {
		return buildExternal(ctx, app, start)
	}
	opt := m.Opt
	if o.Opt != "" {
		switch o.Opt {
		case "0", "1", "2", "s", "g":
			opt = o.Opt
		default:
			return nil, fmt.Errorf("-O%s: the opt level must be one of 0, 1, 2, s, g", o.Opt)
		}
	}
	var paths []string
	for _, p := range m.LayerPaths {
		paths = append(paths, app.abs(p))
	}
	cat, err := LoadCatalog(o.CacheDir, paths...)
	if err != nil {
		return nil, err
	}
	res, err := Resolve(cat, m)
	if err != nil {
		return nil, err
	}
	tc, err := findToolchain(ctx, &o)
	if err != nil {
		return nil, err
	}
	resolved := time.Now()

	units, err := plan(app, res, tc, opt)
	if err != nil {
		return nil, err
	}
	r := &Result{Cmdline: m.Cmdline, MemoryMiB: m.MemoryMiB}
	cache := objCache{dir: app.CacheDir()}
	compiled, diags, err := compileAll(ctx, app, units, tc, cache, o.Jobs)
	r.Diagnostics = diags
	compileDone := time.Now()
	if err != nil {
		return r, err
	}
	r.ELF = filepath.Join(app.OutDir(), m.Name+".elf")
	r.Image = filepath.Join(app.OutDir(), m.Name+".img")
	linked, ldDiags, err := link(ctx, app, units, res, tc, r.ELF, r.Image)
	r.Diagnostics = append(r.Diagnostics, ldDiags...)
	if err != nil {
		return r, err
	}
	done := time.Now()

	rep, err := report(m.Name, res, units, cache, r.ELF, r.Image)
	if err != nil {
		return r, err
	}
	rep.Opt = opt
	rep.Compiled, rep.Cached, rep.Linked = compiled, len(units)-compiled, linked
	rep.Durations = Durations{
		Resolve: resolved.Sub(start), Compile: compileDone.Sub(resolved),
		Link: done.Sub(compileDone), Total: time.Since(start),
	}
	r.Report = *rep
	r.Inputs = inputs(units, cat.Root, tc.gccInclude)
	return r, nil
}
