package main

import (
	"errors"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// TestRunCommand checks the flag wiring of `ukw run`: the guest's status
// becomes the process's (through exitError), --stats reaches stderr.
func TestRunCommand(t *testing.T) {
	testenv.KVM(t)
	testenv.Tool(t, "gcc", "ld", "objcopy")
	out, err := runUKW(t, "run", "--stats", "--cmdline", "hello --exit=3", "../../examples/hello")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 3 {
		t.Fatalf("err %v, want exit status 3\n%s", err, out)
	}
	for _, want := range []string{"argv[1]=--exit=3", "first console byte", "outcome              exit port, status 3"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runUKW(t, "run", "--vmm", "bochs", "../../examples/hello"); err == nil || !strings.Contains(err.Error(), "want kvm, qemu or libvirt") {
		t.Fatalf("--vmm bochs: %v", err)
	}
}
