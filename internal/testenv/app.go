package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyApp copies the app directory src (sources, headers, ukw.yaml; not
// its .ukw outputs) into a fresh temporary directory named like src, so a
// test can build and edit it without touching the tree or racing other
// tests. It returns the copy's path.
func CopyApp(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			if info.Name() == ".ukw" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	return dst
}
