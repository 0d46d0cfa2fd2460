package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

func TestParseModule(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mod")
	os.WriteFile(f, []byte("x"), 0o644)
	for _, c := range []struct {
		arg  string
		want guest.Module
		err  string
	}{
		{f, guest.Module{Path: f, Cmdline: f}, ""},
		{"  " + f + " a b  ", guest.Module{Path: f, Cmdline: f + " a b"}, ""},
		{"", guest.Module{}, "empty"},
		{"/no/such/file x", guest.Module{}, "no such file"},
		{filepath.Dir(f), guest.Module{}, "directory"},
	} {
		m, err := ParseModule(c.arg)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil || m != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.arg, m, err, c.want)
		}
	}
}

// TestRunModules boots the multiboot specification's example kernel
// (Debian package multiboot), which prints the module list it was given
// on VGA text memory, with two modules.
func TestRunModules(t *testing.T) {
	testenv.KVM(t)
	img := testenv.File(t, "/usr/lib/multiboot/examples/kernel", "Debian package multiboot")
	t.Chdir(t.TempDir()) // short module paths: the kernel's lines wrap at 80 columns
	a, b := "a", "b"
	os.WriteFile(a, []byte("0123456789ab"), 0o644)
	os.WriteFile(b, bytes.Repeat([]byte{1}, 5000), 0o644)
	ma, _ := ParseModule(a + " first arg")
	mb, _ := ParseModule(b)
	var stdout, stderr bytes.Buffer
	code, err := Run(context.Background(), Options{Target: img, VGA: true, Timeout: 10 * time.Second,
		Modules: []guest.Module{ma, mb}, Stdout: &stdout, Stderr: &stderr})
	if err != nil || code != 0 {
		t.Fatalf("status %d, %v\n%s", code, err, stderr.String())
	}
	for _, p := range []string{
		`mods_count = 2, `,
		` mod_start = 0x([0-9a-f]+)000, mod_end = 0x[0-9a-f]+00c, cmdline = ` + regexp.QuoteMeta(a) + ` first arg\n`,
		` mod_start = 0x[0-9a-f]+000, mod_end = 0x[0-9a-f]+388, cmdline = ` + regexp.QuoteMeta(b) + `\n`,
	} {
		if !regexp.MustCompile(p).MatchString(stderr.String()) {
			t.Fatalf("VGA screen lacks %q:\n%s", p, stderr.String())
		}
	}
}
