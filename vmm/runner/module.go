package runner

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"ukw/guest"
)

// ParseModule turns a `--module` argument, "FILE [ARGS...]", into a
// multiboot module. The whole string is the module's command line, as
// GRUB's `module` command passes it (Multiboot 1 §3.3, mods_addr: the
// string field); FILE must exist.
func ParseModule(arg string) (guest.Module, error) {
	s := strings.TrimSpace(arg)
	if s == "" {
		return guest.Module{}, errors.New("--module: empty; want 'FILE [ARGS...]'")
	}
	path, _, _ := strings.Cut(s, " ")
	st, err := os.Stat(path)
	if err != nil {
		return guest.Module{}, fmt.Errorf("--module: %w", err)
	}
	if st.IsDir() {
		return guest.Module{}, fmt.Errorf("--module: %s is a directory", path)
	}
	return guest.Module{Path: path, Cmdline: s}, nil
}
