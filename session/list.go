package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listLines is how many lines gdb's `list` prints.
const listLines = 10

// list answers List: it resolves spec as gdb's `list` does and returns the
// location with the lines around it.
func (l *loop) list(spec string) LocationEvent {
	ev := LocationEvent{Spec: spec}
	file, line, err := l.locate(strings.TrimSpace(spec))
	if err != nil {
		ev.Err = err.Error()
		return ev
	}
	lines, err := l.readSource(file)
	if err != nil {
		ev.Err = err.Error()
		return ev
	}
	if line > len(lines) {
		ev.Err = fmt.Sprintf("line number %d out of range; %q has %d lines", line, shortPath(file), len(lines))
		return ev
	}
	ev.File, ev.Line = file, line
	// gdb centres the line: five before it, four after.
	from := max(line-listLines/2, 1)
	to := min(from+listLines-1, len(lines))
	for n := from; n <= to; n++ {
		ev.Listing = append(ev.Listing, fmt.Sprintf("%d\t%s", n, lines[n-1]))
	}
	return ev
}

// locate turns a `list` argument into a file and line: "" is the selected
// frame; FILE:LINE, FUNCTION and *ADDR resolve through the symbols as
// `break` does (FILE:LINE keeps the line asked for, even one without
// code), then an ELF symbol through the line table (assembly labels); a
// FILE is a path on disk (absolute or in the app) or a source file the
// symbols name, at line 1.
func (l *loop) locate(spec string) (string, int, error) {
	if spec == "" {
		if l.stop == nil {
			return "", 0, errors.New("list: no default source: the guest is not stopped (try list FUNCTION or FILE:LINE)")
		}
		f := l.stop.frames[l.stop.selected]
		if f.File == "" {
			return "", 0, fmt.Errorf("list: no line information at %#x", f.PC)
		}
		return f.File, f.Line, nil
	}
	file, line := spec, 0 // line 0: FILE:LINE not given
	if i := strings.LastIndexByte(spec, ':'); i > 0 && !strings.HasPrefix(spec, "*") {
		if n, err := strconv.Atoi(spec[i+1:]); err == nil && n > 0 {
			file, line = spec[:i], n
		}
	}
	var symErr error
	if l.sym != nil {
		locs, err := l.sym.Breakpoints(spec)
		for _, loc := range locs {
			if loc.File == "" {
				continue
			}
			if line > 0 {
				return loc.File, line, nil // the line asked for, with or without code
			}
			return loc.File, loc.Line, nil
		}
		symErr = err
		// an assembly label: the line of its address, when the assembler
		// gave line information
		for _, sym := range l.sym.LookupSymbol(spec) {
			if loc := l.sym.Lookup(sym.Addr); len(loc.Frames) > 0 && loc.Frames[0].File != "" {
				return loc.Frames[0].File, loc.Frames[0].Line, nil
			}
		}
	}
	if p, ok := l.sourcePath(file); ok {
		return p, max(line, 1), nil
	}
	if l.sym != nil && line == 0 {
		if locs, err := l.sym.Breakpoints(file + ":1"); err == nil && len(locs) > 0 && locs[0].File != "" {
			return locs[0].File, 1, nil
		}
	}
	if symErr != nil {
		return "", 0, fmt.Errorf("list %s: %v", spec, symErr)
	}
	return "", 0, fmt.Errorf("list %s: no such function or source file", spec)
}

// sourcePath finds file on disk: as given, or relative to the app.
func (l *loop) sourcePath(file string) (string, bool) {
	if st, err := os.Stat(file); err == nil && st.Mode().IsRegular() {
		return file, true
	}
	if l.app != nil && !filepath.IsAbs(file) {
		p := filepath.Join(l.app.Dir, file)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}
