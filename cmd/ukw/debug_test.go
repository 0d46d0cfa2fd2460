package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/build"
	"ukw/gdbstub"
	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/libvirt"
	"ukw/vmm"
)

// buildCopy builds a copy of the app directory src (relative to the repo
// root) and returns its result.
func buildCopy(t *testing.T, src string) *build.Result {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	app, err := build.Load(testenv.CopyApp(t, filepath.Join("..", "..", src)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), app, build.Options{})
	if err != nil {
		t.Fatalf("build %s: %v\n%s", filepath.Base(src), err, res.Output)
	}
	return res
}

// debugScript is what a user pipes into `ukw debug --plain`: gdb commands.
const debugScript = "hbreak main\ncontinue\nbt\nquit\n"

// runDebug runs the real binary's `ukw debug` with a command script on
// stdin and returns its output.
func runDebug(t *testing.T, bin, script string, args ...string) string {
	t.Helper()
	out, err := runDebugErr(bin, script, args...)
	if err != nil {
		t.Fatalf("ukw debug %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// runDebugErr runs `ukw debug ARGS` with script on stdin and returns its
// combined output and how it exited.
func runDebugErr(bin, script string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"debug"}, args...)...)
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// checkHit checks the plain output shows the stop at main and a symbolized backtrace.
func checkHit(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		"[stopped] attached",
		"[stop] Breakpoint 1, main at ",
		"#0  main () at ",
		"#1  0x", "in ukw_plat_entry () at ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("ukw debug output lacks %q:\n%s", want, out)
		}
	}
}

// TestDebugAttachUkwStub attaches `ukw debug --plain` to ukw's own GDB stub
// serving a native-VMM guest held at its first instruction; after quit
// (a detach) the guest runs on to its exit.
func TestDebugAttachUkwStub(t *testing.T) {
	testenv.KVM(t)
	res := buildCopy(t, "examples/hello")
	bin := buildUKW(t)
	m, err := vmm.New(guest.Config{Image: res.Image, ELF: res.ELF, Cmdline: res.Cmdline, MemoryMiB: res.MemoryMiB})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	events, cancel := m.Subscribe()
	defer cancel()
	stub, err := gdbstub.ListenAndServe(context.Background(), "127.0.0.1:0", m, gdbstub.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()

	out := runDebug(t, bin, debugScript, "--attach", stub.Addr, "--elf", res.ELF, "--plain")
	checkHit(t, out)

	// Detached, the guest finishes on its own. (The events include the
	// debugger's own stop at main: a guest left stopped never exits.)
	var console []byte
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("machine closed without an exit; console %q", console)
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				console = append(console, e.Data...)
			case guest.ExitEvent:
				if e.Exit.Status != 0 || !bytes.Contains(console, []byte("Hello from ukw!")) {
					t.Fatalf("after detach: exit %+v, console %q", e.Exit, console)
				}
				return
			case guest.FaultEvent:
				t.Fatalf("guest faulted: %s", e.Fault.Summary())
			}
		case <-timeout:
			t.Fatalf("guest did not exit after the debugger detached; console %q", console)
		}
	}
}

