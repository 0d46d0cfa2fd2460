package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// ConsolePane shows the guest's serial output with a capped scrollback and
// search, or (toggled with v) the VGA text screen read from guest memory.
type ConsolePane struct {
	Common
	sb        *scrollback
	follow    bool
	top       int // absolute line at the top of the view when not following
	searching bool
	input     textinput.Model
	pattern   string
	match     int // absolute line of the current match, -1 when none
	matchInfo string
	vga       vgaScreen
	boots     int // StateBooting events seen: a separator marks each guest after the first
}

// NewConsolePane returns a console pane keeping up to scrollback lines.
func NewConsolePane(c Common, scrollback int) *ConsolePane {
	return &ConsolePane{Common: c, sb: newScrollback(scrollback), follow: true, match: -1, input: newInput(c.Styles, "/")}
}

// Title implements Component.
func (p *ConsolePane) Title() string { return "Console" }

// Info implements Component.
func (p *ConsolePane) Info() string {
	if p.vga.shown {
		return "VGA text"
	}
	s := "serial " + sizeString(p.sb.bytes)
	if p.pattern != "" {
		s += " /" + p.pattern + " " + p.matchInfo
	}
	if !p.follow {
		s += " (scrolled)"
	}
	return s
}

// Capturing implements Component.
func (p *ConsolePane) Capturing() bool { return p.searching }

// ShortHelp implements help.KeyMap.
func (p *ConsolePane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Search, p.Keys.SearchNext, p.Keys.SearchPrev, p.Keys.ToggleVGA, p.Keys.End}
}

// FullHelp implements help.KeyMap.
func (p *ConsolePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *ConsolePane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.input.Width = max(w-2, 1)
}

// Bytes returns how many console bytes the pane has received.
func (p *ConsolePane) Bytes() int64 { return p.sb.bytes }

// Update implements Component.
func (p *ConsolePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.ConsoleEvent:
		p.sb.Write(msg.Data)
		if !p.follow && p.top < p.sb.first() {
			p.top = p.sb.first()
		}
	case session.StateEvent:
		if msg.State == session.StateBooting {
			if p.boots > 0 {
				p.sb.mark(separator(msg.Detail))
			}
			p.boots++
		}
	case session.StopEvent:
		if p.vga.shown {
			p.readVGA()
		}
	case session.MemoryEvent:
		p.vga.set(msg)
	case ScrollMsg:
		p.scroll(msg.Delta)
	case tea.KeyMsg:
		if p.searching {
			return p.edit(msg)
		}
		switch {
		case is(msg, p.Keys.Search):
			p.searching = true
			p.input.SetValue("")
			return p.input.Focus()
		case is(msg, p.Keys.SearchNext):
			p.find(p.match+1, 1)
		case is(msg, p.Keys.SearchPrev):
			p.find(p.match-1, -1)
		case is(msg, p.Keys.ToggleVGA):
			p.vga.shown = !p.vga.shown
			if p.vga.shown {
				p.readVGA()
			}
		case is(msg, p.Keys.Up):
			p.scroll(-1)
		case is(msg, p.Keys.Down):
			p.scroll(1)
		case is(msg, p.Keys.PageUp):
			p.scroll(-p.Height)
		case is(msg, p.Keys.PageDown):
			p.scroll(p.Height)
		case is(msg, p.Keys.Home):
			p.follow, p.top = false, p.sb.first()
		case is(msg, p.Keys.End):
			p.follow = true
		}
	}
	return nil
}

func (p *ConsolePane) readVGA() {
	p.vga.pending = true
	p.send(session.ReadMemory{Expr: fmt.Sprintf("%#x", vgaAddr), Len: vgaBytes})
}

