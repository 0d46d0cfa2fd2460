package tui

import (
	"fmt"
	"path/filepath"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// BacktracePane lists the symbolized frames; inline frames are marked, the
// selected frame carries "=>". Enter selects the frame under the cursor
// (SelectFrame), which moves source, locals and registers to it.
type BacktracePane struct {
	Common
	frames   []session.Frame
	selected int
	stale    bool
	fault    bool
	list     list
}

// NewBacktracePane returns an empty backtrace pane.
func NewBacktracePane(c Common) *BacktracePane { return &BacktracePane{Common: c} }

// Title implements Component.
func (p *BacktracePane) Title() string { return "Backtrace" }

// Info implements Component.
func (p *BacktracePane) Info() string {
	switch {
	case len(p.frames) == 0:
		return ""
	case p.fault:
		return "crash"
	case p.stale:
		return "last stop"
	}
	return fmt.Sprintf("%d frames", len(p.frames))
}

// Capturing implements Component.
func (p *BacktracePane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *BacktracePane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Up, p.Keys.Down, p.Keys.Enter}
}

// FullHelp implements help.KeyMap.
func (p *BacktracePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *BacktracePane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.list.set(len(p.frames), h)
}

// Selected returns the index of the selected frame.
func (p *BacktracePane) Selected() int { return p.selected }

// Update implements Component.
func (p *BacktracePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.StopEvent:
		p.frames, p.selected, p.stale, p.fault = msg.Snap.Frames, msg.Snap.Selected, false, false
		p.list.set(len(p.frames), p.Height)
		p.list.center(p.selected)
	case session.FaultEvent:
		p.frames, p.selected, p.stale, p.fault = msg.Frames, 0, false, true
		p.list.set(len(p.frames), p.Height)
		p.list.center(0)
	case session.FrameEvent:
		p.selected = msg.Index
		p.list.cursor = msg.Index
		p.list.clamp()
	case session.StateEvent:
		if msg.State != session.StateStopped && msg.State != session.StateFaulted && len(p.frames) > 0 {
			p.stale = true
		}
	case ClickMsg:
		if i := p.list.offset + msg.Y; i < len(p.frames) {
			p.list.cursor = i
			p.choose()
		}
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case p.list.nav(p.Keys, msg):
		case is(msg, p.Keys.Enter), is(msg, p.Keys.Toggle):
			p.choose()
		}
	}
	return nil
}

// choose selects the frame under the cursor.
func (p *BacktracePane) choose() {
	if p.list.cursor < len(p.frames) && !p.stale && !p.fault {
		p.send(session.SelectFrame{Index: p.frames[p.list.cursor].Index})
	}
}

// frameText is "#1  main+12 at hello.c:12" (gdb's spelling, inline frames marked).
func frameText(f session.Frame) string {
	fn := "??"
	if f.Function != "" {
		fn = f.Function
		if f.Offset != 0 {
			fn += fmt.Sprintf("+%d", f.Offset)
		}
	}
	s := fmt.Sprintf("#%-2d ", f.Index)
	if f.Inlined {
		s += "[inline] "
	}
	s += clean(fn)
	if f.File != "" {
		s += fmt.Sprintf(" at %s:%d", clean(filepath.Base(f.File)), f.Line)
	} else {
		s += fmt.Sprintf(" (%#x)", f.PC)
	}
	return s
}

// View implements Component.
func (p *BacktracePane) View() string {
	if len(p.frames) == 0 {
		return block([]string{p.Styles.Dim.Render("no frames: the guest has not stopped")}, p.Width, p.Height)
	}
	var out []string
	from, to := p.list.visible()
	for i := from; i < to; i++ {
		f := p.frames[i]
		mark := "  "
		if f.Index == p.selected {
			mark = "=>"
		}
		line := mark + frameText(f)
		switch {
		case p.Focused && i == p.list.cursor:
			line = p.Styles.Cursor.Render(fit(line, p.Width))
		case f.Index == p.selected:
			line = p.Styles.CurrentLine.Render(line)
		case f.Inlined:
			line = p.Styles.Note.Render(line)
		}
		out = append(out, line)
	}
	return block(out, p.Width, p.Height)
}
