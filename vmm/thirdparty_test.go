package vmm

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// runFor runs m for d, then interrupts it (unless it ended) and returns
// what it published and its VGA screen.
func runFor(t *testing.T, m *Machine, d time.Duration) (result, []string) {
	t.Helper()
	ev, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(d, func() { m.Interrupt() })
	r := collect(t, ev)
	lines, err := m.VGAText()
	if err != nil {
		t.Fatal(err)
	}
	return r, lines
}

func screen(lines []string) string { return strings.Join(lines, "\n") }

func TestThirdPartyInvaders(t *testing.T) {
	img := testenv.File(t, "/boot/invaders.exec", "Debian package grub-invaders")
	m := newMachine(t, guest.Config{Image: img})
	r, lines := runFor(t, m, 1500*time.Millisecond)
	if r.fault != nil || r.exit != nil {
		t.Fatalf("invaders ended: exit %+v fault %+v logs %q", r.exit, r.fault, r.logs)
	}
	s := screen(lines)
	t.Logf("logs %q\nscreen:\n%s", r.logs, s)
	if strings.Count(s, "-*-") < 8 {
		t.Fatalf("VGA screen does not show the game:\n%s", s)
	}
}

func TestThirdPartyMultibootExample(t *testing.T) {
	img := testenv.File(t, "/usr/lib/multiboot/examples/kernel", "Debian package multiboot")
	m := newMachine(t, guest.Config{Image: img, Cmdline: "kernel ukw-cmdline"})
	r, lines := runFor(t, m, 1500*time.Millisecond)
	s := screen(lines)
	t.Logf("exit %+v fault %+v logs %q\nscreen:\n%s", r.exit, r.fault, r.logs, s)
	if r.fault != nil {
		t.Fatalf("fault: %s", r.fault.Summary())
	}
	if !strings.Contains(s, "ukw-cmdline") || !strings.Contains(s, "mmap_addr") {
		t.Fatalf("VGA screen lacks the command line or memory map:\n%s", s)
	}
	// Its 17 ELF32 section headers (40 bytes each, .shstrtab is 16),
	// Multiboot flags bit 5.
	if !regexp.MustCompile(`multiboot_elf_sec: num = 17, size = 0x28, addr = 0x[0-9a-f]+, shndx = 0x10`).MatchString(s) {
		t.Fatalf("VGA screen lacks the ELF section header info:\n%s", s)
	}
}

// TestThirdPartyGNUMach boots an ELF64 multiboot kernel whose segments
// have virtual != physical addresses. On kvm-pvm it prints its banner and
// memory map on COM1 and then stops in init_fpu: the x87 instruction
// fnstsw right after a privileged mov to CR0 falls into kvm-pvm's
// instruction emulator, which cannot do x87 (MACHINE.md); that internal
// error must be reported with the instruction bytes.
func TestThirdPartyGNUMach(t *testing.T) {
	testenv.Short(t, "gnumach needs about 5 s of guest time to reach its banner on kvm-pvm")
	gz := testenv.File(t, "/boot/gnumach-1.8-486.gz", "Debian package gnumach-image-1.8-486")
	img := gunzip(t, gz)
	m := newMachine(t, guest.Config{Image: img, MemoryMiB: 32, Cmdline: "gnumach console=com0"})
	r, _ := runFor(t, m, 20*time.Second)
	t.Logf("console:\n%s", r.console)
	if !strings.Contains(r.console, "GNU Mach 1.8") || !strings.Contains(r.console, "biosmem: 000000000000100000:000000000002000000, available") {
		t.Fatalf("gnumach did not print its banner and our memory map")
	}
	switch {
	case r.fault == nil:
		t.Logf("gnumach still running after 20 s (stops %+v, exit %+v)", r.stops, r.exit)
	case r.fault.Kind == guest.FaultInternalError && strings.Contains(r.fault.Detail, "instruction bytes df e0"):
		t.Logf("ended as expected on kvm-pvm: %s", r.fault.Summary())
	default:
		t.Fatalf("gnumach faulted: %s", r.fault.Summary())
	}
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".gz"))
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, z); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return out
}
