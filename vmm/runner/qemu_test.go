package runner

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/qemu"
)

// TestRunUnderQEMU: `ukw run --vmm qemu` boots the ELF32 copy under QEMU
// with the same console and exit status.
func TestRunUnderQEMU(t *testing.T) {
	testenv.Tool(t, "gcc", "ld", "objcopy", "qemu-system-x86_64")
	stdout, stderr, st := run(t, Options{Target: filepath.Join(repoRoot(t), "examples/hello"), Backend: "qemu",
		Cmdline: str("hello --exit=4"), Timeout: 60 * time.Second,
		NewMachine: func(c guest.Config) (guest.Machine, error) { return qemu.New(c) }})
	if st != 4 || !strings.Contains(stdout, "Hello from ukw!") || !strings.Contains(stdout, "exit status 4") {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", st, stdout, stderr)
	}
}
