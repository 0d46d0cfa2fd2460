package build

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the module root (tests run in build/).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// appDirs lists every example and test guest with a ukw.yaml.
func appDirs(t testing.TB) []string {
	t.Helper()
	var dirs []string
	for _, pat := range []string{"examples/*/ukw.yaml", "testdata/guests/*/ukw.yaml"} {
		m, err := filepath.Glob(filepath.Join(repoRoot(t), pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	if len(dirs) < 7 {
		t.Fatalf("found only %d apps: %v", len(dirs), dirs)
	}
	return dirs
}

// copyApp copies an app directory (without .ukw or out) into a temp dir.
func copyApp(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() && (fi.Name() == ".ukw" || fi.Name() == "out") {
			return filepath.SkipDir
		}
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// testCacheDir is a per-test catalog cache.
func testCacheDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "cache")
}
