package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The tools' probe is kept on disk keyed by the binaries; a changed binary
// is probed again.
func TestToolchainProbeIsRememberedPerBinary(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("skipping: gcc is not installed")
	}
	dir := t.TempDir()
	cc := filepath.Join(dir, "cc")
	if err := os.WriteFile(cc, []byte("#!/bin/sh\nexec "+gcc+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{CC: cc, LD: "ld", Objcopy: "objcopy", CacheDir: filepath.Join(dir, "cache")}
	first, err := findToolchain(context.Background(), &o)
	if err != nil {
		t.Fatal(err)
	}
	memos, _ := filepath.Glob(filepath.Join(o.CacheDir, "toolchain-*.json"))
	if len(memos) != 1 {
		t.Fatalf("%d probe files after the first probe, want 1", len(memos))
	}
	again, err := findToolchain(context.Background(), &o)
	if err != nil || *again != *first {
		t.Fatalf("remembered probe %+v differs from %+v (%v)", again, first, err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(cc, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := findToolchain(context.Background(), &o); err != nil {
		t.Fatal(err)
	}
	memos, _ = filepath.Glob(filepath.Join(o.CacheDir, "toolchain-*.json"))
	if len(memos) != 2 {
		t.Fatalf("%d probe files after the compiler changed, want 2", len(memos))
	}
}
