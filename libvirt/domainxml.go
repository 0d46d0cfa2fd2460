package libvirt

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirtxml"
)

// MetadataNS is the XML namespace of ukw's <metadata> element in a domain.
const MetadataNS = "urn:ukw:libvirt:domain:1"

// ExitIOBase is the isa-debug-exit port of the guest ABI (layers/README.md).
// On libvirt a 16550 UART (serial1) sits there: the byte the guest writes
// comes out on that UART's console stream.
const ExitIOBase = 0xf4

// Metadata is what ukw records in a domain's <metadata> to find it again.
type Metadata struct {
	XMLName xml.Name `xml:"urn:ukw:libvirt:domain:1 ukw"`
	// App is the application name (the <app> in ukw-<app>-<id>).
	App string `xml:"app"`
	// ELF is the debug ELF on the machine that booted the domain.
	ELF string `xml:"elf,omitempty"`
	// GDB is the GDB stub's address on the libvirt host, "127.0.0.1:PORT".
	GDB string `xml:"gdb,omitempty"`
	// Started is when the domain was created (RFC 3339).
	Started string `xml:"started,omitempty"`
	// Pool and Volume name the uploaded boot image, deleted with the domain.
	Pool   string `xml:"pool,omitempty"`
	Volume string `xml:"volume,omitempty"`
	// ExitChannel names the serial device carrying the exit status ("serial1").
	ExitChannel string `xml:"exit,omitempty"`
}

// domainSpec is everything domainXML needs to describe a ukw guest.
type domainSpec struct {
	Name      string
	Accel     string // "kvm" or "tcg"
	Machine   string // QEMU machine type
	Kernel    string // path on the libvirt host
	Cmdline   string
	MemoryMiB int
	CPUs      int
	GDBPort   int
	Meta      Metadata
}

// domainXML renders the transient domain for spec. The choices are
// measured in docs/libvirt.md. With Meta.ExitChannel empty, port 0xf4 is
// QEMU's isa-debug-exit instead of the exit UART.
func domainXML(s domainSpec) (string, error) {
	meta, err := xml.Marshal(s.Meta)
	if err != nil {
		return "", err
	}
	typ := "kvm"
	if s.Accel == "tcg" {
		typ = "qemu"
	}
	port0, port1 := uint(0), uint(1)
	d := libvirtxml.Domain{
		Type:     typ,
		Name:     s.Name,
		Metadata: &libvirtxml.DomainMetadata{XML: string(meta)},
		Memory:   &libvirtxml.DomainMemory{Value: uint(s.MemoryMiB), Unit: "MiB"},
		VCPU:     &libvirtxml.DomainVCPU{Value: uint(s.CPUs)},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Machine: s.Machine, Type: "hvm"},
			Kernel:  s.Kernel,
			Cmdline: s.Cmdline,
		},
		// A ukw guest never reboots: a reset (triple fault, 0x64 ← 0xfe)
		// ends the domain like a power-off.
		OnPoweroff: "destroy",
		OnReboot:   "destroy",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			// microvm has no PCI bus: turn off the devices libvirt would
			// otherwise add there.
			Controllers: []libvirtxml.DomainController{{Type: "usb", Model: "none"}},
			MemBalloon:  &libvirtxml.DomainMemBalloon{Model: "none"},
			Serials: []libvirtxml.DomainSerial{
				{Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
					Target: &libvirtxml.DomainSerialTarget{Type: "isa-serial", Port: &port0}},
				{Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
					Target: &libvirtxml.DomainSerialTarget{Type: "isa-serial", Port: &port1}},
			},
		},
		QEMUCommandline: &libvirtxml.DomainQEMUCommandline{Args: []libvirtxml.DomainQEMUCommandlineArg{
			{Value: "-gdb"}, {Value: fmt.Sprintf("tcp:127.0.0.1:%d", s.GDBPort)},
		}},
		QEMUOverride: &libvirtxml.DomainQEMUOverride{Devices: []libvirtxml.DomainQEMUOverrideDevice{{
			Alias: "serial1",
			Frontend: libvirtxml.DomainQEMUOverrideFrontend{Properties: []libvirtxml.DomainQEMUOverrideProperty{
				{Name: "iobase", Type: "unsigned", Value: strconv.Itoa(ExitIOBase)},
			}},
		}}},
	}
	if s.Meta.ExitChannel == "" {
		// libvirt before 8.2 has no <qemu:override>: QEMU's own
		// isa-debug-exit, whose status libvirt cannot report.
		d.Devices.Serials = d.Devices.Serials[:1]
		d.QEMUOverride = nil
		d.QEMUCommandline.Args = append(d.QEMUCommandline.Args,
			libvirtxml.DomainQEMUCommandlineArg{Value: "-device"},
			libvirtxml.DomainQEMUCommandlineArg{Value: fmt.Sprintf("isa-debug-exit,iobase=%#x,iosize=4", ExitIOBase)})
	}
	return d.Marshal()
}

