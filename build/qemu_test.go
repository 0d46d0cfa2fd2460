package build

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// qemuRun boots a multiboot image under QEMU microvm with COM1 on stdout
// and isa-debug-exit at 0xf4, the way layers/README.md describes. It
// returns the console output and QEMU's exit status ((v<<1)|1 after a
// write of v to 0xf4), or -1 when it had to be killed at the deadline.
// accel is "kvm" or "tcg".
func qemuRun(t testing.TB, img, appendArgs, accel string, timeout time.Duration) (string, int) {
	t.Helper()
	qemu := testenv.Tool(t, "qemu-system-x86_64")
	if accel == "kvm" {
		testenv.KVM(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"-M", "microvm", "-accel", accel, "-m", "32", "-nodefaults", "-no-user-config",
		"-nographic", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", img}
	if appendArgs != "" {
		args = append(args, "-append", appendArgs)
	}
	cmd := exec.CommandContext(ctx, qemu, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), -1
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, errOut.String())
	}
	if s := strings.TrimSpace(strings.ReplaceAll(errOut.String(), "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]", "")); s != "" {
		t.Logf("qemu stderr: %s", s)
	}
	return out.String(), 0
}

// qemuAppend is the manifest's command line without argv[0]: QEMU's
// multiboot loader puts the kernel's path there itself.
func qemuAppend(cmdline string) string {
	f := strings.Fields(cmdline)
	if len(f) <= 1 {
		return ""
	}
	return strings.Join(f[1:], " ")
}
