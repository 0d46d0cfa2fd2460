package libvirt

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"ukw/guest"
	"ukw/vmm/runner"
)

// TestRunnerWithLibvirt drives libvirt.New through `ukw run`'s runner, as
// `ukw run --vmm libvirt --connect URI` does once wired.
func TestRunnerWithLibvirt(t *testing.T) {
	daemon(t)
	kernel := testKernel(t)
	cmdline := "kernel exit=7 via-runner"
	var out, errOut bytes.Buffer
	code, err := runner.Run(context.Background(), runner.Options{
		Target: kernel, Backend: "libvirt", Cmdline: &cmdline, Stats: true,
		Stdout: &out, Stderr: &errOut,
		NewMachine: func(c guest.Config) (guest.Machine, error) {
			return New(c, Options{URI: testURI(), Accel: "auto"})
		},
	})
	if err != nil {
		t.Fatalf("runner: %v\n%s", err, errOut.String())
	}
	if code != 7 || !strings.Contains(out.String(), "cmdline: ") || !strings.Contains(out.String(), "via-runner") {
		t.Fatalf("status %d, console %q, stderr %q", code, out.String(), errOut.String())
	}
	t.Logf("stderr (--stats):\n%s", errOut.String())
}