func (p *ConsolePane) edit(msg tea.KeyMsg) tea.Cmd {
	switch {
	case is(msg, p.Keys.Escape):
		p.searching = false
		p.input.Blur()
	case is(msg, p.Keys.Execute):
		p.searching = false
		p.input.Blur()
		p.pattern = p.input.Value()
		p.match = -1
		if p.pattern != "" {
			p.find(p.sb.end()-1, -1) // the most recent match
		}
	default:
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		return cmd
	}
	return nil
}

// viewTop returns the absolute line at the top of the view.
func (p *ConsolePane) viewTop() int {
	if p.follow {
		return max(p.sb.end()-p.Height, p.sb.first())
	}
	return p.top
}

func (p *ConsolePane) scroll(d int) {
	top := min(max(p.viewTop()+d, p.sb.first()), max(p.sb.end()-p.Height, p.sb.first()))
	p.top = top
	p.follow = top >= p.sb.end()-p.Height
}

// matcher returns a smart-case matcher for the pattern: case-insensitive
// unless the pattern has an upper-case letter.
func (p *ConsolePane) matcher() func(string) bool {
	pat := p.pattern
	if strings.ToLower(pat) == pat {
		return func(s string) bool { return strings.Contains(strings.ToLower(s), pat) }
	}
	return func(s string) bool { return strings.Contains(s, pat) }
}

// find moves to the first match at or after line from (dir 1) or at or before it (dir -1).
func (p *ConsolePane) find(from, dir int) {
	if p.pattern == "" {
		return
	}
	m := p.matcher()
	first, end := p.sb.first(), p.sb.end()
	from = min(max(from, first), end-1)
	found := -1
	for a := from; a >= first && a < end; a += dir {
		if m(p.sb.line(a)) {
			found = a
			break
		}
	}
	total, nth := 0, 0
	for a := first; a < end; a++ {
		if m(p.sb.line(a)) {
			total++
			if a <= found {
				nth++
			}
		}
	}
	if found < 0 {
		p.matchInfo = fmt.Sprintf("no match (%d)", total)
		return
	}
	p.match = found
	p.matchInfo = fmt.Sprintf("%d/%d", nth, total)
	p.follow = false
	p.top = max(min(found-p.Height/2, end-p.Height), first)
}

// View implements Component.
func (p *ConsolePane) View() string {
	if p.vga.shown {
		return block(p.vga.view(p.Styles), p.Width, p.Height)
	}
	h := p.Height
	if p.searching {
		h--
	}
	var out []string
	if p.sb.end() == 0 {
		out = append(out, p.Styles.Dim.Render("no console output yet"))
	}
	m := p.matcher()
	top := p.viewTop()
	if p.searching && p.follow {
		top = max(p.sb.end()-h, p.sb.first())
	}
	for a := top; a < p.sb.end() && len(out) < h; a++ {
		l := p.sb.line(a)
		if p.pattern != "" && m(l) {
			l = p.highlight(l, a == p.match)
		}
		out = append(out, l)
	}
	if p.searching {
		for len(out) < h {
			out = append(out, "")
		}
		out = append(out, p.input.View())
	}
	return block(out, p.Width, p.Height)
}

// highlight marks every occurrence of the pattern in l; the current match's
// line also gets a "▶" in its first column.
func (p *ConsolePane) highlight(l string, current bool) string {
	low, pat := l, p.pattern
	if strings.ToLower(pat) == pat {
		low = strings.ToLower(l)
		if len(low) != len(l) {
			low, pat = l, "" // case folding changed the length: do not mark
		}
	}
	var b strings.Builder
	for {
		i := strings.Index(low, pat)
		if i < 0 || pat == "" {
			b.WriteString(l)
			break
		}
		b.WriteString(l[:i])
		b.WriteString(p.Styles.Match.Render(l[i : i+len(pat)]))
		l, low = l[i+len(pat):], low[i+len(pat):]
	}
	if current {
		return "▶" + b.String()
	}
	return b.String()
}

// sizeString formats a byte count: "512 B", "12.3 KiB", "4.0 MiB".
func sizeString(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
