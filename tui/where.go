package tui

import (
	"path/filepath"
	"strconv"
	"strings"

	"ukw/session"
)

// splitFileLine parses "FILE:LINE" (LINE a positive decimal number).
func splitFileLine(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return s[:i], n, true
}

// atLine reports whether breakpoint b has a location at file:line: one of
// the lines the session resolved it to, or else the one its text names.
func atLine(b session.Breakpoint, file string, line int) bool {
	for _, fl := range b.Lines {
		if fl.Line == line && sameFile(fl.File, file) {
			return true
		}
	}
	if len(b.Lines) > 0 {
		return false
	}
	f, l, ok := bpLocation(b)
	return ok && l == line && sameFile(f, file)
}

// bpLocation returns the source line a breakpoint resolved to, from its
// Where ("main at hello.c:12", "hello.c:12") or else its Spec ("hello.c:12").
func bpLocation(b session.Breakpoint) (string, int, bool) {
	w := b.Where
	if i := strings.LastIndex(w, " at "); i >= 0 {
		w = w[i+len(" at "):]
	}
	if f, l, ok := splitFileLine(strings.TrimSpace(w)); ok {
		return f, l, true
	}
	if strings.HasPrefix(b.Spec, "*") {
		return "", 0, false
	}
	return splitFileLine(b.Spec)
}

// sameFile reports whether two spellings of a source path name the same
// file: equal, or one a path-boundary suffix of the other ("hello.c" and
// "/src/app/hello.c").
func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	if filepath.Base(a) != filepath.Base(b) {
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	return strings.HasSuffix(a, "/"+strings.TrimPrefix(b, "./"))
}
