package libvirt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"ukw/gdbstub"
	"ukw/guest"
)

// Options says where and how New boots a guest. The zero value boots on
// qemu:///system with KVM on the microvm machine type.
type Options struct {
	// URI is the libvirt connection ("" means DefaultURI).
	URI string
	// App names the application in the domain name ukw-<app>-<id); "" uses
	// the ELF's (or image's) file name.
	App string
	// Accel is "kvm" (the default: an error wrapping ErrNoKVM when the host
	// has none), "tcg" (QEMU's emulator), or "auto" (KVM when there, else TCG).
	Accel string
	// Machine is the QEMU machine type; "" means "microvm" (no SeaBIOS).
	Machine string
	// GDBPort is the GDB stub's loopback port on the libvirt host; 0 picks one.
	GDBPort int
	// SSH is the ssh destination ("user@host") for the GDB tunnel when the
	// URI's transport is not ssh (qemu+tcp, qemu+tls).
	SSH string
	// Pool and PoolDir name the storage pool the image is uploaded into
	// ("" means DefaultPool at DefaultPoolDir).
	Pool, PoolDir string

	legacyExit bool // tests: boot as on libvirt < 8.2 (no exit UART)
}

// overrideVersion is the first libvirt with <qemu:override> (8.2.0), which
// the exit UART needs.
const overrideVersion = 8002000

