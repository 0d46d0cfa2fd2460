package libvirt

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// daemon connects to the test host's libvirtd (qemu:///system, or
// UKW_LIBVIRT_URI), skipping with the reason when there is none, or failing
// in CI where .ci/run starts one (scripts/ci-libvirtd.sh).
func daemon(t *testing.T) *Conn {
	t.Helper()
	testenv.Tool(t, "qemu-system-x86_64")
	uri := os.Getenv("UKW_LIBVIRT_URI")
	c, err := Dial(uri)
	if err != nil {
		if testenv.Required() {
			t.Fatalf("UKW_REQUIRE_KVM=1 but libvirtd is not usable: %v", err)
		}
		t.Skipf("skipping: libvirtd is not usable (start it with scripts/ci-libvirtd.sh): %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testKernel builds testdata/libvirt into a temporary directory and returns
// the kernel's path.
func testKernel(t *testing.T) string {
	t.Helper()
	return buildKernel(t)
}

// benchKernel is testKernel for benchmarks (skipping when the daemon or the
// toolchain is missing).
func benchKernel(b *testing.B) string {
	b.Helper()
	c, err := Dial(testURI())
	if err != nil {
		b.Skipf("skipping: libvirtd is not usable: %v", err)
	}
	c.Close()
	return buildKernel(b)
}

func buildKernel(t testing.TB) string {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "make")
	dir := t.TempDir()
	src, err := filepath.Abs("../testdata/libvirt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-s", "-C", src, "OUT="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("building the test kernel: %v\n%s", err, out)
	}
	return filepath.Join(dir, "kernel.elf")
}

// run subscribes, continues and collects events until the final one.
func run(t *testing.T, m guest.Machine, timeout time.Duration) (console string, final guest.Event) {
	t.Helper()
	ch, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatalf("Continue: %v", err)
	}
	return collect(t, ch, timeout)
}

// collect reads events until an ExitEvent or FaultEvent.
func collect(t *testing.T, ch <-chan guest.Event, timeout time.Duration) (string, guest.Event) {
	t.Helper()
	var buf bytes.Buffer
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed before the guest ended; console so far %q", buf.String())
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				buf.Write(e.Data)
			case guest.ExitEvent, guest.FaultEvent:
				return buf.String(), e
			case guest.LogEvent:
				t.Logf("log: %s", e.Msg)
			}
		case <-deadline:
			t.Fatalf("no exit within %v; console so far %q", timeout, buf.String())
		}
	}
}

// waitStop reads events until a StopEvent.
func waitStop(t *testing.T, ch <-chan guest.Event, timeout time.Duration) guest.Stop {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("event channel closed while waiting for a stop")
			}
			switch e := e.(type) {
			case guest.StopEvent:
				return e.Stop
			case guest.ExitEvent, guest.FaultEvent:
				t.Fatalf("guest ended while waiting for a stop: %#v", e)
			}
		case <-deadline:
			t.Fatalf("no stop within %v", timeout)
		}
	}
}

// testURI is the libvirt URI tests use: UKW_LIBVIRT_URI or qemu:///system.
func testURI() string { return os.Getenv("UKW_LIBVIRT_URI") }
