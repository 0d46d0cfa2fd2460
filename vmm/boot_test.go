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
