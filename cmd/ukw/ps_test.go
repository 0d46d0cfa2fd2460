package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"ukw/internal/testenv"
	"ukw/libvirt"
)

// TestPsAndStopCommands checks the flag wiring of `ukw ps` and `ukw stop`
// against the real libvirtd (libvirt's own tests cover listing domains).
func TestPsAndStopCommands(t *testing.T) {
	c, err := libvirt.Dial("")
	if err != nil {
		if testenv.Required() {
			t.Fatalf("UKW_REQUIRE_KVM=1 but libvirtd is not usable: %v", err)
		}
		t.Skipf("skipping: libvirtd is not usable (scripts/ci-libvirtd.sh starts it): %v", err)
	}
	c.Close()
	out, err := runUKW(t, "ps", "--json", "--all")
	if err != nil {
		t.Fatalf("ukw ps --json: %v\n%s", err, out)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("ukw ps --json printed no JSON array: %v\n%s", err, out)
	}
	if out, err := runUKW(t, "ps"); err != nil || !strings.HasPrefix(out, "NAME") {
		t.Fatalf("ukw ps: %v\n%s", err, out)
	}
	if _, err := runUKW(t, "stop", "ukw-no-such-domain"); err == nil || !strings.Contains(err.Error(), "no domain") {
		t.Fatalf("ukw stop of a missing domain: %v", err)
	}
	dead := "qemu+unix:///system?socket=" + filepath.Join(t.TempDir(), "none")
	if _, err := runUKW(t, "ps", "--connect", dead); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("ukw ps --connect to a missing daemon: %v", err)
	}
}
