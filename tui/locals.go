package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// varRow is one visible row of the locals tree: a section header or a variable.
type varRow struct {
	header string
	depth  int
	path   string
	v      session.Var
}

// LocalsPane shows the arguments and locals of the selected frame as a
// tree; structs and arrays (Var.Children) expand and collapse, and stay so
// across stops.
type LocalsPane struct {
	Common
	vars  []session.Var
	have  bool
	stale bool
	fault bool // vars are frame #0's at a fault
	frame int
	open  map[string]bool
	rows  []varRow
	list  list
}

// NewLocalsPane returns an empty locals pane.
func NewLocalsPane(c Common) *LocalsPane { return &LocalsPane{Common: c, open: map[string]bool{}} }

// Title implements Component.
func (p *LocalsPane) Title() string { return "Locals" }

// Info implements Component.
func (p *LocalsPane) Info() string {
	switch {
	case p.stale:
		return "last stop"
	case p.fault:
		return "at the fault"
	case p.have:
		return "frame #" + itoa(p.frame)
	}
	return ""
}

// Capturing implements Component.
func (p *LocalsPane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *LocalsPane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Up, p.Keys.Down, p.Keys.Toggle, p.Keys.Left, p.Keys.Right}
}

// FullHelp implements help.KeyMap.
func (p *LocalsPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *LocalsPane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.list.set(len(p.rows), h)
}

// Update implements Component.
func (p *LocalsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.StopEvent:
		p.vars, p.have, p.stale, p.frame, p.fault = msg.Snap.Vars, true, false, msg.Snap.Selected, false
		p.flatten()
	case session.FaultEvent:
		if len(msg.Vars) > 0 {
			p.vars, p.have, p.stale, p.frame, p.fault = msg.Vars, true, false, 0, true
			p.list.cursor = 0
			p.flatten()
		}
	case session.FrameEvent:
		p.vars, p.have, p.frame = msg.Vars, true, msg.Index
		p.list.cursor = 0
		p.flatten()
	case session.StateEvent:
		if msg.State != session.StateStopped && p.have && !(p.fault && msg.State == session.StateFaulted) {
			p.stale = true
		}
	case ClickMsg:
		p.list.cursor = p.list.offset + msg.Y
		p.list.clamp()
		p.toggle(!p.isOpen())
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case p.list.nav(p.Keys, msg):
		case is(msg, p.Keys.Enter), is(msg, p.Keys.Toggle):
			p.toggle(!p.isOpen())
		case is(msg, p.Keys.Right):
			p.toggle(true)
		case is(msg, p.Keys.Left):
			if p.isOpen() {
				p.toggle(false)
			} else {
				p.toParent()
			}
		}
	}
	return nil
}

func (p *LocalsPane) current() (varRow, bool) {
	if p.list.cursor < len(p.rows) {
		return p.rows[p.list.cursor], true
	}
	return varRow{}, false
}

func (p *LocalsPane) isOpen() bool {
	r, ok := p.current()
	return ok && p.open[r.path]
}

// toggle expands or collapses the variable under the cursor.
func (p *LocalsPane) toggle(open bool) {
	r, ok := p.current()
	if !ok || r.header != "" || len(r.v.Children) == 0 {
		return
	}
	if open {
		p.open[r.path] = true
	} else {
		delete(p.open, r.path)
	}
	p.flatten()
}

func (p *LocalsPane) toParent() {
	r, ok := p.current()
	if !ok || r.depth == 0 {
		return
	}
	for i := p.list.cursor - 1; i >= 0; i-- {
		if p.rows[i].depth < r.depth && p.rows[i].header == "" {
			p.list.cursor = i
			p.list.clamp()
			return
		}
	}
}

var varSections = [...]string{session.VarArg: "args", session.VarLocal: "locals", session.VarGlobal: "globals"}

// flatten rebuilds the visible rows from the variables and the expansion state.
func (p *LocalsPane) flatten() {
	p.rows = p.rows[:0]
	for kind := session.VarArg; kind <= session.VarGlobal; kind++ {
		first := true
		for _, v := range p.vars {
			if v.Kind != kind {
				continue
			}
			if first {
				p.rows = append(p.rows, varRow{header: varSections[kind]})
				first = false
			}
			p.add(v, 0, varSections[kind])
		}
	}
	p.list.set(len(p.rows), p.Height)
}

func (p *LocalsPane) add(v session.Var, depth int, parent string) {
	path := parent + "/" + v.Name
	p.rows = append(p.rows, varRow{depth: depth, path: path, v: v})
	if p.open[path] {
		for _, c := range v.Children {
			p.add(c, depth+1, path)
		}
	}
}

// View implements Component.
func (p *LocalsPane) View() string {
	switch {
	case !p.have:
		return block([]string{p.Styles.Dim.Render("no locals: the guest has not stopped")}, p.Width, p.Height)
	case len(p.rows) == 0:
		return block([]string{p.Styles.Dim.Render("no arguments or locals in this frame")}, p.Width, p.Height)
	}
	var out []string
	from, to := p.list.visible()
	for i := from; i < to; i++ {
		r := p.rows[i]
		var line string
		if r.header != "" {
			line = p.Styles.Dim.Render(r.header + ":")
		} else {
			icon := " "
			if len(r.v.Children) > 0 {
				icon = "▸"
				if p.open[r.path] {
					icon = "▾"
				}
			}
			line = strings.Repeat("  ", r.depth+1) + icon + " " + clean(r.v.Name) + " = " + clean(r.v.Value)
			if r.v.Type != "" {
				line += "  " + p.Styles.Dim.Render(clean(r.v.Type))
			}
		}
		if p.Focused && i == p.list.cursor {
			line = p.Styles.Cursor.Render(fit(stripStyles(line), p.Width))
		}
		out = append(out, line)
	}
	return block(out, p.Width, p.Height)
}
