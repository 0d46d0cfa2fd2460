package libvirt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// virshDomain starts the test kernel the way a user with existing
// infrastructure would: `virsh create` of testdata/libvirt/virsh-domain.xml,
// not through ukw. It returns the domain name and its GDB port.
func virshDomain(t *testing.T, c *Conn) (string, int) {
	t.Helper()
	virsh := testenv.Tool(t, "virsh")
	kernel := testKernel(t)
	// libvirt's QEMU runs as another user: give it a directory it can enter.
	dir, err := os.MkdirTemp("", "ukw-libvirt-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "kernel.elf")
	data, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile("../testdata/libvirt/virsh-domain.xml")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	name := "virsh-test-" + randomID()
	x := strings.NewReplacer("@NAME@", name, "@KERNEL@", img, "@PORT@", strconv.Itoa(port)).Replace(string(tmpl))
	if ok, _ := c.HasKVM(); !ok {
		x = strings.Replace(x, "type='kvm'", "type='qemu'", 1)
	}
	xf := filepath.Join(dir, "domain.xml")
	if err := os.WriteFile(xf, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	uri := testURI()
	if uri == "" {
		uri = DefaultURI
	}
	if out, err := exec.Command(virsh, "-c", uri, "create", xf).CombinedOutput(); err != nil {
		t.Fatalf("virsh create: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(virsh, "-c", uri, "destroy", name).Run() })
	return name, port
}

func TestListFindsVirshDomain(t *testing.T) {
	c := daemon(t)
	name, port := virshDomain(t, c)
	list, err := c.List(false)
	if err != nil {
		t.Fatal(err)
	}
	var found *DomainInfo
	for i := range list {
		if list[i].Name == name {
			found = &list[i]
		}
	}
	if found == nil {
		t.Fatalf("List does not show %s: %+v", name, list)
	}
	if found.Ukw || found.GDB != fmt.Sprintf("127.0.0.1:%d", port) || found.State != "running" {
		t.Fatalf("List shows %+v, want a running non-ukw domain with gdb 127.0.0.1:%d", *found, port)
	}
	if os.Geteuid() == 0 && !c.Remote() && (found.Started.IsZero() || found.Uptime <= 0 || found.Uptime > time.Minute) {
		t.Errorf("uptime of a local domain not found from its QEMU process: %+v", *found)
	}
	var buf bytes.Buffer
	if err := WriteList(&buf, list, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), name) || !strings.Contains(buf.String(), "(not ukw)") {
		t.Fatalf("ps table lacks the domain:\n%s", buf.String())
	}
	t.Logf("\n%s", buf.String())
}

// TestVirshDomainStubIsReal checks the GDB address List reports against
// Debian's gdb, a real peer: it must stop the guest in the test kernel's loop.
func TestVirshDomainStubIsReal(t *testing.T) {
	gdb := testenv.Tool(t, "gdb")
	c := daemon(t)
	name, _ := virshDomain(t, c)
	info, err := c.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	kernel := testKernel(t)
	out, err := exec.Command(gdb, "-nx", "-q", "-batch",
		"-ex", "set architecture i386:x86-64",
		"-ex", "target remote "+info.GDB,
		"-ex", "hbreak leaf",
		"-ex", "continue",
		"-ex", "info symbol $pc",
		kernel).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "leaf in section .text") {
		t.Fatalf("gdb did not stop in leaf through %s:\n%s", info.GDB, out)
	}
}

// TestAttachVirshDomain attaches to a domain started by plain `virsh
// create`, as `ukw debug --domain` will: registers, a breakpoint by symbol,
// the return address on the stack, then a detach that leaves it running.
func TestAttachVirshDomain(t *testing.T) {
	c := daemon(t)
	name, _ := virshDomain(t, c)
	m, err := Attach(c, name, AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Info().Ukw || m.Info().GDB == "" {
		t.Fatalf("Attach info %+v", m.Info())
	}
	ef, err := elf.Open(testKernel(t))
	if err != nil {
		t.Fatal(err)
	}
	syms, err := ef.Symbols()
	ef.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]uint64{}
	size := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name], size[s.Name] = s.Value, s.Size
	}
	// Attaching stops the guest (QEMU stops the VM for a debugger).
	if s := m.State(); s != guest.Stopped {
		t.Fatalf("state after attach %v, want stopped", s)
	}
	regs, err := m.Regs(0)
	if err != nil {
		t.Fatal(err)
	}
	if regs.RIP < 0x100000 || regs.RIP >= addr["stack_bottom"] {
		t.Errorf("attached at rip %#x, outside the test kernel's text", regs.RIP)
	}
	ch, cancel := m.Subscribe()
	defer cancel()
	bp := guest.Breakpoint{Kind: guest.BreakHardware, Addr: addr["leaf"], Len: 1}
	if err := m.SetBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	st := waitStop(t, ch, 30*time.Second)
	if st.PC != addr["leaf"] {
		t.Fatalf("stopped at %#x, want leaf %#x", st.PC, addr["leaf"])
	}
	// 32-bit code: the return address is the word at esp, inside middle.
	regs, err = m.Regs(0)
	if err != nil {
		t.Fatal(err)
	}
	var ret [4]byte
	if err := m.ReadMemory(0, guest.Virtual, regs.RSP&0xffffffff, ret[:]); err != nil {
		t.Fatal(err)
	}
	ra := uint64(binary.LittleEndian.Uint32(ret[:]))
	if ra <= addr["middle"] || ra >= addr["middle"]+size["middle"] {
		t.Fatalf("return address %#x not in middle [%#x,+%#x)", ra, addr["middle"], size["middle"])
	}
	if err := m.ClearBreakpoint(bp); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Close detaches: the domain runs on.
	time.Sleep(200 * time.Millisecond)
	info, err := c.Lookup(name)
	if err != nil || info.State != "running" {
		t.Fatalf("after Close the domain is %+v (%v), want running", info, err)
	}
}

