package libvirt

import (
	"context"

	"path/filepath"
	"testing"

	"ukw/build"
	"ukw/internal/testenv"
)

// buildExample builds examples/NAME (see buildApp).
func buildExample(t *testing.T, name string) *build.Result {
	return buildApp(t, filepath.Join("..", "examples", name))
}

// buildApp builds the app in src in a copy under a temporary directory
// (the shared tree stays clean) and returns the build result.
func buildApp(t *testing.T, src string) *build.Result {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	dir := testenv.CopyApp(t, src)
	app, err := build.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), app, build.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("building %s: %v", src, err)
	}
	return res
}
