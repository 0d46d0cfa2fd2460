package build

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// buildExternal runs an external app's own build command (sh -c, in the
// app directory) and reports the kernel it produced.
func buildExternal(ctx context.Context, app *App, start time.Time) (*Result, error) {
	e := app.Manifest.External
	out, err := run(ctx, app.Dir, "sh", "-c", e.Build)
	r := &Result{Cmdline: app.Manifest.Cmdline, MemoryMiB: app.Manifest.MemoryMiB, Output: out}
	r.Diagnostics = ParseDiagnostics(out)
	if err != nil {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return r, fmt.Errorf("%w: %q exited with status %d", ErrCompile, e.Build, code)
	}
	r.Image = app.abs(e.Kernel)
	r.ELF = r.Image
	if e.Debug != "" {
		r.ELF = app.abs(e.Debug)
	}
	for _, p := range []string{r.Image, r.ELF} {
		if _, err := os.Stat(p); err != nil {
			return r, fmt.Errorf("the build command did not produce %s", p)
		}
	}
	r.Report = Report{App: app.Manifest.Name, External: true, Linked: true}
	if st, err := os.Stat(r.Image); err == nil {
		r.Report.ImageBytes = st.Size()
	}
	if st, err := os.Stat(r.ELF); err == nil {
		r.Report.ELFBytes = st.Size()
	}
	if f, err := elf.Open(r.Image); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD {
				r.Report.LoadBytes += p.Filesz
				r.Report.MemBytes += p.Memsz
			}
		}
		f.Close()
	}
	r.Report.Durations.Total = time.Since(start)
	return r, nil
}
