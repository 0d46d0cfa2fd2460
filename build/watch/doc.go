// Package watch reports which files under a set of directory trees changed,
// in debounced batches, for the dev loop's rebuild-on-save.
//
// fsnotify (inotify on Linux) watches single directories, so the Watcher
// walks every tree and watches each directory, adds directories as they are
// created (and reports the files already in them, which were created before
// the watch existed), drops the watches of directories that are removed or
// renamed away, and rescans everything when the kernel queue overflows.
//
// Editors save in different ways: vim writes a probe file "4913", renames the
// original to a backup and writes a new file; emacs keeps ".#name" lock links
// and "#name#" autosaves; `sed -i` writes "sedXXXXXX" and renames it over the
// original; VS Code writes in place. Temporary names are ignored and the file
// that ends up changed is reported once per batch.
package watch
