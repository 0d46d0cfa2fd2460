package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// MemoryPane is a hex + ASCII dump at an address expression ("$rsp" by
// default), re-read at every stop. Bytes changed since the previous stop
// are highlighted (and their rows marked "*"), 8-byte words pointing at a
// symbol are annotated, and the view pages through memory.
type MemoryPane struct {
	Common
	expr    string
	ev      session.MemoryEvent
	have    bool
	asked   bool
	stale   bool
	editing bool
	input   textinput.Model
}

// NewMemoryPane returns a memory pane that follows the stack pointer.
func NewMemoryPane(c Common) *MemoryPane {
	in := newInput(c.Styles, "go to: ")
	return &MemoryPane{Common: c, expr: "$rsp", input: in}
}

// Title implements Component.
func (p *MemoryPane) Title() string { return "Memory" }

// Info implements Component.
func (p *MemoryPane) Info() string {
	s := p.expr
	if p.have && p.ev.Err == "" && fmt.Sprintf("%#x", p.ev.Addr) != p.expr {
		s += fmt.Sprintf(" = %#x", p.ev.Addr)
	}
	if p.stale {
		s += " (last stop)"
	}
	return s
}

// Capturing implements Component.
func (p *MemoryPane) Capturing() bool { return p.editing }

// ShortHelp implements help.KeyMap.
func (p *MemoryPane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Goto, p.Keys.PageUp, p.Keys.PageDown, p.Keys.Up, p.Keys.Down}
}

// FullHelp implements help.KeyMap.
func (p *MemoryPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// perRow is how many bytes a row shows at this width.
func (p *MemoryPane) perRow() int {
	for _, n := range []int{16, 8} {
		if 16+2+n*3+1+n <= p.Width {
			return n
		}
	}
	return 4
}

func (p *MemoryPane) length() int { return p.perRow() * max(p.Height, 1) }

// SetSize implements Component.
func (p *MemoryPane) SetSize(w, h int) {
	old := p.length()
	p.Common.SetSize(w, h)
	p.input.Width = max(w-len(p.input.Prompt)-1, 1)
	if p.asked && p.length() != old {
		p.read() // the first stop may come before the first size
	}
}

// read asks for the memory at the current expression.
func (p *MemoryPane) read() {
	p.asked = true
	p.send(session.ReadMemory{Expr: p.expr, Len: p.length()})
}

// Update implements Component.
func (p *MemoryPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.StopEvent:
		p.stale = false
		p.read()
	case session.FrameEvent:
		if strings.Contains(p.expr, "$") { // registers differ per frame
			p.read()
		}
	case session.StateEvent:
		if msg.State != session.StateStopped && p.have {
			p.stale = true
		}
	case session.MemoryEvent:
		if msg.Err == "" || !p.have || p.ev.Err != "" {
			p.ev = msg
		} else {
			p.ev.Err = msg.Err // keep the last good dump under the error
		}
		p.have = true
	case ScrollMsg:
		p.move(msg.Delta * p.perRow())
	case tea.KeyMsg:
		if p.editing {
			return p.edit(msg)
		}
		switch {
		case is(msg, p.Keys.Goto):
			p.editing = true
			p.input.SetValue("")
			return p.input.Focus()
		case is(msg, p.Keys.Up):
			p.move(-p.perRow())
		case is(msg, p.Keys.Down):
			p.move(p.perRow())
		case is(msg, p.Keys.PageUp):
			p.move(-p.length())
		case is(msg, p.Keys.PageDown):
			p.move(p.length())
		}
	}
	return nil
}

func (p *MemoryPane) edit(msg tea.KeyMsg) tea.Cmd {
	switch {
	case is(msg, p.Keys.Escape):
		p.editing = false
		p.input.Blur()
	case is(msg, p.Keys.Execute):
		p.editing = false
		p.input.Blur()
		if e := strings.TrimSpace(p.input.Value()); e != "" {
			p.GoTo(e)
		}
	default:
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		return cmd
	}
	return nil
}

// GoTo shows memory at an address, symbol or register expression.
func (p *MemoryPane) GoTo(expr string) {
	p.expr = expr
	p.read()
}

// move pages the view by d bytes from the address shown.
func (p *MemoryPane) move(d int) {
	if !p.have || p.ev.Err != "" && len(p.ev.Data) == 0 {
		return
	}
	a := p.ev.Addr
	if d < 0 && uint64(-d) > a {
		a = 0
	} else {
		a += uint64(d)
	}
	p.GoTo(fmt.Sprintf("%#x", a))
}

// View implements Component.
func (p *MemoryPane) View() string {
	st := p.Styles
	var out []string
	switch {
	case !p.have:
		out = []string{st.Dim.Render("no memory: the guest has not stopped")}
	default:
		if p.ev.Err != "" {
			for _, l := range wrap("memory: "+p.ev.Err, p.Width) {
				out = append(out, st.Error.Render(l))
			}
		}
		n := p.perRow()
		for off := 0; off < len(p.ev.Data) && len(out) < p.Height; off += n {
			out = append(out, p.row(off, n))
		}
	}
	if p.editing {
		h := max(p.Height-1, 0)
		out = append(out[:min(len(out), h)], make([]string, max(h-len(out), 0))...)
		out = append(out, p.input.View())
	}
	return block(out, p.Width, p.Height)
}

// row renders n bytes at offset off: address, change mark, hex, ASCII, symbols.
func (p *MemoryPane) row(off, n int) string {
	st := p.Styles
	data := p.ev.Data[off:min(off+n, len(p.ev.Data))]
	addr := p.ev.Addr + uint64(off)
	var hex, asc strings.Builder
	changed := false
	for i := 0; i < n; i++ {
		if i >= len(data) {
			hex.WriteString("   ")
			continue
		}
		b := data[i]
		h := fmt.Sprintf("%02x", b)
		c := "."
		if b >= 0x20 && b < 0x7f {
			c = string(rune(b))
		}
		if j := off + i; j < len(p.ev.Prev) && len(p.ev.Prev) == len(p.ev.Data) && p.ev.Prev[j] != b {
			changed = true
			h, c = st.Changed.Render(h), st.Changed.Render(c)
		}
		hex.WriteString(h + " ")
		asc.WriteString(c)
	}
	mark := " "
	if changed {
		mark = st.Changed.Render("*")
	}
	line := fmt.Sprintf("%016x%s %s %s", addr, mark, hex.String(), asc.String())
	var syms []string
	for a := (addr + 7) &^ 7; a < addr+uint64(len(data)); a += 8 {
		if s, ok := p.ev.Symbols[a]; ok {
			syms = append(syms, clean(s))
		}
	}
	if len(syms) > 0 {
		line += " " + st.Note.Render("→ "+strings.Join(syms, ", "))
	}
	return line
}
