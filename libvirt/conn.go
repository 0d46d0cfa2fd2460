package libvirt

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"
)

// DefaultURI is the libvirt connection ukw uses when none is given.
const DefaultURI = "qemu:///system"

// Errors Dial and New return, wrapped with detail; test them with errors.Is.
var (
	// ErrUnreachable means no libvirt daemon answered at the URI.
	ErrUnreachable = errors.New("libvirt daemon unreachable")
	// ErrPermission means the daemon refused this user.
	ErrPermission = errors.New("permission denied by libvirt")
	// ErrNoKVM means the host's libvirt offers no KVM domains for x86_64.
	ErrNoKVM = errors.New("no KVM on the libvirt host")
)

// Conn is a connection to one libvirt daemon.
type Conn struct {
	lv     *golibvirt.Libvirt
	uri    *url.URL
	remote bool
}

// Dial connects to the libvirt daemon at uri ("" means DefaultURI). It accepts
// libvirt's URI forms: qemu:///system, qemu:///session, qemu+unix:///system?socket=P,
// qemu+ssh://[user@]host[:port]/system, qemu+tcp://host[:port]/system,
// qemu+tls://host/system. Errors wrap ErrUnreachable or ErrPermission with
// what to do about them.
func Dial(uri string) (*Conn, error) {
	if uri == "" {
		uri = DefaultURI
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %q: %w", uri, err)
	}
	if !strings.HasPrefix(u.Scheme, "qemu") {
		return nil, fmt.Errorf("libvirt URI %q: ukw drives the QEMU driver only (qemu:// or qemu+TRANSPORT://)", uri)
	}
	c := &Conn{uri: u, remote: isRemote(u)}
	lv, err := connect(u)
	if err != nil {
		return nil, classifyDialError(uri, err)
	}
	c.lv = lv
	return c, nil
}

// connect opens the RPC connection. The local (unix socket) case is done
// here so that qemu:///session finds the per-user socket; every other
// transport is go-libvirt's.
func connect(u *url.URL) (*golibvirt.Libvirt, error) {
	transport := "unix"
	if s := strings.SplitN(u.Scheme, "+", 2); len(s) == 2 {
		transport = s[1]
	} else if u.Host != "" {
		transport = "tls"
	}
	if transport != "unix" {
		return golibvirt.ConnectToURI(u)
	}
	sock := u.Query().Get("socket")
	if sock == "" {
		sock = "/run/libvirt/libvirt-sock"
		if u.Path == "/session" {
			dir := os.Getenv("XDG_RUNTIME_DIR")
			if dir == "" {
				dir = filepath.Join(os.Getenv("HOME"), ".cache")
			}
			sock = filepath.Join(dir, "libvirt", "libvirt-sock")
		}
	}
	lv := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(sock), dialers.WithLocalTimeout(5*time.Second)))
	if err := lv.ConnectToURI(golibvirt.RemoteURI(u)); err != nil {
		return nil, fmt.Errorf("socket %s: %w", sock, err)
	}
	return lv, nil
}

// classifyDialError turns a failed connection into an error a user can act on.
func classifyDialError(uri string, err error) error {
	var lerr golibvirt.Error
	switch {
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w at %s: %v (join the libvirt group, or use qemu:///session)", ErrPermission, uri, err)
	case errors.As(err, &lerr) && isAuthCode(lerr.Code):
		return fmt.Errorf("%w at %s: %v (join the libvirt group or allow this user in polkit)", ErrPermission, uri, err)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w at %s: %v (start it: systemctl start libvirtd, or `libvirtd -d` and `virtlogd -d` without systemd)", ErrUnreachable, uri, err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) || strings.Contains(err.Error(), "dial") {
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, uri, err)
	}
	return fmt.Errorf("libvirt %s: %w", uri, err)
}

func isAuthCode(code uint32) bool {
	switch golibvirt.ErrorNumber(code) {
	case golibvirt.ErrAuthFailed, golibvirt.ErrAuthUnavailable, golibvirt.ErrAccessDenied, golibvirt.ErrOperationDenied:
		return true
	}
	return false
}

// isRemote reports whether the daemon runs on another host, so that its
// loopback ports are not ours.
func isRemote(u *url.URL) bool {
	switch u.Hostname() {
	case "", "localhost", "127.0.0.1", "::1":
		return false
	}
	return true
}

// URI returns the URI this connection was made with.
func (c *Conn) URI() string { return c.uri.String() }

// Remote reports whether the daemon runs on another host.
func (c *Conn) Remote() bool { return c.remote }

// Close ends the connection. Domains keep running.
func (c *Conn) Close() error {
	if c.lv == nil {
		return nil
	}
	err := c.lv.Disconnect()
	c.lv = nil
	return err
}

// Hypervisor returns what backs the daemon, e.g. "QEMU 7.2.22".
func (c *Conn) Hypervisor() (string, error) {
	v, err := c.lv.ConnectGetLibVersion()
	if err != nil {
		return "", err
	}
	hv, err := c.lv.ConnectGetVersion()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("QEMU %d.%d.%d (libvirt %d.%d.%d)", hv/1000000, hv/1000%1000, hv%1000, v/1000000, v/1000%1000, v%1000), nil
}

// HasKVM reports whether the host can run x86_64 guests with domain type
// "kvm", from the daemon's capabilities XML.
func (c *Conn) HasKVM() (bool, error) {
	s, err := c.lv.ConnectGetCapabilities()
	if err != nil {
		return false, fmt.Errorf("libvirt capabilities: %w", err)
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(s); err != nil {
		return false, fmt.Errorf("libvirt capabilities: %w", err)
	}
	for _, g := range caps.Guests {
		if g.Arch.Name != "x86_64" {
			continue
		}
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				return true, nil
			}
		}
	}
	return false, nil
}
