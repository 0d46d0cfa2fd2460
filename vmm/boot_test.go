package vmm

import (
	"testing"

	"ukw/guest"
)

func TestBootUKW64(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	r := boot(t, img, "3 hello", nil)
	wantExit(t, r, guest.ExitPort, 3)
	if r.console != "guest64: 3 hello\n" {
		t.Fatalf("console %q", r.console)
	}
}

func TestBootGuest32(t *testing.T) {
	for _, c := range []struct{ def, format, how string }{
		{"MULTIBOOT", "elf32", "multiboot"},
		{"AOUT", "binary", "multiboot"},
		{"PVH", "elf32", "pvh"},
	} {
		t.Run(c.def, func(t *testing.T) {
			img := buildGuest(t, "guest32.S", c.format, c.def)
			r := boot(t, img, "5 x=y", nil)
			wantExit(t, r, guest.ExitPort, 5)
			if want := "guest32 " + c.how + ": 5 x=y\n"; r.console != want {
				t.Fatalf("console %q, want %q", r.console, want)
			}
		})
	}
}

func TestBootPlainELF64(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64", "PLAIN")
	r := boot(t, img, "4", nil)
	wantExit(t, r, guest.ExitPort, 4)
}

// TestIRQChipOnlyForOtherKernels: an image with the ukw note boots
// without KVM's in-kernel irqchip (no "irqchip" mark, and a hlt exits to
// user space at once: halted); the same code as a plain ELF64 gets one.
func TestIRQChipOnlyForOtherKernels(t *testing.T) {
	hasMark := func(m *Machine) bool {
		for _, mk := range m.Timeline() {
			if mk.Name == "irqchip" {
				return true
			}
		}
		return false
	}
	ukw := newMachine(t, guest.Config{Image: buildGuest(t, "guest64.S", "elf64"), Cmdline: "h"})
	if hasMark(ukw) || ukw.v.irqchip || ukw.v.dev.pit == nil {
		t.Fatalf("ukw image: irqchip mark %v, irqchip %v, user-space PIT %v", hasMark(ukw), ukw.v.irqchip, ukw.v.dev.pit != nil)
	}
	wantExit(t, runToEnd(t, ukw, false), guest.ExitHalted, 0)
	plain := newMachine(t, guest.Config{Image: buildGuest(t, "guest64.S", "elf64", "PLAIN"), Cmdline: "4"})
	if !hasMark(plain) || !plain.v.irqchip || plain.v.dev.pit != nil {
		t.Fatalf("plain ELF64: irqchip mark %v, irqchip %v, user-space PIT %v", hasMark(plain), plain.v.irqchip, plain.v.dev.pit != nil)
	}
	wantExit(t, runToEnd(t, plain, false), guest.ExitPort, 4)
}
