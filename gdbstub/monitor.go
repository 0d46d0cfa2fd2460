package gdbstub

import (
	"fmt"
	"strings"

	"ukw/guest"
)

// qRcmd runs a monitor command (gdb's `monitor CMD`; GDB manual, E.4
// ‘qRcmd,command’): the command arrives hex-encoded, output goes back in
// 'O' packets, then "OK".
func (s *server) qRcmd(pkt []byte) ([]byte, error) {
	raw, err := hexDecode(pkt[len("qRcmd,"):])
	if err != nil {
		return errReply(errInval), nil
	}
	out, err := s.monitor(strings.TrimSpace(string(raw)))
	if err != nil {
		out += "error: " + err.Error() + "\n"
	}
	if out != "" {
		if err := s.send(append([]byte{'O'}, hexEncode([]byte(out))...)); err != nil {
			return nil, err
		}
		s.out = s.out[:0]
	}
	return []byte("OK"), nil
}

const monitorHelp = `ukw monitor commands:
  regs     all registers of the selected vCPU, control and debug registers too
  caps     what this backend can do (breakpoint and watchpoint strategies)
  vga      the VGA text screen
  reboot   restart the guest from its image
  help     this text
Other commands go to the backend's own monitor when it has one.
`

func (s *server) monitor(cmd string) (string, error) {
	name, _, _ := strings.Cut(cmd, " ")
	switch name {
	case "", "help":
		return monitorHelp, nil
	case "regs":
		r, err := s.m.Regs(s.cpuFor(s.gCPU))
		if err != nil {
			return "", err
		}
		return FormatRegs(&r), nil
	case "caps":
		return FormatCaps(s.m.Caps(), s.m.NumCPU()), nil
	case "vga":
		v, ok := s.m.(guest.VGAReader)
		if !ok {
			return "", fmt.Errorf("this backend (%s) cannot read the VGA screen", s.m.Caps().Backend)
		}
		lines, err := v.VGAText()
		if err != nil {
			return "", err
		}
		return strings.Join(lines, "\n") + "\n", nil
	case "reboot":
		rb, ok := s.m.(guest.Rebooter)
		if !ok {
			return "", fmt.Errorf("this backend (%s) cannot reboot", s.m.Caps().Backend)
		}
		if err := rb.Reboot(); err != nil {
			return "", err
		}
		return "rebooted\n", nil
	}
	if mon, ok := s.m.(guest.Monitor); ok {
		return mon.Monitor(cmd)
	}
	return "", fmt.Errorf("unknown monitor command %q (try `monitor help`)", cmd)
}

// FormatRegs renders a register set the way `monitor regs` prints it.
func FormatRegs(r *guest.Regs) string {
	var b strings.Builder
	for reg := guest.Reg(0); reg < guest.NumRegs; reg++ {
		fmt.Fprintf(&b, "%-8s 0x%016x", reg, r.Get(reg))
		if reg == guest.RFLAGS {
			b.WriteString(" " + guest.FlagsString(r.RFLAGS))
		}
		b.WriteByte('\n')
	}
	for _, sg := range []struct {
		name string
		seg  guest.Segment
	}{{"cs", r.CS}, {"ds", r.DS}, {"es", r.ES}, {"fs", r.FS}, {"gs", r.GS}, {"ss", r.SS}, {"tr", r.TR}, {"ldtr", r.LDTR}} {
		fmt.Fprintf(&b, "%-4s sel 0x%04x base 0x%016x limit 0x%08x attr %#x\n", sg.name, sg.seg.Selector, sg.seg.Base, sg.seg.Limit, sg.seg.Attr)
	}
	fmt.Fprintf(&b, "gdt  base 0x%016x limit 0x%04x\nidt  base 0x%016x limit 0x%04x\n", r.GDTBase, r.GDTLimit, r.IDTBase, r.IDTLimit)
	return b.String()
}

// FormatCaps renders capabilities the way `monitor caps` prints them.
func FormatCaps(c guest.Caps, cpus int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "backend:          %s\n", c.Backend)
	fmt.Fprintf(&b, "hypervisor:       %s\n", c.Hypervisor)
	fmt.Fprintf(&b, "vCPUs:            %d\n", cpus)
	fmt.Fprintf(&b, "hw breakpoints:   %d\n", c.HWBreakpoints)
	fmt.Fprintf(&b, "sw breakpoints:   %v (%s)\n", c.SWBreakpoints, c.SWBreakStrategy)
	ws := c.WatchStrategy
	if ws == "" {
		ws = "none: use `set can-use-hw-watchpoints 0` for gdb's software watchpoints"
	}
	fmt.Fprintf(&b, "watchpoints:      %v (%s)\n", c.Watchpoints, ws)
	fmt.Fprintf(&b, "single-step:      %v\n", c.SingleStep)
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
