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