// DomainInfo describes one domain as List sees it.
type DomainInfo struct {
	Name  string `json:"name"`
	UUID  string `json:"uuid"`
	State string `json:"state"` // "running", "paused", "shutoff", ...
	// Type is the libvirt domain type: "kvm", or "qemu" for TCG.
	Type string `json:"type"`
	// Ukw reports that ukw booted the domain (it carries ukw's metadata).
	Ukw bool   `json:"ukw"`
	App string `json:"app,omitempty"`
	ELF string `json:"elf,omitempty"`
	// GDB is the GDB stub's address on the libvirt host ("" when none is known).
	GDB string `json:"gdb,omitempty"`
	// Started is when the domain started (zero when unknown).
	Started time.Time `json:"started,omitzero"`
	// Uptime is the time since Started, when known.
	Uptime time.Duration `json:"uptime_ns,omitempty"`
	// ExitChannel is the serial device carrying a ukw exit status, if any.
	ExitChannel string `json:"-"`
	Pool        string `json:"-"`
	Volume      string `json:"-"`
}

// parseDomain extracts ukw's metadata and the GDB stub address from a
// domain's XML. A domain not booted by ukw still yields its GDB address
// when its QEMU command line has -gdb or -s.
func parseDomain(s string) (DomainInfo, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(s); err != nil {
		return DomainInfo{}, fmt.Errorf("domain XML: %w", err)
	}
	info := DomainInfo{Name: d.Name, UUID: d.UUID, Type: d.Type}
	if d.Metadata != nil {
		if m, ok := findMetadata(d.Metadata.XML); ok {
			info.Ukw = true
			info.App, info.ELF, info.GDB = m.App, m.ELF, m.GDB
			info.ExitChannel, info.Pool, info.Volume = m.ExitChannel, m.Pool, m.Volume
			if t, err := time.Parse(time.RFC3339Nano, m.Started); err == nil {
				info.Started = t
			}
		}
	}
	if info.GDB == "" && d.QEMUCommandline != nil {
		args := make([]string, len(d.QEMUCommandline.Args))
		for i, a := range d.QEMUCommandline.Args {
			args[i] = a.Value
		}
		info.GDB = gdbFromArgs(args)
	}
	return info, nil
}

// findMetadata finds ukw's element among the (namespaced) children of <metadata>.
func findMetadata(inner string) (Metadata, bool) {
	dec := xml.NewDecoder(strings.NewReader(inner))
	for {
		tok, err := dec.Token()
		if err != nil {
			return Metadata{}, false
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != MetadataNS || se.Name.Local != "ukw" {
			continue
		}
		var m Metadata
		if err := dec.DecodeElement(&m, &se); err != nil {
			return Metadata{}, false
		}
		return m, true
	}
}

// gdbFromArgs finds the GDB stub address in QEMU arguments: "-gdb DEV"
// (QEMU's tcp:[HOST]:PORT or tcp::PORT form) or "-s" (tcp::1234). It
// returns "HOST:PORT" with an empty host made 127.0.0.1, or "" when there is
// no TCP stub.
func gdbFromArgs(args []string) string {
	for i, a := range args {
		switch {
		case a == "-s":
			return "127.0.0.1:1234"
		case (a == "-gdb" || a == "--gdb") && i+1 < len(args):
			if addr := gdbDevAddr(args[i+1]); addr != "" {
				return addr
			}
		case strings.HasPrefix(a, "-gdb="):
			if addr := gdbDevAddr(strings.TrimPrefix(a, "-gdb=")); addr != "" {
				return addr
			}
		}
	}
	return ""
}

// gdbDevAddr parses a QEMU chardev spec used by -gdb: "tcp:HOST:PORT[,opts]",
// "tcp::PORT", or a bare port number.
func gdbDevAddr(dev string) string {
	dev, _, _ = strings.Cut(dev, ",")
	if p, err := strconv.Atoi(dev); err == nil && p > 0 && p < 65536 {
		return "127.0.0.1:" + dev
	}
	rest, ok := strings.CutPrefix(dev, "tcp:")
	if !ok {
		return ""
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return ""
	}
	host, port := rest[:i], rest[i+1:]
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p >= 65536 {
		return ""
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
