package tui

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"ukw/session"
)

// Common is embedded by every pane: the shared styles and keys, the pane's
// size (of its body, without the title bar), whether it has the focus, and
// the function that sends a command to the session.
type Common struct {
	Styles  *Styles
	Keys    *KeyMap
	Width   int
	Height  int
	Focused bool
	Send    func(session.Command)
}

// SetSize sets the size of the pane's body.
func (c *Common) SetSize(width, height int) {
	c.Width, c.Height = max(width, 0), max(height, 0)
}

// SetFocus tells the pane whether it has the keyboard focus.
func (c *Common) SetFocus(f bool) { c.Focused = f }

func (c *Common) send(cmd session.Command) {
	if c.Send != nil {
		c.Send(cmd)
	}
}

// Component is one pane, a Bubble Tea sub-model in soft-serve's manner.
// Update receives keys (when focused), mouse clicks translated to the body
// (ClickMsg) and every session.Event; it changes the pane in place.
// View returns exactly Height lines of at most Width cells.
type Component interface {
	help.KeyMap
	Title() string // the pane name shown in the title bar ("Source")
	Info() string  // a short state shown after the title ("hello.c:12"), may be ""
	SetSize(width, height int)
	SetFocus(bool)
	Update(msg tea.Msg) tea.Cmd
	View() string
	// Capturing reports that the pane edits text (a search or goto prompt)
	// and wants every key, global ones included.
	Capturing() bool
}

// ClickMsg is a left click on a pane's body, in body coordinates.
type ClickMsg struct{ X, Y int }

// ScrollMsg is a mouse-wheel turn over a pane (negative: up).
type ScrollMsg struct{ Delta int }

// JumpMsg asks the source pane to show File at Line (from the build pane).
type JumpMsg struct {
	File string
	Line int
}

// clean makes untrusted text (guest output, compiler messages, source
// lines) safe to put on a terminal: escape sequences and control characters
// are dropped, tabs expanded to 8 columns, invalid UTF-8 replaced.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch {
		case r == '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			// dropped: control characters, including ESC of escape sequences
		default:
			b.WriteRune(r)
			col++
		}
	}
	return b.String()
}

// fit truncates s (which may hold styles) to w cells and pads it with spaces to exactly w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// block returns lines as exactly h lines of exactly w cells, joined by newlines.
func block(lines []string, w, h int) string {
	if h <= 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		b.WriteString(fit(l, w))
	}
	return b.String()
}

// wrap splits plain text into lines of at most w cells (hard wrap).
func wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = clean(line)
		for ansi.StringWidth(line) > w {
			head := ansi.Truncate(line, w, "")
			if i := strings.LastIndexByte(head, ' '); i > len(head)/2 {
				head = head[:i+1] // break after a space when one is near the end
			}
			out = append(out, strings.TrimRight(head, " "))
			line = line[len(head):]
		}
		out = append(out, line)
	}
	return out
}

// list is the cursor and scroll state of a pane showing rows.
type list struct {
	cursor, offset, n, height int
}

// set records the number of rows and the visible height, keeping the cursor in range.
func (l *list) set(n, height int) {
	l.n, l.height = n, max(height, 1)
	l.clamp()
}

func (l *list) clamp() {
	l.cursor = min(max(l.cursor, 0), max(l.n-1, 0))
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+l.height {
		l.offset = l.cursor - l.height + 1
	}
	l.offset = min(max(l.offset, 0), max(l.n-l.height, 0))
}

// move moves the cursor by d rows.
func (l *list) move(d int) { l.cursor += d; l.clamp() }

// center puts the cursor on row i, scrolled to the middle of the view.
func (l *list) center(i int) {
	l.cursor = i
	l.offset = i - l.height/2
	l.clamp()
}

// scroll moves the view (and the cursor with it) by d rows.
func (l *list) scroll(d int) {
	l.offset = min(max(l.offset+d, 0), max(l.n-l.height, 0))
	l.cursor = min(max(l.cursor, l.offset), l.offset+l.height-1)
	l.clamp()
}

// nav handles the navigation keys; it reports whether msg was one.
func (l *list) nav(k *KeyMap, msg tea.KeyMsg) bool {
	switch {
	case is(msg, k.Up):
		l.move(-1)
	case is(msg, k.Down):
		l.move(1)
	case is(msg, k.PageUp):
		l.move(-l.height)
	case is(msg, k.PageDown):
		l.move(l.height)
	case is(msg, k.Home):
		l.move(-l.n)
	case is(msg, k.End):
		l.move(l.n)
	default:
		return false
	}
	return true
}

// visible returns the range of rows on screen.
func (l *list) visible() (from, to int) {
	return l.offset, min(l.offset+l.height, l.n)
}

// is reports whether the key msg matches binding b.
func is(msg tea.KeyMsg, b key.Binding) bool { return key.Matches(msg, b) }

// itoa formats a decimal number.
func itoa(n int) string { return strconv.Itoa(n) }

// stripStyles removes escape sequences, so a row can be restyled whole.
func stripStyles(s string) string { return ansi.Strip(s) }

// newInput returns a one-line text input styled for the workbench, with a
// steady cursor (no blinking timer: frames change only when state does).
func newInput(st *Styles, prompt string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.PromptStyle = st.Prompt
	in.TextStyle = st.Prompt.UnsetBold().UnsetForeground()
	in.Cursor.Style = st.Cursor
	in.Cursor.TextStyle = in.TextStyle
	in.PlaceholderStyle = st.Dim
	in.Cursor.SetMode(cursor.CursorStatic)
	return in
}
