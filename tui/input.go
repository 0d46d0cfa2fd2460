package tui

import (
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// key handles a key press: help screen, command line, a pane's prompt,
// global keys, then the focused pane, in that order.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
		// Keys typed faster than the terminal is read arrive as one
		// message (":b main"): take them one at a time, as typed.
		var cmds []tea.Cmd
		for _, r := range msg.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
		}
		return tea.Batch(cmds...)
	}
	k := m.keys
	if m.showHelp {
		switch {
		case is(msg, k.Escape) || is(msg, k.Help) || is(msg, k.Quit):
			m.showHelp = false
		case is(msg, k.Down):
			m.helpOff++
		case is(msg, k.Up):
			m.helpOff = max(m.helpOff-1, 0)
		case is(msg, k.PageDown):
			m.helpOff += m.lay.mainH
		case is(msg, k.PageUp):
			m.helpOff = max(m.helpOff-m.lay.mainH, 0)
		}
		return nil
	}
	fkey := isFKey(msg) // function keys stay global everywhere
	if m.cmdFocus && !fkey {
		switch {
		case is(msg, k.Escape):
			m.cmdFocus = false
			m.cmd.blur()
		case msg.Type == tea.KeyPgUp:
			m.msgs.scroll = min(m.msgs.scroll+m.lay.msgH, max(len(m.msgs.lines)-m.lay.msgH, 0))
		case msg.Type == tea.KeyPgDown:
			m.msgs.scroll = max(m.msgs.scroll-m.lay.msgH, 0)
		default:
			parsed, echo, tc := m.cmd.update(msg)
			if parsed != nil {
				return m.execute(parsed, echo)
			}
			return tc
		}
		return nil
	}
	p := m.panes[m.focus]
	if p.Capturing() && !fkey {
		return p.Update(msg)
	}
	switch {
	case is(msg, k.Quit):
		return m.quit()
	case is(msg, k.Help):
		m.showHelp, m.helpOff = true, 0
	case is(msg, k.NextPane):
		m.setFocus((m.focus + 1) % numPanes)
	case is(msg, k.PrevPane):
		m.setFocus((m.focus + numPanes - 1) % numPanes)
	case is(msg, k.FocusPane):
		m.setFocus(focusKeyPane(msg.Runes[0]))
	case is(msg, k.CommandLine):
		m.cmdFocus = true
		return m.cmd.focus()
	case is(msg, k.Search) && m.focus != paneConsole && m.focus != paneTrace:
		m.setFocus(paneConsole)
		return m.console.Update(msg)
	case is(msg, k.Continue):
		m.send(session.Continue{})
	case is(msg, k.Next):
		m.send(session.Next{})
	case is(msg, k.Step):
		m.send(session.Step{})
	case is(msg, k.Finish):
		m.send(session.Finish{})
	case is(msg, k.StepInstr):
		m.send(session.StepInstr{})
	case is(msg, k.NextInstr):
		m.send(session.NextInstr{})
	case is(msg, k.Interrupt):
		m.send(session.Interrupt{})
	case is(msg, k.Rebuild):
		m.send(session.Rebuild{})
	case is(msg, k.Reboot):
		m.send(session.Reboot{})
	case is(msg, k.ToggleBreak):
		c, err := m.src.BreakAtCursor()
		if err != nil {
			m.msgs.add(1, err.Error())
			return nil
		}
		m.send(c)
	default:
		return p.Update(msg)
	}
	return nil
}

// execute runs a parsed command line.
func (m *Model) execute(c session.Command, echo string) tea.Cmd {
	m.msgs.add(3, "(ukw) "+echo)
	switch c := c.(type) {
	case session.Quit:
		return m.quit()
	case session.ListLayers:
		m.setFocus(paneLayers)
		m.cmdFocus = true // keep typing
		m.send(c)
	case session.Disassemble:
		m.src.ShowAsm()
	default:
		m.send(c)
	}
	return nil
}

// mouse focuses the pane (or tab) clicked and scrolls the one under the wheel.
func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	if m.showHelp || msg.Action != tea.MouseActionPress {
		return nil
	}
	if msg.Y == m.lay.mainH+m.lay.msgH && msg.Button == tea.MouseButtonLeft {
		m.cmdFocus = true
		return m.cmd.focus()
	}
	i := m.lay.slotAt(msg.X, msg.Y)
	if i < 0 {
		return nil
	}
	s := m.lay.slots[i]
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		return m.panes[m.shown(s)].Update(ScrollMsg{Delta: -3})
	case tea.MouseButtonWheelDown:
		return m.panes[m.shown(s)].Update(ScrollMsg{Delta: 3})
	case tea.MouseButtonLeft:
		if msg.Y == s.y {
			for _, t := range m.tabs(s, i) {
				if msg.X >= t.from && msg.X < t.to {
					m.setFocus(t.id)
					return nil
				}
			}
		}
		id := m.shown(s)
		m.setFocus(id)
		if msg.Y > s.y {
			return m.panes[id].Update(ClickMsg{X: msg.X - s.x, Y: msg.Y - s.y - 1})
		}
	}
	return nil
}

// focusKeyPane maps a digit key to its pane: 1-9 in order, 0 the tenth.
func focusKeyPane(r rune) int {
	if r == '0' {
		return 9
	}
	return int(r - '1')
}

// isFKey reports a function key (F1-F20).
func isFKey(msg tea.KeyMsg) bool {
	s := msg.String()
	return len(s) >= 2 && s[0] == 'f' && s[1] >= '1' && s[1] <= '9'
}
