package libvirt

import (
	"fmt"
	"time"

	"ukw/guest"
)

// AttachOptions tunes Attach.
type AttachOptions struct {
	// SSH is the ssh destination for the GDB tunnel when conn's transport
	// is not ssh (see Options.SSH).
	SSH string
}

// Attach takes over a running domain: one ukw booted, or one started some
// other way (virsh create) whose QEMU command line has a -gdb or -s stub.
// The machine is detached, not destroyed, by Close; conn stays open and
// belongs to the caller. A domain without a GDB stub still gives its
// console and lifecycle; debugging calls then return guest.ErrUnsupported.
func Attach(conn *Conn, name string, opts AttachOptions) (*Machine, error) {
	d, err := conn.lv.DomainLookupByName(name)
	if err != nil {
		return nil, fmt.Errorf("libvirt domain %q: %w", name, err)
	}
	info, err := conn.describe(d)
	if err != nil {
		return nil, err
	}
	m := &Machine{conn: conn, dom: d, info: info, sshDest: opts.SSH, state: guest.Running, created: time.Now()}
	if info.State == "paused" {
		m.state = guest.Stopped
	}
	hv, _ := conn.Hypervisor()
	m.caps = guest.Caps{Backend: "libvirt", Hypervisor: fmt.Sprintf("%s, domain %s on %s", hv, name, conn.URI())}
	var console []string
	if info.Ukw {
		console = []string{"serial0"}
	}
	// The domain's accelerator decides the breakpoint strategy.
	accel := "kvm"
	if info.Type == "qemu" {
		accel = "tcg"
	}
	if err := m.setup(0, console, accel); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// AttachURI is Attach on a connection of its own to uri ("" means
// DefaultURI), which Close also closes: the one call `ukw debug --domain
// NAME --connect URI` needs.
func AttachURI(uri, name string, opts AttachOptions) (*Machine, error) {
	conn, err := Dial(uri)
	if err != nil {
		return nil, err
	}
	m, err := Attach(conn, name, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	m.ownConn = true
	return m, nil
}
