package libvirt

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// sshLoopback starts a private sshd (its own config, host key and
// authorized key, on a free port of 127.0.0.1) and returns a libvirt URI
// that reaches this machine's libvirtd through it as if it were a remote
// host: qemu+ssh://root@127.0.0.2:PORT/system. 127.0.0.2 is not one of the
// names Dial treats as local, so the whole remote path runs: the SSH
// transport, the image upload, and the ssh tunnel to the GDB stub.
func sshLoopback(t *testing.T) string {
	t.Helper()
	testenv.Tool(t, "ssh", "ssh-keygen")
	sshd := testenv.File(t, "/usr/sbin/sshd", "Debian package openssh-server")
	if os.Geteuid() != 0 {
		t.Skip("skipping: a private sshd that logs in as this user needs root")
	}
	dir := t.TempDir()
	for _, k := range []string{"host", "client"} {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	cfg := strings.Join([]string{
		"ListenAddress 127.0.0.2:" + port,
		"HostKey " + filepath.Join(dir, "host"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PidFile none",
		"AllowTcpForwarding local",
		"AllowStreamLocalForwarding local",
		"",
	}, "\n")
	cf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege-separation directory
	cmd := exec.Command(sshd, "-D", "-e", "-f", cf)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server listening") {
				ready <- true
			}
			t.Logf("sshd: %s", sc.Text())
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("private sshd did not start")
	}
	return fmt.Sprintf("qemu+ssh://root@127.0.0.2:%s/system?keyfile=%s&no_verify=1", port, filepath.Join(dir, "client"))
}

func TestRemoteOverSSH(t *testing.T) {
	daemon(t) // the local daemon the "remote" URI reaches
	uri := sshLoopback(t)
	kernel := testKernel(t)
	m, err := Boot(guest.Config{Image: kernel, Cmdline: "kernel exit=9 remote", MemoryMiB: 16}, Options{URI: uri, Accel: "auto"})
	if err != nil {
		t.Fatalf("Boot over %s: %v", uri, err)
	}
	defer m.Close()
	if !m.conn.Remote() || m.tunnel == nil {
		t.Fatalf("remote %v, tunnel %v: the remote path did not run", m.conn.Remote(), m.tunnel)
	}
	// The stub is reached through the tunnel, never on the host's address.
	if !strings.HasPrefix(m.gdbAddr, "127.0.0.1:") || m.gdbAddr == m.info.GDB {
		t.Fatalf("GDB reached at %s for stub %s: want a local tunnel end", m.gdbAddr, m.info.GDB)
	}
	// QEMU's stub answers through the tunnel: registers at the reset vector.
	regs, err := m.Regs(0)
	if err != nil {
		t.Fatalf("registers through the tunnel: %v", err)
	}
	if regs.RIP != 0xfff0 || regs.CS.Selector != 0xf000 {
		t.Errorf("registers at entry rip %#x cs %#x, want the reset vector f000:fff0", regs.RIP, regs.CS.Selector)
	}
	console, final := run(t, m, 60*time.Second)
	if !strings.Contains(console, "exit=9 remote") {
		t.Errorf("console %q", console)
	}
	if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.Status != 9 {
		t.Fatalf("final %#v, want exit status 9", final)
	}
	list, err := m.conn.List(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ps over ssh: %d domains", len(list))
}
