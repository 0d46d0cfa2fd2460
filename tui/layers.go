package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// LayersPane lists the layer catalog with the app's selection ("[x]").
// Enter or space toggles the layer under the cursor (ToggleLayer, which
// rewrites ukw.yaml and rebuilds); a selection that does not resolve is
// explained right under the layer that was toggled.
type LayersPane struct {
	Common
	layers  []session.Layer
	problem string
	toggled string
	waiting bool
	have    bool
	list    list
}

// NewLayersPane returns an empty layers pane.
func NewLayersPane(c Common) *LayersPane { return &LayersPane{Common: c} }

// Title implements Component.
func (p *LayersPane) Title() string { return "Layers" }

// Info implements Component.
func (p *LayersPane) Info() string {
	n := 0
	for _, l := range p.layers {
		if l.Selected {
			n++
		}
	}
	switch {
	case p.problem != "":
		return "conflict"
	case p.have:
		return itoa(n) + "/" + itoa(len(p.layers)) + " selected"
	}
	return ""
}

// Capturing implements Component.
func (p *LayersPane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *LayersPane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Up, p.Keys.Down, p.Keys.Toggle}
}

// FullHelp implements help.KeyMap.
func (p *LayersPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *LayersPane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.list.set(len(p.layers), max(h-p.extraRows(), 1))
}

// Update implements Component.
func (p *LayersPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.LayersEvent:
		p.layers, p.problem, p.have, p.waiting = msg.Layers, msg.Problem, true, false
		if p.problem == "" {
			p.toggled = ""
		}
		p.list.set(len(p.layers), max(p.Height-p.extraRows(), 1))
	case ClickMsg:
		if i := p.rowLayer(msg.Y); i >= 0 {
			p.list.cursor = i
			p.toggle()
		}
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case p.list.nav(p.Keys, msg):
		case is(msg, p.Keys.Enter), is(msg, p.Keys.Toggle):
			p.toggle()
		}
	}
	return nil
}

func (p *LayersPane) toggle() {
	if p.list.cursor >= len(p.layers) {
		return
	}
	p.toggled = p.layers[p.list.cursor].Name
	p.waiting = true
	p.send(session.ToggleLayer{Name: p.toggled})
}

// problemLines is the conflict explanation, wrapped to the pane.
func (p *LayersPane) problemLines() []string {
	if p.problem == "" {
		return nil
	}
	return wrap("✗ "+p.problem, max(p.Width-4, 8))
}

// extraRows is how many rows are not layers (the problem, the cursor's details).
func (p *LayersPane) extraRows() int { return len(p.problemLines()) + 1 }

// lines renders every row; layerAt maps a row to its layer (-1 for the others).
func (p *LayersPane) lines() (out []string, layerAt []int) {
	st := p.Styles
	probIdx := -1
	for i, l := range p.layers {
		if l.Name == p.toggled {
			probIdx = i
		}
	}
	addProblem := func() {
		for _, l := range p.problemLines() {
			out = append(out, "    "+st.Error.Render(l))
			layerAt = append(layerAt, -1)
		}
	}
	from, to := p.list.visible()
	if probIdx < from || probIdx >= to {
		probIdx = -1
		addProblem()
	}
	for i := from; i < to; i++ {
		l := p.layers[i]
		box := "[ ]"
		if l.Selected {
			box = "[x]"
		}
		if p.waiting && l.Name == p.toggled {
			box = "[~]"
		}
		line := box + " " + clean(l.Name)
		if l.Description != "" {
			line += "  " + st.Dim.Render(clean(l.Description))
		}
		if p.Focused && i == p.list.cursor {
			line = st.Cursor.Render(fit(stripStyles(line), p.Width))
		}
		out = append(out, line)
		layerAt = append(layerAt, i)
		if i == p.list.cursor && p.Focused {
			var d []string
			if len(l.Provides) > 0 {
				d = append(d, "provides "+strings.Join(l.Provides, ", "))
			}
			if len(l.Requires) > 0 {
				d = append(d, "requires "+strings.Join(l.Requires, ", "))
			}
			if len(l.Conflicts) > 0 {
				d = append(d, "conflicts "+strings.Join(l.Conflicts, ", "))
			}
			if len(d) > 0 {
				out = append(out, "    "+st.Dim.Render(clean(strings.Join(d, " · "))))
				layerAt = append(layerAt, -1)
			}
		}
		if i == probIdx {
			addProblem()
		}
	}
	return out, layerAt
}

func (p *LayersPane) rowLayer(y int) int {
	_, at := p.lines()
	if y >= 0 && y < len(at) {
		return at[y]
	}
	return -1
}

// View implements Component.
func (p *LayersPane) View() string {
	if !p.have {
		return block([]string{p.Styles.Dim.Render("no layer catalog yet")}, p.Width, p.Height)
	}
	out, _ := p.lines()
	return block(out, p.Width, p.Height)
}
