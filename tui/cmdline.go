package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// maxMessages caps the messages area.
const maxMessages = 1000

// commandLine is the gdb-style prompt with history; a line that does not
// parse keeps its text and shows the error inline.
type commandLine struct {
	st      *Styles
	keys    *KeyMap
	input   textinput.Model
	history []string
	hist    int    // index into history while browsing; len(history) when not
	draft   string // what was typed before browsing the history
	err     string
	width   int
}

func newCommandLine(st *Styles, keys *KeyMap) *commandLine {
	return &commandLine{st: st, keys: keys, input: newInput(st, "(ukw) ")}
}

func (c *commandLine) setWidth(w int) {
	c.width = w
	c.input.Width = max(w-len(c.input.Prompt)-1, 1)
}

func (c *commandLine) focus() tea.Cmd { c.hist = len(c.history); return c.input.Focus() }
func (c *commandLine) blur()          { c.input.Blur() }

// update handles a key; it returns the parsed command when Enter
// produced one, and echo is the line to show in the messages.
func (c *commandLine) update(msg tea.KeyMsg) (cmd session.Command, echo string, tc tea.Cmd) {
	switch {
	case is(msg, c.keys.HistoryPrev):
		if c.hist > 0 {
			if c.hist == len(c.history) {
				c.draft = c.input.Value()
			}
			c.hist--
			c.input.SetValue(c.history[c.hist])
			c.input.CursorEnd()
		}
		return nil, "", nil
	case is(msg, c.keys.HistoryNext):
		if c.hist < len(c.history) {
			c.hist++
			if c.hist == len(c.history) {
				c.input.SetValue(c.draft)
			} else {
				c.input.SetValue(c.history[c.hist])
			}
			c.input.CursorEnd()
		}
		return nil, "", nil
	case is(msg, c.keys.Execute):
		line := strings.TrimSpace(c.input.Value())
		if line == "" {
			return nil, "", nil
		}
		parsed, err := session.ParseCommand(line)
		if err != nil {
			c.err = err.Error()
			return nil, "", nil
		}
		if len(c.history) == 0 || c.history[len(c.history)-1] != line {
			c.history = append(c.history, line)
		}
		c.hist, c.draft, c.err = len(c.history), "", ""
		c.input.SetValue("")
		return parsed, line, nil
	case msg.String() == ":" && c.input.Value() == "":
		return nil, "", nil // the key that focuses the line, pressed again
	}
	c.err = ""
	c.input, tc = c.input.Update(msg)
	return nil, "", tc
}

func (c *commandLine) view() string {
	if !c.input.Focused() && c.input.Value() == "" && c.err == "" {
		return c.st.Dim.Render(fit("(ukw) press : for commands, ? for help", c.width))
	}
	v := c.input.View()
	if c.err != "" {
		v = c.input.Prompt + c.input.Value() + "  " + c.st.Error.Render("✗ "+clean(c.err))
		if c.input.Focused() {
			v = c.st.Prompt.Render(c.input.Prompt) + c.input.Value() + c.st.Cursor.Render(" ") + " " + c.st.Error.Render("✗ "+clean(c.err))
		}
	}
	return fit(v, c.width)
}

// message is one line of the messages area.
type message struct {
	text  string
	style int // 0 plain, 1 error, 2 note, 3 echo
}

// messages is the area above the command line: command echoes, OutputEvent
// text, errors and log notes, newest last.
type messages struct {
	lines  []message
	scroll int // lines scrolled up from the bottom
}

func (m *messages) add(style int, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		m.lines = append(m.lines, message{text: clean(l), style: style})
	}
	if over := len(m.lines) - maxMessages; over > 0 {
		m.lines = append(m.lines[:0], m.lines[over:]...)
	}
	m.scroll = 0
}

func (m *messages) view(st *Styles, w, h int) string {
	end := max(len(m.lines)-m.scroll, 0)
	start := max(end-h, 0)
	styles := [...]func(...string) string{st.Dim.UnsetForeground().Render, st.Error.Render, st.Note.Render, st.Dim.Render}
	var out []string
	for _, l := range m.lines[start:end] {
		out = append(out, styles[l.style](l.text))
	}
	for len(out) < h { // newest at the bottom, next to the prompt
		out = append([]string{""}, out...)
	}
	return block(out, w, h)
}
