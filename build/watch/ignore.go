package watch

import (
	"path/filepath"
	"strings"
)

// IgnoredDir reports whether a directory (by base name) is never watched:
// ukw's own outputs and version-control metadata.
func IgnoredDir(name string) bool {
	switch name {
	case ".ukw", ".git", ".hg", ".svn", "node_modules", ".cache":
		return true
	}
	return false
}

// IgnoredFile reports whether a file name (base name) is an editor's or
// tool's temporary that must not trigger a rebuild.
func IgnoredFile(name string) bool {
	switch {
	case name == "4913": // vim's probe for a writable directory
		return true
	case strings.HasSuffix(name, "~"): // vim and emacs backups
		return true
	case strings.HasPrefix(name, ".#"): // emacs lock links
		return true
	case strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"): // emacs autosave
		return true
	case strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swx") || strings.HasSuffix(name, ".swo")):
		return true // vim swap files
	case isSedTemp(name):
		return true
	case strings.HasSuffix(name, ".tmp") || strings.Contains(name, ".tmp."):
		return true // atomic-save temporaries (VS Code extensions, many tools)
	}
	return false
}

// isSedTemp matches GNU sed -i's temporary "sed" + 6 alphanumerics.
func isSedTemp(name string) bool {
	if len(name) != 9 || !strings.HasPrefix(name, "sed") {
		return false
	}
	for _, c := range name[3:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ignoredPath applies IgnoredDir to every element of rel (a path relative
// to a root) and IgnoredFile to its last element.
func ignoredPath(rel string, isDir bool) bool {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts {
		if p == "" || p == "." {
			continue
		}
		last := i == len(parts)-1
		if IgnoredDir(p) && (!last || isDir) {
			return true
		}
		if last && !isDir && IgnoredFile(p) {
			return true
		}
	}
	return false
}
