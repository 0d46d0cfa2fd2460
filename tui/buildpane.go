package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// buildRow is a row of the build pane; diag is set on a diagnostic.
type buildRow struct {
	text  string
	style int // 0 plain, 1 error, 2 warning, 3 note, 4 dim
	diag  *session.Diagnostic
}

// BuildPane shows the last build: status, duration, counts, and the
// compiler's errors and warnings. Enter on one jumps the source pane there.
type BuildPane struct {
	Common
	last     session.BuildEvent
	have     bool
	building bool
	trigger  []string
	rows     []buildRow
	list     list
}

// NewBuildPane returns an empty build pane.
func NewBuildPane(c Common) *BuildPane {
	p := &BuildPane{Common: c}
	p.layout()
	return p
}

// Title implements Component.
func (p *BuildPane) Title() string { return "Build" }

// Info implements Component.
func (p *BuildPane) Info() string {
	switch {
	case p.building:
		return "building…"
	case !p.have:
		return ""
	case p.last.Phase == session.BuildFailed:
		return "FAILED"
	}
	return "ok"
}

// Capturing implements Component.
func (p *BuildPane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *BuildPane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Up, p.Keys.Down, p.Keys.Enter, p.Keys.Rebuild}
}

// FullHelp implements help.KeyMap.
func (p *BuildPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *BuildPane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.layout()
}

// Update implements Component.
func (p *BuildPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.BuildEvent:
		if msg.Phase == session.BuildStarted {
			p.building, p.trigger = true, msg.Trigger
		} else {
			p.building, p.have, p.last = false, true, msg
			p.list.cursor = 0
		}
		p.layout()
		if msg.Phase == session.BuildFailed {
			p.firstDiag()
		}
	case ClickMsg:
		p.list.cursor = p.list.offset + msg.Y
		p.list.clamp()
		return p.jump()
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case p.list.nav(p.Keys, msg):
		case is(msg, p.Keys.Enter):
			return p.jump()
		}
	}
	return nil
}

func (p *BuildPane) firstDiag() {
	for i, r := range p.rows {
		if r.diag != nil {
			p.list.cursor = i
			p.list.clamp()
			return
		}
	}
}

// jump asks the source pane to show the diagnostic under the cursor.
func (p *BuildPane) jump() tea.Cmd {
	if p.list.cursor >= len(p.rows) || p.rows[p.list.cursor].diag == nil {
		return nil
	}
	d := p.rows[p.list.cursor].diag
	return func() tea.Msg { return JumpMsg{File: d.File, Line: d.Line} }
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// layout rebuilds the rows from the last build.
func (p *BuildPane) layout() {
	p.rows = p.rows[:0]
	add := func(style int, text string) {
		for _, l := range wrap(text, max(p.Width, 1)) {
			p.rows = append(p.rows, buildRow{text: l, style: style})
		}
	}
	if p.building {
		t := "building…"
		if len(p.trigger) > 0 {
			names := make([]string, len(p.trigger))
			for i, f := range p.trigger {
				names[i] = filepath.Base(f)
			}
			t += " (" + strings.Join(names, ", ") + " changed)"
		}
		add(3, t)
	}
	b := p.last
	switch {
	case !p.have && !p.building:
		add(4, "no build yet")
	case !p.have:
	case b.Phase == session.BuildOK:
		add(0, fmt.Sprintf("ok in %s: %d compiled, %d cached, %s", ms(b.Duration), b.Compiled, b.Cached, sizeString(int64(b.ImageBytes))))
	default:
		errs, warns := 0, 0
		for _, d := range b.Diagnostics {
			switch d.Severity {
			case "error":
				errs++
			case "warning":
				warns++
			}
		}
		add(1, fmt.Sprintf("FAILED in %s: %d errors, %d warnings", ms(b.Duration), errs, warns))
		if b.Error != "" {
			add(1, b.Error)
		}
	}
	for i := range b.Diagnostics {
		d := &b.Diagnostics[i]
		loc := filepath.Base(d.File)
		if d.Line > 0 {
			loc += fmt.Sprintf(":%d", d.Line)
			if d.Col > 0 {
				loc += fmt.Sprintf(":%d", d.Col)
			}
		}
		style := map[string]int{"error": 1, "warning": 2}[d.Severity]
		if style == 0 {
			style = 3
		}
		p.rows = append(p.rows, buildRow{text: clean(d.Severity + " " + loc + ": " + d.Message), style: style, diag: d})
	}
	if b.Phase == session.BuildFailed && len(b.Diagnostics) == 0 && b.Output != "" {
		for _, l := range strings.Split(strings.TrimRight(b.Output, "\n"), "\n") {
			add(4, l)
		}
	}
	p.list.set(len(p.rows), p.Height)
}

// View implements Component.
func (p *BuildPane) View() string {
	st := p.Styles
	styles := [...]func(...string) string{st.Dim.UnsetForeground().Render, st.Error.Render, st.Warning.Render, st.Note.Render, st.Dim.Render}
	var out []string
	from, to := p.list.visible()
	for i := from; i < to; i++ {
		r := p.rows[i]
		if p.Focused && i == p.list.cursor {
			out = append(out, st.Cursor.Render(fit(r.text, p.Width)))
			continue
		}
		out = append(out, styles[r.style](r.text))
	}
	return block(out, p.Width, p.Height)
}
