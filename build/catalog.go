package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"ukw/layers"
)

// Layer is one layer of a catalog: its manifest and where its files are.
type Layer struct {
	LayerManifest
	// Dir is the layer's directory on disk (for the built-in catalog, the
	// extracted copy); empty for a catalog listed without extraction.
	Dir string `json:"dir,omitempty"`
	// Origin is "builtin" or the layer_paths directory it came from.
	Origin string `json:"origin"`
}

// Catalog is a set of layers by name. Layers from layer_paths shadow
// built-in layers of the same name.
type Catalog struct {
	Layers map[string]*Layer
	// Root is the extracted built-in catalog ("" when not extracted).
	Root string
}

// Names returns the layer names, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.Layers))
	for n := range c.Layers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Providers returns the names of the layers that provide capability cap
// (a layer provides its own name too), sorted.
func (c *Catalog) Providers(cap string) []string {
	var out []string
	for _, n := range c.Names() {
		if n == cap || contains(c.Layers[n].Provides, cap) {
			out = append(out, n)
		}
	}
	return out
}

// ListCatalog reads the built-in catalog and the extra layer directories
// without extracting anything: for `ukw layers`.
func ListCatalog(extra ...string) (*Catalog, error) {
	c := &Catalog{Layers: map[string]*Layer{}}
	var errs ErrorList
	if err := c.add(layers.FS(), "builtin", "", "layers"); err != nil {
		errs = appendErr(errs, err)
	}
	for _, p := range extra {
		if err := c.add(os.DirFS(p), p, p, p); err != nil {
			errs = appendErr(errs, err)
		}
	}
	return c, errs.err()
}

// LoadCatalog extracts the built-in catalog under cacheDir (once per
// content hash, so gcc sees real files and DWARF names them) and adds the
// layers found under each of extra, which shadow built-in ones.
func LoadCatalog(cacheDir string, extra ...string) (*Catalog, error) {
	root, err := extractBuiltin(cacheDir)
	if err != nil {
		return nil, err
	}
	c := &Catalog{Layers: map[string]*Layer{}, Root: root}
	var errs ErrorList
	if err := c.add(os.DirFS(root), "builtin", root, "layers"); err != nil {
		errs = appendErr(errs, err)
	}
	for _, p := range extra {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if err := c.add(os.DirFS(abs), p, abs, p); err != nil {
			errs = appendErr(errs, err)
		}
	}
	return c, errs.err()
}

func appendErr(l ErrorList, err error) ErrorList {
	switch e := err.(type) {
	case ErrorList:
		return append(l, e...)
	case *Error:
		return append(l, e)
	}
	return append(l, &Error{Msg: err.Error()})
}

// add reads every */layer.yaml of fsys. diskRoot is where the files are
// on disk ("" if nowhere); shown prefixes manifest paths in messages.
func (c *Catalog) add(fsys fs.FS, origin, diskRoot, shown string) error {
	var errs ErrorList
	found := map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() || de.Name() != "layer.yaml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		file := path.Join(shown, p)
		m, err := ParseLayerManifest(file, data)
		if err != nil {
			errs = appendErr(errs, err)
			return nil
		}
		want := path.Dir(p)
		if m.Name != want {
			errs = append(errs, &Error{File: file, Line: m.Lines["name"],
				Msg:  fmt.Sprintf("layer name %q does not match its directory %q", m.Name, want),
				Hint: fmt.Sprintf("write name: %s", want)})
			return nil
		}
		if found[m.Name] {
			return nil
		}
		found[m.Name] = true
		l := &Layer{LayerManifest: *m, Origin: origin}
		if diskRoot != "" {
			l.Dir = filepath.Join(diskRoot, filepath.FromSlash(want))
		}
		c.Layers[m.Name] = l
		return nil
	})
	if err != nil {
		errs = append(errs, &Error{File: shown, Msg: "reading layer catalog: " + err.Error()})
	}
	return errs.err()
}

// catalogHash is a content hash of an fs.FS: every regular file's path and bytes.
func catalogHash(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// extractBuiltin copies the embedded catalog to cacheDir/layers/HASH and
// returns that directory. A finished copy is marked by a .complete file;
// concurrent extractions each write a temporary directory and rename it.
func extractBuiltin(cacheDir string) (string, error) {
	fsys := layers.FS()
	sum, err := catalogHash(fsys)
	if err != nil {
		return "", fmt.Errorf("hashing the layer catalog: %w", err)
	}
	base := filepath.Join(cacheDir, "layers")
	dst := filepath.Join(base, sum)
	if _, err := os.Stat(filepath.Join(dst, ".complete")); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(base, "tmp-"+sum+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out := filepath.Join(tmp, filepath.FromSlash(p))
		if de.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o444)
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o444)
	}
	if err != nil {
		return "", fmt.Errorf("extracting the layer catalog: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, serr := os.Stat(filepath.Join(dst, ".complete")); serr == nil {
			return dst, nil // another process won the race
		}
		return "", fmt.Errorf("extracting the layer catalog: %w", err)
	}
	return dst, nil
}

// DefaultCacheDir is where ukw keeps the extracted catalog:
// $XDG_CACHE_HOME/ukw (or ~/.cache/ukw), falling back to the temp dir.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "ukw")
	}
	return filepath.Join(os.TempDir(), "ukw-cache")
}

// optionMacro is CONFIG_<LAYER>_<OPTION> for layer name and option
// (docs/manifests.md): the last path element, upper-cased, '-' → '_'.
func optionMacro(layer, option string) string {
	return "CONFIG_" + macroPart(path.Base(layer)) + "_" + macroPart(option)
}

func macroPart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 32
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}
