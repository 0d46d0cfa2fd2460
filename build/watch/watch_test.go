package watch

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func newTestWatcher(t *testing.T) (string, *Watcher) {
	t.Helper()
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	w, err := New([]string{dir}, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return dir, w
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// next returns the next batch, or fails after a generous timeout.
func next(t *testing.T, w *Watcher) Batch {
	t.Helper()
	select {
	case b := <-w.Batches():
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no batch within 5 s")
	}
	return Batch{}
}

// quiet asserts that no batch arrives for a while.
func quiet(t *testing.T, w *Watcher) {
	t.Helper()
	select {
	case b := <-w.Batches():
		t.Fatalf("unexpected batch %v", b.Paths)
	case <-time.After(200 * time.Millisecond):
	}
}

func want(t *testing.T, b Batch, paths ...string) {
	t.Helper()
	if !reflect.DeepEqual(b.Paths, paths) {
		t.Fatalf("batch %v, want %v", b.Paths, paths)
	}
}

func TestWriteIsReportedOnceAfterDebounce(t *testing.T) {
	dir, w := newTestWatcher(t)
	f := filepath.Join(dir, "main.c")
	for i := 0; i < 5; i++ {
		write(t, f, "int main(void){return 0;}\n")
	}
	want(t, next(t, w), f)
	quiet(t, w)
}

func TestNewDirectoryTreeIsWatchedAndItsFilesReported(t *testing.T) {
	dir, w := newTestWatcher(t)
	// mkdir -p and a file at once: the file is created before any watch on
	// the new directory can exist, so it must be found by walking.
	deep := filepath.Join(dir, "a", "b", "c.c")
	write(t, deep, "x")
	want(t, next(t, w), deep)
	write(t, deep, "y")
	want(t, next(t, w), deep)
	if n := w.WatchedDirs(); n != 3 {
		t.Fatalf("watching %d dirs, want 3 (root, a, a/b)", n)
	}
}

func TestRenamedAndRemovedDirectoriesDropTheirWatches(t *testing.T) {
	dir, w := newTestWatcher(t)
	write(t, filepath.Join(dir, "a", "b", "c.c"), "x")
	next(t, w)
	if err := os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "z")); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(dir, "z", "b", "c.c")
	want(t, next(t, w), moved)
	write(t, moved, "y")
	want(t, next(t, w), moved)
	if err := os.RemoveAll(filepath.Join(dir, "z")); err != nil {
		t.Fatal(err)
	}
	b := next(t, w)
	want(t, b, moved)
	deadline := time.Now().Add(2 * time.Second)
	for w.WatchedDirs() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := w.WatchedDirs(); n != 1 {
		t.Fatalf("watching %d dirs after removal, want 1", n)
	}
}

func TestOutputAndVCSDirectoriesAreIgnored(t *testing.T) {
	dir, w := newTestWatcher(t)
	write(t, filepath.Join(dir, ".ukw", "build", "hello.o"), "obj")
	write(t, filepath.Join(dir, ".git", "index"), "idx")
	write(t, filepath.Join(dir, "src", ".main.c.swp"), "swap")
	// the src dir itself is new: creating it reports nothing but the swap
	// file, which is ignored
	quiet(t, w)
}

func TestSedInPlaceReportsOnlyTheFile(t *testing.T) {
	dir, w := newTestWatcher(t)
	f := filepath.Join(dir, "main.c")
	write(t, f, "int a;\n")
	next(t, w)
	if out, err := exec.Command("sed", "-i", "s/a/b/", f).CombinedOutput(); err != nil {
		t.Skipf("sed -i unavailable: %v %s", err, out)
	}
	want(t, next(t, w), f)
}

func TestVimSaveReportsOnlyTheFile(t *testing.T) {
	vim, err := exec.LookPath("vim")
	if err != nil {
		t.Skip("skipping: vim is not installed")
	}
	dir, w := newTestWatcher(t)
	f := filepath.Join(dir, "main.c")
	write(t, f, "int a;\n")
	next(t, w)
	// writebackup + backupcopy=no is vim's rename-and-rewrite save, the one
	// that loses naive watches; "4913" and "main.c~" appear on the way.
	cmd := exec.Command(vim, "-u", "NONE", "-N", "-n", "-es", "-c", "set backup writebackup backupcopy=no", "-c", "s/a/b/", "-c", "wq", f)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vim: %v %s", err, out)
	}
	want(t, next(t, w), f)
	write(t, f, "int c;\n") // the new inode is still watched (the directory is)
	want(t, next(t, w), f)
}

func TestEmacsStyleSaveReportsOnlyTheFile(t *testing.T) {
	dir, w := newTestWatcher(t)
	f := filepath.Join(dir, "main.c")
	write(t, f, "int a;\n")
	next(t, w)
	// emacs: lock symlink, autosave file, backup by rename, write, unlock
	lock := filepath.Join(dir, ".#main.c")
	if err := os.Symlink("user@host.1:1", lock); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "#main.c#"), "int b;\n")
	if err := os.Rename(f, f+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, f, "int b;\n")
	os.Remove(filepath.Join(dir, "#main.c#"))
	os.Remove(lock)
	want(t, next(t, w), f)
}

func TestRescanFindsWhatWasMissed(t *testing.T) {
	dir, w := newTestWatcher(t)
	write(t, filepath.Join(dir, "a", "x.c"), "x")
	next(t, w)
	// Simulate lost events: stop the loop's view of a/ and create a file
	// behind its back, then rescan as an overflow would.
	w.Close()
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer fsw.Close()
	w2 := &Watcher{fsw: fsw, roots: w.roots, dirs: map[string]bool{}}
	write(t, filepath.Join(dir, "a", "y.c"), "y")
	pending := map[string]bool{}
	w2.rescan(pending)
	if !pending[filepath.Join(dir, "a", "y.c")] || !pending[filepath.Join(dir, "a", "x.c")] {
		t.Fatalf("rescan found %v", pending)
	}
	if len(w2.dirs) != 2 {
		t.Fatalf("rescan watches %d dirs, want 2", len(w2.dirs))
	}
}

func TestIgnoredNames(t *testing.T) {
	for name, ign := range map[string]bool{
		"4913": true, "main.c~": true, ".#main.c": true, "#main.c#": true, ".main.c.swp": true,
		"sedAb12Cd": true, "main.c": false, "sed.c": false, "Makefile": false, "sedimentary": false,
	} {
		if got := IgnoredFile(name); got != ign {
			t.Errorf("IgnoredFile(%q) = %v, want %v", name, got, ign)
		}
	}
}