func TestStop(t *testing.T) {
	c := daemon(t)
	name, _ := virshDomain(t, c)
	if err := c.Stop(name); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(name); err == nil {
		t.Fatalf("%s still exists after Stop", name)
	}
	if err := c.Stop(name); err == nil {
		t.Fatal("Stop of a missing domain succeeded")
	}
}

// TestListFindsUkwDomain: a domain New booted is found again by its
// metadata, and Attach on a second connection debugs it.
func TestListFindsUkwDomain(t *testing.T) {
	c := daemon(t)
	kernel := testKernel(t)
	m, err := Boot(guest.Config{Image: kernel, ELF: kernel, Cmdline: "kernel hang", MemoryMiB: 16}, Options{URI: testURI(), App: "Demo App", Accel: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.HasPrefix(m.Name(), "ukw-demo-app-") {
		t.Fatalf("domain name %q", m.Name())
	}
	ch, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, ch, "hanging\n", 60*time.Second)
	// Interrupt goes through QEMU's stub: a stop in the guest's loop.
	if err := m.Interrupt(); err != nil {
		t.Fatal(err)
	}
	st := waitStop(t, ch, 30*time.Second)
	if st.Reason != guest.StopInterrupt || st.PC < 0x100000 || st.PC >= 0x110000 || m.State() != guest.Stopped {
		t.Fatalf("interrupt stop %v at %#x, state %v", st.Reason, st.PC, m.State())
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	// libvirtd learns of the resume from QEMU's RESUME event, a moment
	// after the stub's continue: poll until it shows.
	var list []DomainInfo
	var found *DomainInfo
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if list, err = c.List(false); err != nil {
			t.Fatal(err)
		}
		found = nil
		for i := range list {
			if list[i].Name == m.Name() {
				found = &list[i]
			}
		}
		if found == nil || found.State == "running" || time.Now().After(deadline) {
			break
		}
	}
	if found == nil || !found.Ukw || found.App != "Demo App" || found.ELF != kernel ||
		found.GDB != m.Info().GDB || found.State != "running" || found.Started.IsZero() || found.Volume == "" {
		t.Fatalf("List shows %+v for %s", found, m.Name())
	}
	var buf bytes.Buffer
	WriteList(&buf, list, false)
	t.Logf("\n%s", buf.String())
	// The booting machine holds QEMU's only debugger slot: a second
	// attach must say so rather than hang.
	if _, err := AttachURI(testURI(), m.Name(), AttachOptions{}); err == nil || !strings.Contains(err.Error(), "one debugger") {
		t.Fatalf("second attach: %v, want the one-debugger error", err)
	}
	buf.Reset()
	if err := WriteList(&buf, list, true); err != nil || !strings.Contains(buf.String(), `"app": "Demo App"`) {
		t.Fatalf("JSON %v:\n%s", err, buf.String())
	}
}
