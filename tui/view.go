package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"ukw/session"
)

// tab is the span of a pane's name in a slot's title bar, for mouse clicks.
type tab struct{ id, from, to int }

// tabs returns where each pane's name sits in slot s's title bar.
func (m *Model) tabs(s slot, _ int) []tab {
	var out []tab
	x := s.x + 2
	for _, id := range s.panes {
		name := m.tabName(s, id)
		out = append(out, tab{id, x, x + len(name)})
		x += len(name) + 1
	}
	return out
}

func (m *Model) tabName(s slot, id int) string {
	name := m.panes[id].Title()
	if len(s.panes) > 1 && m.shown(s) == id {
		return "[" + name + "]"
	}
	return name
}

// header renders a slot's title bar: "─ Source ─ hello.c:12 ───", the
// focused pane's bar drawn with "═", tabs listed when the slot holds several.
func (m *Model) header(s slot) string {
	st := m.styles
	shown := m.shown(s)
	focused := !m.cmdFocus && m.focus == shown
	fill, style := "─", st.Header
	if focused {
		fill, style = "═", st.HeaderFocused
	}
	var names []string
	for _, id := range s.panes {
		n := m.tabName(s, id)
		if len(s.panes) > 1 {
			if id == shown {
				n = st.TabActive.Render(n)
			} else {
				n = st.Tab.Render(n)
			}
		}
		names = append(names, n)
	}
	h := style.Render(fill+" ") + strings.Join(names, " ")
	if info := m.panes[shown].Info(); info != "" {
		h += style.Render(" "+fill+" ") + clean(info)
	}
	h += " "
	if w := ansi.StringWidth(h); w < s.w {
		h += style.Render(strings.Repeat(fill, s.w-w))
	}
	return fit(h, s.w)
}

// View implements tea.Model.
func (m *Model) View() string {
	w, h := m.lay.width, m.lay.height
	if w == 0 {
		return ""
	}
	if m.lay.mainH == 0 {
		return block([]string{fmt.Sprintf("terminal too small for ukw: %dx%d, need %dx%d", w, h, minW, minH)}, w, h)
	}
	if m.showHelp {
		return m.helpView() + "\n" + m.cmd.view() + "\n" + m.statusLine()
	}
	var main string
	{
		blocks := make([][]string, len(m.lay.slots))
		for i, s := range m.lay.slots {
			body := m.panes[m.shown(s)].View()
			blocks[i] = append([]string{m.header(s)}, strings.Split(body, "\n")...)
			for len(blocks[i]) < s.h {
				blocks[i] = append(blocks[i], strings.Repeat(" ", s.w))
			}
		}
		main = m.lay.compose(blocks, m.styles.Separator.Render("│"))
	}
	return main + "\n" + m.msgs.view(m.styles, w, m.lay.msgH) + "\n" + m.cmd.view() + "\n" + m.statusLine()
}

// helpView is the `?` screen, built from the KeyMap: one column per group,
// as many columns side by side as the width allows.
func (m *Model) helpView() string {
	st := m.styles
	lines := []string{st.HeaderFocused.Render("ukw workbench keys") + st.Dim.Render("  (esc or ? to close)")}
	var row []string // the column block being filled
	rowW := 0
	flush := func() {
		lines = append(lines, "")
		lines = append(lines, row...)
		row, rowW = nil, 0
	}
	for _, group := range m.keys.FullHelp() {
		kw, dw := 0, 0
		for _, b := range group {
			kw = max(kw, ansi.StringWidth(b.Help().Key))
			dw = max(dw, ansi.StringWidth(b.Help().Desc))
		}
		colW := kw + 1 + dw + 3
		if rowW > 0 && rowW+colW > m.lay.width {
			flush()
		}
		for i, b := range group {
			cell := st.Help.FullKey.Render(fit(b.Help().Key, kw)) + " " + st.Help.FullDesc.Render(fit(b.Help().Desc, dw+3))
			for len(row) <= i {
				row = append(row, strings.Repeat(" ", rowW))
			}
			row[i] = fit(row[i], rowW) + cell
		}
		rowW += colW
	}
	flush()
	lines = append(lines, "",
		st.HeaderFocused.Render("commands")+" (after :)",
		"  break/b LOC  tbreak LOC  hbreak LOC  delete/d [N]  continue/c  step/s  next/n",
		"  stepi/si  nexti/ni  finish  interrupt  print/p EXPR  x/NFU EXPR  watch EXPR",
		"  frame/f N  bt  info breakpoints|registers|frame|locals|args|layers",
		"  list FILE  disassemble  layers  layer NAME  rebuild  reboot  quit/q",
		"  LOC is a function, file.c:LINE, LINE or *ADDRESS",
		"",
		st.HeaderFocused.Render("panes")+" (Tab, shift+Tab, mouse or 1-9, 0)",
		"  1 Source  2 Registers  3 Backtrace  4 Locals  5 Memory  6 Console  7 Build  8 Layers",
		"  9 Trace (/ filter, t points only, enter: source)  0 Profile (r start/stop, +/- length)")
	h := m.lay.mainH + m.lay.msgH
	m.helpOff = min(m.helpOff, max(len(lines)-h, 0))
	lines = lines[m.helpOff:]
	if len(lines) > h {
		lines = append(lines[:h-1], st.Dim.Render("  ↓ more: ↓/pgdn to scroll"))
	}
	return block(lines, m.lay.width, h)
}

// statusLine shows the state, the last reload's timeline and the help hint.
func (m *Model) statusLine() string {
	st := m.styles
	state := m.state
	if state < 0 || int(state) >= len(st.StatusState) {
		state = session.StateIdle // an unknown state from a newer session
	}
	badge := st.StatusState[state].Render(" " + strings.ToUpper(state.String()) + " ")
	if m.ended {
		badge = st.StatusState[session.StateFailed].Render(" ENDED ")
	}
	parts := []string{}
	if m.building && m.state != session.StateBuilding {
		parts = append(parts, "building…")
	}
	if m.timeline != nil {
		parts = append(parts, timelineString(*m.timeline))
	}
	if m.detail != "" {
		parts = append(parts, clean(m.detail))
	}
	right := "? help"
	mid := " " + strings.Join(parts, " │ ")
	room := m.lay.width - ansi.StringWidth(badge) - len(right) - 1
	mid = fit(mid, max(room, 0))
	return badge + st.StatusBar.Render(mid+" "+right)
}

// timelineString formats a reload: "save→running 180 ms: build 120, boot 4,
// attach 2" (the total also counts the watcher's debounce, Timeline.Detect).
func timelineString(t session.Timeline) string {
	return fmt.Sprintf("save→running %d ms: build %d, boot %d, attach %d",
		t.Total.Milliseconds(), t.Build.Milliseconds(), t.Boot.Milliseconds(), t.Attach.Milliseconds())
}
