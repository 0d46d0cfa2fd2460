package vmm

import (
	"fmt"
	"strings"

	"ukw/guest"
)

// Monitor runs a VMM monitor command (guest.Monitor; gdb's `monitor CMD`):
//
//	help       this list
//	caps       backend, hypervisor, breakpoint and watchpoint strategies, probe notes
//	vga        the VGA text screen
//	timeline   the start-up marks (µs)
//	exits      the number of KVM_RUN returns so far
func (m *Machine) Monitor(cmd string) (string, error) {
	var b strings.Builder
	switch f := strings.Fields(cmd); {
	case len(f) == 0 || f[0] == "help":
		b.WriteString("monitor commands: help, caps, vga, timeline, exits\n")
	case f[0] == "caps":
		c := m.Caps()
		fmt.Fprintf(&b, "backend %s on %s, %d vCPU\n", c.Backend, c.Hypervisor, m.NumCPU())
		fmt.Fprintf(&b, "hardware breakpoints: %d\n", c.HWBreakpoints)
		fmt.Fprintf(&b, "software breakpoints: %v (%s)\n", c.SWBreakpoints, orNone(c.SWBreakStrategy))
		fmt.Fprintf(&b, "watchpoints: %v (%s)\n", c.Watchpoints, orNone(c.WatchStrategy))
		fmt.Fprintf(&b, "single-step: %v\n", c.SingleStep)
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
	case f[0] == "vga":
		lines, err := m.VGAText()
		if err != nil {
			return "", err
		}
		b.WriteString(strings.Join(lines, "\n") + "\n")
	case f[0] == "timeline":
		for _, mk := range m.Timeline() {
			fmt.Fprintf(&b, "%-20s %8d µs\n", mk.Name, mk.At.Microseconds())
		}
	case f[0] == "exits":
		fmt.Fprintf(&b, "%d\n", m.exits.Load())
	default:
		return "", fmt.Errorf("unknown monitor command %q (try help): %w", f[0], guest.ErrUnsupported)
	}
	return b.String(), nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// GuestRAMResident reports how many bytes of guest RAM are resident in
// this process (mincore(2)); guest RAM is mapped lazily, so it is what
// the guest and the loader touched. `ukw run --stats` subtracts it from
// the peak RSS to tell the VMM's own memory.
func (m *Machine) GuestRAMResident() (uint64, error) {
	var n uint64
	err := m.call(false, func() (err error) {
		if m.v == nil || m.v.mem == nil {
			return guest.ErrFinished
		}
		n, err = residentBytes(m.v.mem)
		return err
	})
	return n, err
}

// Exits reports how many times KVM_RUN returned so far (guest exits,
// kicks included): each is a round trip through the host kernel and this
// process, the cost that the CONSOLE hypercall and the absent irqchip cut.
func (m *Machine) Exits() uint64 { return m.exits.Load() }
