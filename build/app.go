package build

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestName is the app manifest's file name.
const ManifestName = "ukw.yaml"

// App is an application directory with its parsed ukw.yaml.
type App struct {
	Dir      string // absolute
	Manifest *AppManifest
}

// Load reads DIR/ukw.yaml.
func Load(dir string) (*App, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(abs, ManifestName)
	data, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &Error{File: file, Msg: "no ukw.yaml here", Hint: "an app directory needs a ukw.yaml; see examples/hello"}
		}
		return nil, err
	}
	m, err := ParseAppManifest(displayPath(file), data)
	if err != nil {
		return nil, err
	}
	return &App{Dir: abs, Manifest: m}, nil
}

// displayPath shortens p relative to the working directory when that is
// shorter, for messages.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && len(r) < len(p) {
		return r
	}
	return p
}

// OutDir is DIR/.ukw/build, where NAME.elf and NAME.img go.
func (a *App) OutDir() string { return filepath.Join(a.Dir, ".ukw", "build") }

// CacheDir is DIR/.ukw/cache, the object cache.
func (a *App) CacheDir() string { return filepath.Join(a.Dir, ".ukw", "cache") }

// abs resolves a manifest path relative to the app directory.
func (a *App) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(a.Dir, filepath.FromSlash(p))
}

// WatchSpec tells a file watcher what can change an app's build output.
// Files and Dirs are absolute; a watcher observes every file in Dirs
// (recursively) and every path in Files, and Match decides whether an
// event on a path is relevant.
type WatchSpec struct {
	// Dir is the app directory.
	Dir string `json:"dir"`
	// Files are individual inputs: ukw.yaml, sources, and (after a build)
	// every header gcc read outside the extracted catalog.
	Files []string `json:"files"`
	// Dirs are watched recursively: include dirs and layer_paths.
	Dirs []string `json:"dirs"`
	// Globs (external apps) match paths relative to Dir, or base names.
	Globs []string `json:"globs,omitempty"`
	// Ignore are directories whose events never matter (DIR/.ukw).
	Ignore []string `json:"ignore"`
}

// Watch returns what to watch for the app. deps, from Result.Inputs, adds
// the headers the last build read; it may be nil.
func (a *App) Watch(deps []string) WatchSpec {
	m := a.Manifest
	w := WatchSpec{Dir: a.Dir, Ignore: []string{filepath.Join(a.Dir, ".ukw")}}
	w.Files = append(w.Files, filepath.Join(a.Dir, ManifestName))
	if m.External != nil {
		w.Dirs = append(w.Dirs, a.Dir)
		w.Globs = append(w.Globs, m.External.Watch...)
		return w
	}
	for _, s := range m.Sources {
		w.Files = append(w.Files, a.abs(s))
	}
	for _, i := range m.Includes {
		w.Dirs = append(w.Dirs, a.abs(i))
	}
	for _, p := range m.LayerPaths {
		w.Dirs = append(w.Dirs, a.abs(p))
	}
	w.Files = append(w.Files, deps...)
	w.Files = uniqSorted(w.Files)
	return w
}

// Match reports whether a change to path (absolute) is relevant.
func (w WatchSpec) Match(path string) bool {
	for _, ig := range w.Ignore {
		if path == ig || strings.HasPrefix(path, ig+string(filepath.Separator)) {
			return false
		}
	}
	for _, f := range w.Files {
		if f == path {
			return true
		}
	}
	if len(w.Globs) > 0 {
		rel, err := filepath.Rel(w.Dir, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return false
		}
		for _, g := range w.Globs {
			if ok, _ := filepath.Match(g, rel); ok {
				return true
			}
			if ok, _ := filepath.Match(g, filepath.Base(rel)); ok {
				return true
			}
		}
		return false
	}
	for _, d := range w.Dirs {
		if strings.HasPrefix(path, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func uniqSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func (a *App) String() string { return fmt.Sprintf("%s (%s)", a.Manifest.Name, a.Dir) }
