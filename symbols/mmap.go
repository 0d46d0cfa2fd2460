package symbols

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errClosed is returned by lazy indexing after Close.
var errClosed = errors.New("symbols: file closed")

// mapFile maps fh read-only (nil, without error, for an empty file or
// one that cannot be mapped: the caller then reads sections instead).
// The indexers read .debug_info, .debug_abbrev, .debug_line and the
// string sections through this mapping (see sectionData) instead of
// copying them into the heap; Close unmaps it (see File.mapMu).
func mapFile(fh *os.File) []byte {
	st, err := fh.Stat()
	if err != nil || st.Size() <= 0 || st.Size() != int64(int(st.Size())) {
		return nil
	}
	b, err := unix.Mmap(int(fh.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// useMapped runs fn while the mapping cannot be unmapped; it returns
// errClosed, without running fn, after Close. Every reader of the mapped
// sections (unit indexing, function trees, line tables, abbreviations)
// runs inside it; what they build is copied out of the mapping (strings
// are Go strings, rows and ranges are values), so nothing a caller holds
// points into it once Close has unmapped it.
func (f *File) useMapped(fn func() error) error {
	f.mapMu.RLock()
	defer f.mapMu.RUnlock()
	if f.closed {
		return errClosed
	}
	return fn()
}

// unmap drops the mapped sections and unmaps the file, waiting for the
// readers inside useMapped to finish.
func (f *File) unmap() error {
	f.mapMu.Lock()
	defer f.mapMu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.sec.info, f.sec.abbrev, f.sec.line = nil, nil, nil
	f.sec.lineStr, f.sec.str, f.sec.strOffsets = nil, nil, nil
	if f.mapping == nil {
		return nil
	}
	err := unix.Munmap(f.mapping)
	f.mapping = nil
	return err
}
