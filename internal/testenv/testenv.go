// Package testenv decides whether a test that needs the machine (/dev/kvm)
// or a real peer program (gdb, QEMU, addr2line, libvirtd) can run here.
//
// Outside CI a missing prerequisite skips the test with the reason printed.
// With UKW_REQUIRE_KVM=1 (set by .ci/run) it fails the test instead, because
// CI installs every prerequisite and a skip there would hide a regression.
package testenv

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// Required reports whether missing prerequisites must fail tests (CI).
func Required() bool { return os.Getenv("UKW_REQUIRE_KVM") == "1" }

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("UKW_REQUIRE_KVM=1 but "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// KVM skips (or, in CI, fails) the test unless /dev/kvm can be opened read-write.
func KVM(t testing.TB) {
	t.Helper()
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		missing(t, "/dev/kvm cannot be opened: %v", err)
		return
	}
	unix.Close(fd)
}

// Tool skips (or, in CI, fails) the test unless every named program is on
// PATH, and returns the path of the first one.
func Tool(t testing.TB, names ...string) string {
	t.Helper()
	first := ""
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			missing(t, "%s is not installed (see .ci/run for the Debian package)", n)
			return ""
		}
		if first == "" {
			first = p
		}
	}
	return first
}

// File skips (or, in CI, fails) the test unless path exists, and returns it.
// what says where it comes from, e.g. "Debian package grub-invaders".
func File(t testing.TB, path, what string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(t, "%s is missing (%s): %v", path, what, err)
	}
	return path
}

// Short skips a long test under `go test -short`, saying why.
func Short(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipping in -short mode: %s", why)
	}
}