// New boots cfg as a transient libvirt domain and returns it stopped at its
// first instruction (the domain is created paused). Close destroys it.
func New(cfg guest.Config, opts Options) (guest.Machine, error) {
	m, err := Boot(cfg, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Boot is New returning the concrete *Machine (for its Name and Info).
func Boot(cfg guest.Config, opts Options) (*Machine, error) {
	t0 := time.Now()
	if cfg.Image == "" {
		return nil, fmt.Errorf("libvirt: no image to boot")
	}
	if len(cfg.Modules) > 0 {
		return nil, fmt.Errorf("libvirt: multiboot modules: %w", guest.ErrUnsupported)
	}
	conn, err := Dial(opts.URI)
	if err != nil {
		return nil, err
	}
	tl := &timeline{t0: t0}
	tl.mark("connected")
	m, err := boot(conn, cfg, opts, tl)
	if err != nil {
		conn.Close()
		return nil, err
	}
	m.ownConn = true
	return m, nil
}

// timeline collects marks before the Machine exists.
type timeline struct {
	t0    time.Time
	marks []guest.Mark
}

func (t *timeline) mark(name string) {
	t.marks = append(t.marks, guest.Mark{Name: name, At: time.Since(t.t0)})
}

func boot(conn *Conn, cfg guest.Config, opts Options, tl *timeline) (*Machine, error) {
	accel, err := chooseAccel(conn, opts.Accel)
	if err != nil {
		return nil, err
	}
	elf := cfg.ELF
	if elf == "" {
		elf = cfg.Image
	}
	if abs, err := filepath.Abs(elf); err == nil {
		elf = abs
	}
	app := opts.App
	if app == "" {
		app = strings.TrimSuffix(filepath.Base(elf), filepath.Ext(elf))
	}
	name := "ukw-" + sanitize(app) + "-" + randomID()
	pool, poolDir := opts.Pool, opts.PoolDir
	if pool == "" {
		pool = DefaultPool
	}
	if poolDir == "" {
		poolDir = DefaultPoolDir
	}
	volName := name + ".img"
	kernel, _, err := conn.uploadImage(cfg.Image, pool, poolDir, volName)
	if err != nil {
		return nil, fmt.Errorf("libvirt: %w", err)
	}
	tl.mark("image uploaded")
	spec := domainSpec{
		Name: name, Accel: accel, Machine: opts.Machine, Kernel: kernel, Cmdline: cfg.ArgsAfterName(),
		MemoryMiB: cfg.MemoryMiB, CPUs: cfg.CPUs,
		Meta: Metadata{App: app, ELF: elf, Pool: pool, Volume: volName, ExitChannel: "serial1"},
	}
	legacy := opts.legacyExit
	if v, err := conn.lv.ConnectGetLibVersion(); err == nil && v < overrideVersion {
		legacy = true
	}
	if legacy {
		spec.Meta.ExitChannel = ""
	}
	if spec.Machine == "" {
		spec.Machine = "microvm"
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = 32
	}
	if spec.CPUs == 0 {
		spec.CPUs = 1
	}
	dom, err := createWithPort(conn, spec, opts.GDBPort)
	if err != nil {
		conn.deleteVolume(pool, volName)
		return nil, err
	}
	tl.mark("domain created")
	xmlDesc, err := conn.lv.DomainGetXMLDesc(dom, 0)
	if err != nil {
		conn.lv.DomainDestroy(dom)
		conn.deleteVolume(pool, volName)
		return nil, err
	}
	info, err := parseDomain(xmlDesc)
	if err != nil {
		conn.lv.DomainDestroy(dom)
		conn.deleteVolume(pool, volName)
		return nil, err
	}
	m := &Machine{conn: conn, dom: dom, info: info, booted: true, state: guest.Stopped, sshDest: opts.SSH,
		created: tl.t0, marks: tl.marks}
	hv, _ := conn.Hypervisor()
	m.caps = guest.Caps{Backend: "libvirt", Hypervisor: fmt.Sprintf("%s, %s, %s on %s", hv, accelName(accel), spec.Machine, conn.URI())}
	if legacy {
		m.caps.Notes = append(m.caps.Notes, "libvirt older than 8.2 (no <qemu:override>): the guest's exit status is not available, its exit is reported as \"other\"")
	}
	if err := m.setup(cfg.Timeout, golibvirt.OptString{"serial0"}, accel); err != nil {
		m.Close()
		return nil, err
	}
	m.mark("ready")
	return m, nil
}

// setup follows the domain's streams and events and connects the debugger.
func (m *Machine) setup(timeout time.Duration, console golibvirt.OptString, accel string) error {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if err := m.startStreams(ctx, console); err != nil {
		return err
	}
	if m.info.GDB != "" {
		if err := m.connectDebugger(accel); err != nil {
			return err
		}
		m.mark("debugger connected")
	} else {
		m.caps.Notes = append(m.caps.Notes, "the domain has no GDB stub (no -gdb/-s in its QEMU command line): lifecycle and console only")
	}
	if timeout > 0 {
		go m.watchTimeout(ctx, timeout)
	}
	return nil
}

// createWithPort creates the domain paused with its GDB stub on port (or on
// a free port, retrying when QEMU finds the chosen one taken).
func createWithPort(conn *Conn, spec domainSpec, port int) (golibvirt.Domain, error) {
	tries := 1
	if port == 0 {
		tries = 5
	}
	var lastErr error
	for i := 0; i < tries; i++ {
		p := port
		if p == 0 {
			p = pickPort(conn.remote)
		}
		spec.GDBPort = p
		spec.Meta.GDB = "127.0.0.1:" + strconv.Itoa(p)
		spec.Meta.Started = time.Now().UTC().Format(time.RFC3339Nano)
		x, err := domainXML(spec)
		if err != nil {
			return golibvirt.Domain{}, err
		}
		dom, err := conn.lv.DomainCreateXML(x, golibvirt.DomainStartPaused)
		if err == nil {
			return dom, nil
		}
		lastErr = fmt.Errorf("libvirt: creating domain %s: %w", spec.Name, err)
		if !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return golibvirt.Domain{}, lastErr
}

// pickPort returns a loopback port for the GDB stub: one free here for a
// local daemon, a random one in 20000-39999 for a remote host (a taken one
// makes QEMU fail to start, and createWithPort tries another).
func pickPort(remote bool) int {
	if !remote {
		if addr, err := freeLoopbackAddr(); err == nil {
			if _, p, err := net.SplitHostPort(addr); err == nil {
				if n, err := strconv.Atoi(p); err == nil {
					return n
				}
			}
		}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(20000))
	if err != nil {
		return 23456
	}
	return 20000 + int(n.Int64())
}

func chooseAccel(conn *Conn, accel string) (string, error) {
	switch accel {
	case "tcg":
		return "tcg", nil
	case "", "kvm", "auto":
	default:
		return "", fmt.Errorf("libvirt: accelerator %q: want kvm, tcg or auto", accel)
	}
	ok, err := conn.HasKVM()
	if err != nil {
		return "", err
	}
	if ok {
		return "kvm", nil
	}
	if accel == "auto" {
		return "tcg", nil
	}
	return "", fmt.Errorf("%w at %s: its libvirt offers no x86_64 domain of type kvm (is /dev/kvm there and usable by libvirt's QEMU user?); use the tcg accelerator to emulate", ErrNoKVM, conn.URI())
}

func accelName(accel string) string {
	if accel == "tcg" {
		return "TCG"
	}
	return "KVM"
}

// sanitize keeps a name usable in a domain name: lower-case letters,
// digits and '-'.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "app"
	}
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

// randomID returns 6 hex digits.
func randomID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// connectDebugger connects the RSP client to QEMU's GDB stub, through an
// ssh tunnel when the host is remote, and forwards its stops.
func (m *Machine) connectDebugger(accel string) error {
	addr := m.info.GDB
	if m.conn.remote {
		t, err := openTunnel(m.conn.uri, m.sshDest, addr)
		if err != nil {
			return err
		}
		m.tunnel = t
		addr = t.local
	}
	m.gdbAddr = addr
	// QEMU's stub stops a running VM when a debugger connects and then
	// sends an unrequested stop reply, which would interleave with the RSP
	// handshake. Pause the domain first: the connect then changes nothing.
	if st, _, err := m.conn.lv.DomainGetState(m.dom, 0); err == nil && golibvirt.DomainState(st) == golibvirt.DomainRunning {
		if err := m.conn.lv.DomainSuspend(m.dom); err != nil {
			return fmt.Errorf("libvirt: pausing %s to attach the debugger: %w", m.dom.Name, err)
		}
		m.setState(guest.Stopped)
	}
	var nc net.Conn
	var err error
	for i := 0; i < 50; i++ { // QEMU listens before libvirt returns; a tunnel may lag
		if nc, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("libvirt: GDB stub of %s at %s: %w", m.dom.Name, m.info.GDB, err)
	}
	opts := debugOptions(accel, m.conn.remote)
	c, err := gdbstub.NewClient(nc, opts)
	if err != nil {
		nc.Close()
		return fmt.Errorf("libvirt: GDB stub of %s (QEMU's stub serves one debugger at a time: is another attached?): %w", m.dom.Name, err)
	}
	m.dbg = c
	ch, cancel := c.Subscribe()
	go m.followDebugger(ch, cancel)
	return nil
}

// debugOptions sets up the RSP client for QEMU's stub. Under KVM,
// breakpoints go to debug registers: QEMU's int3 breakpoints need
// KVM_GUESTDBG_USE_SW_BP, which kvm-pvm cannot do, and the multiboot loader
// overwrites int3s planted before it copied the kernel. On kvm-pvm the #DB
// of a data watchpoint goes to the guest (../shared/MACHINE.md), so local
// kvm-pvm hosts get no watchpoints.
func debugOptions(accel string, remote bool) gdbstub.ClientOptions {
	opts := gdbstub.ClientOptions{SoftwareAsHardware: accel == "kvm"}
	caps := guest.Caps{Backend: "libvirt", HWBreakpoints: 4, SWBreakpoints: true, SWBreakStrategy: "rsp",
		Watchpoints: true, WatchStrategy: "rsp", SingleStep: true}
	if accel == "kvm" {
		caps.SWBreakStrategy = "hw-slots"
	}
	if accel == "kvm" && !remote {
		if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
			opts.NoWatchpoints = true
			caps.Watchpoints, caps.WatchStrategy = false, ""
			caps.Notes = append(caps.Notes, "kvm-pvm host: data watchpoints would reach the guest, so they are off (gdb falls back to software watchpoints)")
		}
	}
	opts.Caps = &caps
	return opts
}

// followDebugger forwards the RSP client's events. Its final events (a lost
// connection, which is what QEMU's end looks like from the stub) give way to
// libvirt's account of how the guest ended, unless none comes.
func (m *Machine) followDebugger(ch <-chan guest.Event, cancel func()) {
	defer cancel()
	for e := range ch {
		switch e := e.(type) {
		case guest.StopEvent:
			m.setState(guest.Stopped)
			m.Publish(e)
		case guest.ExitEvent, guest.FaultEvent:
			go func() {
				time.Sleep(5 * time.Second)
				if !m.isFinal() {
					m.finish(e, false)
				}
			}()
		default:
			m.Publish(e)
		}
	}
}
