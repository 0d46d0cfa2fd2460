package libvirt

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

func TestGDBFromArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-gdb", "tcp:127.0.0.1:1234"}, "127.0.0.1:1234"},
		{[]string{"-gdb", "tcp::4321"}, "127.0.0.1:4321"},
		{[]string{"-gdb", "tcp:localhost:99,server=on,wait=off"}, "127.0.0.1:99"},
		{[]string{"-gdb", "tcp:[::1]:1234"}, "[::1]:1234"},
		{[]string{"-gdb", "tcp:0.0.0.0:1234"}, "0.0.0.0:1234"},
		{[]string{"-gdb", "2345"}, "127.0.0.1:2345"},
		{[]string{"-S", "-s"}, "127.0.0.1:1234"},
		{[]string{"-gdb=tcp::7"}, "127.0.0.1:7"},
		{[]string{"-gdb", "unix:/tmp/sock"}, ""},
		{[]string{"-gdb", "tcp:host:notaport"}, ""},
		{[]string{"-gdb", "tcp:host:70000"}, ""},
		{[]string{"-gdb"}, ""},
		{[]string{"-device", "isa-debug-exit"}, ""},
	} {
		if got := gdbFromArgs(c.args); got != c.want {
			t.Errorf("gdbFromArgs(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestDomainXMLRoundTrip(t *testing.T) {
	meta := Metadata{App: "hello", ELF: "/src/hello/.ukw/hello.elf", GDB: "127.0.0.1:23456",
		Started: "2026-11-28T17:00:00Z", Pool: "ukw", Volume: "ukw-hello-abc123.img", ExitChannel: "serial1"}
	x, err := domainXML(domainSpec{Name: "ukw-hello-abc123", Accel: "kvm", Machine: "microvm",
		Kernel: "/var/lib/libvirt/images/ukw/ukw-hello-abc123.img", Cmdline: "a b", MemoryMiB: 16, CPUs: 1,
		GDBPort: 23456, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<type arch=\"x86_64\" machine=\"microvm\">hvm</type>", "tcp:127.0.0.1:23456",
		"name=\"iobase\" type=\"unsigned\" value=\"244\"", "<cmdline>a b</cmdline>", MetadataNS} {
		if !strings.Contains(x, want) {
			t.Errorf("domain XML lacks %q:\n%s", want, x)
		}
	}
	info, err := parseDomain(x)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Ukw || info.App != meta.App || info.ELF != meta.ELF || info.GDB != meta.GDB ||
		info.Pool != meta.Pool || info.Volume != meta.Volume || info.ExitChannel != "serial1" ||
		!info.Started.Equal(time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("parsed %+v from\n%s", info, x)
	}
	tcg, err := domainXML(domainSpec{Name: "x", Accel: "tcg", Machine: "microvm", MemoryMiB: 16, CPUs: 1})
	if err != nil || !strings.Contains(tcg, "<domain type=\"qemu\"") {
		t.Fatalf("tcg domain: %v\n%s", err, tcg)
	}
}

func TestParseForeignDomain(t *testing.T) {
	x, err := os.ReadFile("../testdata/libvirt/virsh-domain.xml")
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseDomain(strings.ReplaceAll(string(x), "@PORT@", "4444"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Ukw || info.GDB != "127.0.0.1:4444" || info.Name != "@NAME@" {
		t.Fatalf("parsed %+v", info)
	}
	// Another program's metadata is not ukw's.
	other := strings.Replace(string(x), "<memory", "<metadata><app xmlns='urn:other'>x</app></metadata><memory", 1)
	if info, err := parseDomain(other); err != nil || info.Ukw {
		t.Fatalf("foreign metadata taken for ukw's: %+v %v", info, err)
	}
	if _, err := parseDomain("<domain><name>x</nam"); err == nil {
		t.Fatal("malformed XML accepted")
	}
}

func FuzzParseDomain(f *testing.F) {
	x, _ := os.ReadFile("../testdata/libvirt/virsh-domain.xml")
	f.Add(string(x))
	ux, _ := domainXML(domainSpec{Name: "n", Accel: "kvm", Machine: "microvm", MemoryMiB: 1, CPUs: 1,
		Meta: Metadata{App: "a", Started: "bad time"}})
	f.Add(ux)
	f.Add("<domain><metadata><ukw xmlns='urn:ukw:libvirt:domain:1'><app>")
	f.Fuzz(func(t *testing.T, s string) {
		parseDomain(s) // must not panic
		gdbDevAddr(s)
	})
}

func TestSanitizeAndUptime(t *testing.T) {
	for in, want := range map[string]string{"hello": "hello", "My App_2": "my-app-2", "..": "app",
		strings.Repeat("x", 60): strings.Repeat("x", 40)} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 125 * time.Second: "2m05s",
		3*time.Hour + 4*time.Minute: "3h04m", 53 * time.Hour: "2d05h"} {
		if got := formatUptime(d); got != want {
			t.Errorf("formatUptime(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDialErrors(t *testing.T) {
	// A socket path nobody listens on: unreachable, with the remedy.
	_, err := Dial("qemu+unix:///system?socket=" + filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "libvirtd") {
		t.Fatalf("Dial to a missing socket: %v, want ErrUnreachable naming libvirtd", err)
	}
	// A socket that accepts but is not libvirt: refused at once.
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // leaves a socket file with no listener: ECONNREFUSED
	if _, err := Dial("qemu+unix:///system?socket=" + sock); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Dial to a dead socket: %v, want ErrUnreachable", err)
	}
	if _, err := Dial("xen:///system"); err == nil || !strings.Contains(err.Error(), "QEMU driver") {
		t.Fatalf("Dial to xen: %v", err)
	}
	// Classification of what a daemon or the kernel answers.
	for _, c := range []struct {
		err  error
		want error
	}{
		{fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EACCES)}), ErrPermission},
		{golibvirt.Error{Code: uint32(golibvirt.ErrAuthUnavailable), Message: "authentication unavailable: no polkit agent available"}, ErrPermission},
		{golibvirt.Error{Code: uint32(golibvirt.ErrAccessDenied), Message: "access denied"}, ErrPermission},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, ErrUnreachable},
		{&net.OpError{Op: "dial", Err: errors.New("i/o timeout")}, ErrUnreachable},
	} {
		if got := classifyDialError("qemu:///system", c.err); !errors.Is(got, c.want) {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