// TestDebugAttachQEMUStub attaches `ukw debug --json` to QEMU's own GDB
// stub (qemu -S -gdb), TCG, held in its firmware before the kernel is
// loaded: a hardware breakpoint on main (a software one would be
// overwritten by the loader), continue, backtrace, detach; QEMU then runs
// the guest to its exit.
func TestDebugAttachQEMUStub(t *testing.T) {
	qemuBin := testenv.Tool(t, "qemu-system-x86_64")
	res := buildCopy(t, "examples/hello")
	bin := buildUKW(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The flags package qemu uses (microvm: no SeaBIOS; no -cpu: see MACHINE.md).
	q := exec.Command(qemuBin, "-M", "microvm", "-accel", "tcg", "-m", "32", "-nodefaults", "-no-user-config",
		"-display", "none", "-monitor", "none", "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot",
		"-kernel", res.Image, "-append", res.Cmdline, "-S", "-gdb", "tcp:"+addr)
	var console, qerr bytes.Buffer
	q.Stdout, q.Stderr = &console, &qerr
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- q.Wait() }()
	defer func() {
		q.Process.Kill()
		<-exited
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close() // QEMU's stub takes the next connection as well
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("QEMU's stub never listened on %s: %s", addr, qerr.String())
		}
	}

	out := runDebug(t, bin, debugScript, "--attach", addr, "--elf", res.ELF, "--json")
	var stop string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, `{"type":"stop"`) {
			stop = line
		}
	}
	for _, want := range []string{`"Detail":"Breakpoint 1, main at `, `"Function":"main"`, `"Function":"ukw_plat_entry"`} {
		if !strings.Contains(stop, want) {
			t.Fatalf("last stop event lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(out, `"Text":"#0  main () at `) {
		t.Fatalf("no backtrace answer:\n%s", out)
	}

	select {
	case err := <-exited:
		// isa-debug-exit: QEMU exits with (status << 1) | 1.
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(console.String(), "exit status 0") {
			t.Fatalf("QEMU after detach: %v, console %q, stderr %s", err, console.String(), qerr.String())
		}
		exited <- err // for the deferred cleanup
	case <-time.After(2 * time.Minute):
		t.Fatalf("QEMU did not run the guest to its exit after the detach; console %q", console.String())
	}
}

// TestDebugDomain opens `ukw debug --domain` on a libvirt domain started the
// way a user with existing infrastructure starts one (`virsh create`, QEMU's
// stub on a loopback port through qemu:commandline), running the loop guest
// forever (QEMU's stub stops it as the debugger connects): the breakpoint
// given with -b is inserted, hit, the backtrace and a global read; quitting
// detaches and the domain runs on.
func TestDebugDomain(t *testing.T) {
	virsh := testenv.Tool(t, "virsh", "qemu-system-x86_64")
	testenv.Tool(t, "gcc", "ld", "objcopy")
	conn, err := libvirt.Dial("")
	if err != nil {
		if testenv.Required() {
			t.Fatalf("UKW_REQUIRE_KVM=1 but libvirtd is not usable: %v", err)
		}
		t.Skipf("skipping: libvirtd is not usable (start it with scripts/ci-libvirtd.sh): %v", err)
	}
	kvm, _ := conn.HasKVM()
	conn.Close()
	res := buildCopy(t, "testdata/guests/loop")
	bin := buildUKW(t)

	// libvirt's QEMU runs as another user: a directory it can enter.
	dir, err := os.MkdirTemp("", "ukw-debug-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(res.Image)
	if err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(dir, "loop.img")
	if err := os.WriteFile(kernel, img, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile("../../testdata/libvirt/virsh-domain.xml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	name := fmt.Sprintf("ukw-debug-test-%d", time.Now().UnixNano())
	x := strings.NewReplacer("@NAME@", name, "@KERNEL@", kernel, "@PORT@", fmt.Sprint(port)).Replace(string(tmpl))
	if !kvm {
		x = strings.Replace(x, "type='kvm'", "type='qemu'", 1)
	}
	xf := filepath.Join(dir, "domain.xml")
	if err := os.WriteFile(xf, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	uri := libvirt.DefaultURI
	if out, err := exec.Command(virsh, "-c", uri, "create", xf).CombinedOutput(); err != nil {
		t.Fatalf("virsh create: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(virsh, "-c", uri, "destroy", name).Run() })

	out := runDebug(t, bin, "continue\nbt\np stop\nquit\n", "--domain", name, "--connect", uri, "--elf", res.ELF,
		"-b", "main.c:13", "--plain")
	for _, want := range []string{
		"[stopped] attached",
		"[stop] Breakpoint 1, main at ",
		"#0  main () at ", "main.c:13",
		"in ukw_plat_entry () at ",
		"stop = 0",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("ukw debug --domain output lacks %q:\n%s", want, out)
		}
	}
	st, err := exec.Command(virsh, "-c", uri, "domstate", name).CombinedOutput()
	if err != nil || strings.TrimSpace(string(st)) != "running" {
		t.Fatalf("after the detach the domain is %q (%v), want running", st, err)
	}
}

// TestDebugAttachRefused: nothing listens at the address; ukw debug says so
// and ends instead of waiting for commands that cannot do anything.
func TestDebugAttachRefused(t *testing.T) {
	bin := buildUKW(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out, err := runDebugErr(bin, "", "--attach", addr, "--elf", "/nonexistent.elf", "--plain")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("a failed attach must exit with status 1, got %v:\n%s", err, out)
	}
	for _, want := range []string{"error: attach " + addr + ": ", "connection refused", "[failed] attach failed", "ukw: session failed"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
