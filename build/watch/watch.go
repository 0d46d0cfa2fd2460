package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet time after the last event before a batch is
// reported: long enough to take in an editor's whole save sequence, short
// enough to be invisible in a save→running time.
const DefaultDebounce = 30 * time.Millisecond

// Batch is one debounced set of changes.
type Batch struct {
	// Paths are the absolute paths of files created, written, removed or
	// renamed, sorted and without duplicates.
	Paths []string
	// Rescan reports that the kernel's event queue overflowed and every tree
	// was walked again: changes may be missing from Paths, so treat
	// everything as changed.
	Rescan bool
}

// Watcher watches directory trees. Create it with New; read Batches until
// it closes; call Close when done.
type Watcher struct {
	fsw      *fsnotify.Watcher
	roots    []string
	debounce time.Duration
	out      chan Batch
	errs     chan error
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	// owned by the loop goroutine after New returns
	dirs map[string]bool
}

// New watches every directory under each root (which must be directories)
// and reports changes after debounce of quiet (DefaultDebounce if zero).
func New(roots []string, debounce time.Duration) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{
		fsw:      fsw,
		debounce: debounce,
		out:      make(chan Batch),
		errs:     make(chan error, 16),
		done:     make(chan struct{}),
		dirs:     map[string]bool{},
	}
	for _, r := range roots {
		abs, err := filepath.Abs(r)
		if err != nil {
			fsw.Close()
			return nil, fmt.Errorf("watch: %w", err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			fsw.Close()
			return nil, fmt.Errorf("watch: %w", err)
		}
		if !st.IsDir() {
			fsw.Close()
			return nil, fmt.Errorf("watch: %s is not a directory", abs)
		}
		w.roots = append(w.roots, abs)
		if err := w.addTree(abs, nil); err != nil {
			fsw.Close()
			return nil, err
		}
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Batches delivers debounced batches; it is closed by Close.
func (w *Watcher) Batches() <-chan Batch { return w.out }

// Errors delivers non-fatal problems (a directory that could not be
// watched). Reading it is optional: errors are dropped when nobody reads.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching and closes Batches.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		w.wg.Wait()
		err = w.fsw.Close()
		close(w.out)
	})
	return err
}

// WatchedDirs returns how many directories are watched (for tests and stats).
func (w *Watcher) WatchedDirs() int { return len(w.fsw.WatchList()) }

func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default:
	}
}

// rel returns path relative to the root that contains it.
func (w *Watcher) rel(path string) string {
	for _, r := range w.roots {
		if path == r {
			return "."
		}
		if strings.HasPrefix(path, r+string(filepath.Separator)) {
			return path[len(r)+1:]
		}
	}
	return filepath.Base(path)
}

// addTree watches dir and every directory below it; when found is not nil,
// the files already present are added to it.
func (w *Watcher) addTree(dir string, found map[string]bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("watch: %w", err)
			}
			w.report(err)
			return nil
		}
		if d.IsDir() {
			if p != dir && ignoredPath(w.rel(p), true) {
				return filepath.SkipDir
			}
			if !w.dirs[p] {
				if err := w.fsw.Add(p); err != nil {
					if p == dir && found == nil {
						return fmt.Errorf("watch: %s: %w", p, err)
					}
					w.report(fmt.Errorf("watch: %s: %w", p, err))
					return nil
				}
				w.dirs[p] = true
			}
			return nil
		}
		if found != nil && !ignoredPath(w.rel(p), false) {
			found[p] = true
		}
		return nil
	})
}

// dropTree forgets dir and every watched directory below it.
func (w *Watcher) dropTree(dir string) {
	prefix := dir + string(filepath.Separator)
	for d := range w.dirs {
		if d == dir || strings.HasPrefix(d, prefix) {
			_ = w.fsw.Remove(d) // already gone with the inode for a removed dir
			delete(w.dirs, d)
		}
	}
}

// handle folds one event into pending.
func (w *Watcher) handle(ev fsnotify.Event, pending map[string]bool) {
	p := filepath.Clean(ev.Name)
	switch {
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		if w.dirs[p] {
			w.dropTree(p)
			return
		}
		if !ignoredPath(w.rel(p), false) {
			pending[p] = true
		}
	case ev.Has(fsnotify.Create):
		st, err := os.Lstat(p)
		if err != nil { // gone already (a temporary): nothing to report
			return
		}
		if st.IsDir() {
			if !ignoredPath(w.rel(p), true) {
				if err := w.addTree(p, pending); err != nil {
					w.report(err)
				}
			}
			return
		}
		if !ignoredPath(w.rel(p), false) {
			pending[p] = true
		}
	case ev.Has(fsnotify.Write) || ev.Has(fsnotify.Chmod):
		if !w.dirs[p] && !ignoredPath(w.rel(p), false) {
			pending[p] = true
		}
	}
}

// rescan walks every root again after an overflow.
func (w *Watcher) rescan(pending map[string]bool) {
	for d := range w.dirs {
		if _, err := os.Stat(d); err != nil {
			w.dropTree(d)
		}
	}
	for _, r := range w.roots {
		if err := w.addTree(r, pending); err != nil {
			w.report(err)
		}
	}
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	pending := map[string]bool{}
	rescanned := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var ready *Batch
	for {
		var out chan Batch
		if ready != nil {
			out = w.out
		}
		select {
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.handle(ev, pending)
			timer.Reset(w.debounce)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				rescanned = true
				w.rescan(pending)
				timer.Reset(w.debounce)
			} else {
				w.report(err)
			}
		case <-timer.C:
			if len(pending) == 0 && !rescanned {
				continue
			}
			b := Batch{Rescan: rescanned}
			if ready != nil { // the consumer has not taken the last batch: merge
				b.Rescan = b.Rescan || ready.Rescan
				for _, p := range ready.Paths {
					pending[p] = true
				}
			}
			for p := range pending {
				b.Paths = append(b.Paths, p)
			}
			sort.Strings(b.Paths)
			ready = &b
			pending = map[string]bool{}
			rescanned = false
		case out <- derefBatch(ready):
			ready = nil
		case <-w.done:
			timer.Stop()
			return
		}
	}
}

func derefBatch(b *Batch) Batch {
	if b == nil {
		return Batch{}
	}
	return *b
}
