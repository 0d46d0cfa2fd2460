package gdbstub_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ukw/internal/testenv"
)

// startQEMUStub runs the test guest under QEMU (accel tcg or kvm) held at reset with
// QEMU's own gdb stub on a free loopback port (what `-s -S` does on port
// 1234).
func startQEMUStub(t testing.TB, img string, accel string) string {
	t.Helper()
	testenv.Tool(t, "qemu-system-x86_64")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command("qemu-system-x86_64", "-M", "microvm", "-accel", accel, "-m", "32", "-nodefaults",
		"-no-user-config", "-display", "none", "-monitor", "none", "-serial", "null",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", img, "-S", "-gdb", "tcp:"+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			// QEMU takes one debugger: this probe connection ended, so
			// give it a moment to accept the next.
			time.Sleep(50 * time.Millisecond)
			return addr
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("QEMU's stub did not listen")
	return ""
}

var sessionNoise = regexp.MustCompile(`\[Inferior 1 \(.*\) `)

// session returns gdb's output after the "==session==" marker, normalised.
func session(out string) string {
	_, after, ok := strings.Cut(out, "==session==\n")
	if !ok {
		return "marker missing in:\n" + out
	}
	return sessionNoise.ReplaceAllString(after, "[Inferior 1 ")
}

// The same gdb session gives the same stops, backtraces, registers and
// memory whether gdb talks to QEMU's stub directly or to ukw's stub over
// the qemu backend, whose gdbstub.Client drives QEMU's stub.
func TestClientMatchesQEMUStub(t *testing.T) {
	elfPath := testGuest(t)
	testenv.Tool(t, "gdb")
	img := filepath.Join(filepath.Dir(elfPath), "guest.img")
	body, err := os.ReadFile(filepath.Join(gdbData, "break.gdb"))
	if err != nil {
		t.Fatal(err)
	}
	entry := symbolAddr(t, elfPath, "_start")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(expand(t, text)), 0o644)
		return p
	}
	// Direct: run QEMU's firmware to the kernel entry as the qemu backend does.
	// The full register dump differs in presentation only (QEMU's
	// target.xml has k_gs_base, xmm and flag types for the control
	// registers); `info registers rip` stays.
	script := strings.Replace(string(body), "\ninfo registers\n", "\n", 1)
	// QEMU's stub does not report the guest's isa-debug-exit (gdb sees the
	// connection close; ukw reports "exited with code 071"), so the
	// comparison ends before the last continue.
	script, _, _ = strings.Cut(script, "set var release = 1\n")
	// Both sessions use breakpoint number 1 for the entry, so numbers match.
	direct := write("direct.gdb", "hbreak *"+hex(entry)+"\ncontinue\ndelete\necho ==session==\\n\n"+script)
	viaUkw := write("ukw.gdb", "hbreak *"+hex(entry)+"\ndelete\necho ==session==\\n\n"+script)

	want := session(runGDB(t, elfPath, startQEMUStub(t, img, "tcg"), direct, nil))
	_, stub, _ := machine(t, backends[1], elfPath)
	got := session(runGDB(t, elfPath, stub.Addr, viaUkw, nil))
	if got != want {
		t.Fatalf("gdb through ukw's stub and the client differs from gdb on QEMU's stub\n--- QEMU's stub ---\n%s\n--- ukw ---\n%s", want, got)
	}
	if !strings.Contains(got, "#2  0x") || !strings.Contains(got, "$6 = 50") {
		t.Fatalf("session did not run through:\n%s", got)
	}
}

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }
