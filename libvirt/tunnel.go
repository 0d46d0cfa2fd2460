package libvirt

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// tunnel is an `ssh -L` forward from a loopback port here to a loopback
// port on the libvirt host, so that a remote domain's GDB stub is never
// opened to the network.
type tunnel struct {
	cmd   *exec.Cmd
	local string // "127.0.0.1:PORT" here
	done  chan struct{}
	err   bytes.Buffer
}

// sshDestination returns the ssh destination and options for reaching the
// libvirt host of u: the URI's own when its transport is ssh, else dest
// ("user@host" or "host"), which must then be given.
func sshDestination(u *url.URL, dest string) (string, []string, error) {
	var args []string
	transport := ""
	if s := strings.SplitN(u.Scheme, "+", 2); len(s) == 2 {
		transport = s[1]
	}
	if dest == "" {
		if transport != "ssh" && transport != "libssh" && transport != "libssh2" {
			return "", nil, fmt.Errorf("the GDB stub of a domain on %s listens on that host's loopback only; "+
				"use a qemu+ssh:// URI or give an ssh destination for the tunnel", u.Hostname())
		}
		dest = u.Hostname()
		if user := u.User.Username(); user != "" {
			dest = user + "@" + dest
		}
		if p := u.Port(); p != "" {
			args = append(args, "-p", p)
		}
		// The URI's own ssh parameters (libvirt's remote URI documentation).
		q := u.Query()
		if k := q.Get("keyfile"); k != "" {
			args = append(args, "-i", k)
		}
		if k := q.Get("known_hosts"); k != "" {
			args = append(args, "-o", "UserKnownHostsFile="+k)
		}
		if q.Get("no_verify") == "1" || q.Get("known_hosts_verify") == "ignore" {
			args = append(args, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR")
		}
	}
	return dest, args, nil
}

// openTunnel forwards a free loopback port here to remote ("127.0.0.1:PORT"
// on the libvirt host) with the system ssh client.
func openTunnel(u *url.URL, dest, remote string) (*tunnel, error) {
	dest, extra, err := sshDestination(u, dest)
	if err != nil {
		return nil, err
	}
	local, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-N", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes",
		"-L", local + ":" + remote}, extra...)
	args = append(args, dest)
	t := &tunnel{local: local, done: make(chan struct{})}
	t.cmd = exec.Command("ssh", args...)
	t.cmd.Stderr = &t.err
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("ssh tunnel to %s: %w", dest, err)
	}
	go func() { t.cmd.Wait(); close(t.done) }()
	// Wait until ssh listens on the local port. Probing by connecting would
	// reach QEMU's stub, which accepts one client and stops the VM on
	// connect, so probe by trying to bind the port instead.
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-t.done:
			return nil, fmt.Errorf("ssh tunnel to %s failed: %s", dest, strings.TrimSpace(t.err.String()))
		default:
		}
		l, err := net.Listen("tcp", local)
		if err != nil && errors.Is(err, syscall.EADDRINUSE) {
			return t, nil
		}
		if l != nil {
			l.Close()
		}
		if time.Now().After(deadline) {
			t.Close()
			return nil, fmt.Errorf("ssh tunnel to %s: no forward after 20 s: %s", dest, strings.TrimSpace(t.err.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close ends the ssh process.
func (t *tunnel) Close() error {
	if t.cmd.Process != nil {
		t.cmd.Process.Kill()
	}
	<-t.done
	return nil
}

// freeLoopbackAddr returns "127.0.0.1:PORT" for a port free right now.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
