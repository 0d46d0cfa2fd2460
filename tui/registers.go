package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/guest"
	"ukw/session"
)

// RegistersPane shows the selected frame's registers; those changed since
// the previous stop are marked "*" and highlighted, and rflags is decoded.
// After a crash it shows the registers of the fault (lib/panic's record).
type RegistersPane struct {
	Common
	regs     guest.Regs
	have     bool
	stale    bool
	fault    bool // regs are a fault's
	frame    int
	snapRegs guest.Regs
	changed  map[guest.Reg]bool
	list     list
}

// NewRegistersPane returns an empty registers pane.
func NewRegistersPane(c Common) *RegistersPane { return &RegistersPane{Common: c} }

// Title implements Component.
func (p *RegistersPane) Title() string { return "Registers" }

// Info implements Component.
func (p *RegistersPane) Info() string {
	switch {
	case !p.have:
		return ""
	case p.stale:
		return "last stop"
	case p.fault:
		return "at the fault"
	case p.frame > 0:
		return fmt.Sprintf("frame #%d", p.frame)
	}
	return ""
}

// Capturing implements Component.
func (p *RegistersPane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *RegistersPane) ShortHelp() []key.Binding { return []key.Binding{p.Keys.Up, p.Keys.Down} }

// FullHelp implements help.KeyMap.
func (p *RegistersPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *RegistersPane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.list.set(len(p.rows()), h)
}

// Update implements Component.
func (p *RegistersPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.FaultEvent:
		if msg.Fault.Regs != (guest.Regs{}) {
			p.have, p.stale, p.frame, p.fault = true, false, 0, true
			p.regs, p.changed = msg.Fault.Regs, nil
		}
	case session.StopEvent:
		p.have, p.stale, p.frame, p.fault = true, false, 0, false
		p.regs, p.snapRegs = msg.Snap.Regs, msg.Snap.Regs
		p.changed = map[guest.Reg]bool{}
		for _, r := range msg.Snap.Changed {
			p.changed[r] = true
		}
	case session.FrameEvent:
		p.have, p.frame, p.regs = true, msg.Index, msg.Regs
	case session.StateEvent:
		switch {
		case msg.State == session.StateStopped:
			p.stale = false
		case msg.State == session.StateFaulted && p.fault:
		case p.have:
			p.stale = true
		}
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case is(msg, p.Keys.Up):
			p.list.scroll(-1)
		case is(msg, p.Keys.Down):
			p.list.scroll(1)
		case is(msg, p.Keys.PageUp), is(msg, p.Keys.Home):
			p.list.scroll(-p.Height)
		case is(msg, p.Keys.PageDown), is(msg, p.Keys.End):
			p.list.scroll(p.Height)
		}
	}
	p.list.set(len(p.rows()), p.Height)
	return nil
}

const regCell = 28 // "fs_base 0x0000000000000246 *"

func (p *RegistersPane) cell(r guest.Reg) string {
	v := p.regs.Get(r)
	val := fmt.Sprintf("0x%016x", v)
	if r >= guest.CS && r <= guest.GS {
		val = fmt.Sprintf("0x%04x", v)
	}
	s := fmt.Sprintf("%-7s %s", r, val)
	if p.frame == 0 && p.changed[r] {
		return p.Styles.Changed.Render(s + " *")
	}
	return s + "  "
}

// rows lays the registers out row-major in as many columns as fit; the
// decoded rflags gets a row of its own.
func (p *RegistersPane) rows() []string {
	if !p.have {
		return nil
	}
	cols := max(1, (p.Width+1)/(regCell+1))
	var rows, cells []string
	flush := func() {
		if len(cells) > 0 {
			rows = append(rows, strings.TrimRight(strings.Join(cells, " "), " "))
			cells = cells[:0]
		}
	}
	for r := guest.Reg(0); r < guest.NumRegs; r++ {
		cells = append(cells, fit(p.cell(r), regCell))
		if len(cells) == cols {
			flush()
		}
		if r == guest.RFLAGS {
			flush()
			rows = append(rows, "        "+guest.FlagsString(p.regs.RFLAGS))
		}
	}
	flush()
	return rows
}

// View implements Component.
func (p *RegistersPane) View() string {
	if !p.have {
		return block([]string{p.Styles.Dim.Render("no registers: the guest has not stopped")}, p.Width, p.Height)
	}
	rows := p.rows()
	from, to := p.list.offset, min(p.list.offset+p.Height, len(rows))
	return block(rows[from:to], p.Width, p.Height)
}
