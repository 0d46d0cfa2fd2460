package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// DefaultTraceRows is how many trace records the Trace pane keeps.
const DefaultTraceRows = 10000

// traceRow is one row of the Trace pane: a record, or a separator between
// two guests (sep set).
type traceRow struct {
	rec session.TraceRecord
	sep string
}

// TracePane is a live tail of the guest's trace ring (session.TraceEvent):
// tracepoints and function entries and exits, indented by call depth. `/`
// filters by name, `t` hides function entries and exits, enter shows the
// record's source line in the source pane.
type TracePane struct {
	Common
	rows    []traceRow
	max     int
	shown   []int // indexes into rows that pass the filter
	list    list
	follow  bool
	filter  string
	before  string // the filter when editing began (esc restores it)
	points  bool   // tracepoints only
	editing bool
	input   textinput.Model

	total, dropped uint64
	ended          bool
	warning        string
	boots          int // StateBooting events seen
}

// NewTracePane returns an empty trace pane keeping up to max rows
// (DefaultTraceRows when max <= 0).
func NewTracePane(c Common, max int) *TracePane {
	if max <= 0 {
		max = DefaultTraceRows
	}
	return &TracePane{Common: c, max: max, follow: true, input: newInput(c.Styles, "filter: ")}
}

// Title implements Component.
func (p *TracePane) Title() string { return "Trace" }

// Info implements Component.
func (p *TracePane) Info() string {
	if p.total == 0 && len(p.rows) == 0 {
		return ""
	}
	s := fmt.Sprintf("%d records", p.total)
	if p.dropped > 0 {
		s += fmt.Sprintf(", %d dropped", p.dropped)
	}
	if p.filter != "" {
		s += " /" + p.filter
	}
	if p.points {
		s += " points"
	}
	if p.ended {
		s += " (ended)"
	}
	if !p.follow {
		s += " (scrolled)"
	}
	return s
}

// Capturing implements Component.
func (p *TracePane) Capturing() bool { return p.editing }

// ShortHelp implements help.KeyMap.
func (p *TracePane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Search, p.Keys.PointsOnly, p.Keys.Enter, p.Keys.End}
}

// FullHelp implements help.KeyMap.
func (p *TracePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *TracePane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.input.Width = max(w-len(p.input.Prompt)-1, 1)
	p.relist()
}

// bodyH is the number of rows for records (one less while editing the filter).
func (p *TracePane) bodyH() int {
	if p.editing {
		return max(p.Height-1, 1)
	}
	return p.Height
}

// relist sets the list's size and, when following, moves to the end.
func (p *TracePane) relist() {
	p.list.set(len(p.shown), p.bodyH())
	if p.follow {
		p.list.move(len(p.shown))
	}
}

// match reports whether a row passes the filter (separators always do).
func (p *TracePane) match(r traceRow) bool {
	if r.sep != "" {
		return true
	}
	if p.points && r.rec.Kind != session.TracePoint {
		return false
	}
	return p.filter == "" || strings.Contains(strings.ToLower(r.rec.Name), strings.ToLower(p.filter))
}

// refilter rebuilds the shown rows, keeping the cursor on the same record when it can.
func (p *TracePane) refilter() {
	at := -1
	if p.list.cursor < len(p.shown) {
		at = p.shown[p.list.cursor]
	}
	p.shown = p.shown[:0]
	cur := 0
	for i, r := range p.rows {
		if p.match(r) {
			if i <= at {
				cur = len(p.shown)
			}
			p.shown = append(p.shown, i)
		}
	}
	p.list.cursor = cur
	p.relist()
}

func (p *TracePane) add(r traceRow) {
	p.rows = append(p.rows, r)
	if p.match(r) {
		p.shown = append(p.shown, len(p.rows)-1)
	}
}

// trim drops the oldest rows beyond max (a quarter at a time, so appends stay cheap).
func (p *TracePane) trim() {
	if len(p.rows) <= p.max+p.max/4 {
		return
	}
	cut := len(p.rows) - p.max
	n := copy(p.rows, p.rows[cut:]) // in place: the slice keeps its capacity
	clear(p.rows[n:])
	p.rows = p.rows[:n]
	cursor := p.list.cursor
	kept := p.shown[:0]
	for _, i := range p.shown {
		if i >= cut {
			kept = append(kept, i-cut)
		} else {
			cursor--
		}
	}
	p.shown = kept
	p.list.cursor = max(cursor, 0)
}

// Update implements Component.
func (p *TracePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.TraceEvent:
		for _, r := range msg.Records {
			p.add(traceRow{rec: r})
		}
		p.trim()
		p.total, p.dropped = msg.Total, msg.Dropped
		if msg.Final {
			p.ended = true
		}
		if msg.Warning != "" {
			p.warning = msg.Warning
		}
		p.relist()
	case session.StateEvent:
		if msg.State == session.StateBooting {
			if p.boots > 0 && len(p.rows) > 0 && p.rows[len(p.rows)-1].sep == "" {
				p.add(traceRow{sep: separator(msg.Detail)})
				p.relist()
			}
			p.boots++
			p.total, p.dropped, p.ended, p.warning = 0, 0, false, ""
		}
	case ClickMsg:
		p.list.cursor = p.list.offset + msg.Y
		p.list.clamp()
		p.follow = false
		return p.jump()
	case ScrollMsg:
		p.list.scroll(msg.Delta)
		p.follow = p.list.cursor >= len(p.shown)-1
	case tea.KeyMsg:
		if p.editing {
			return p.edit(msg)
		}
		switch {
		case is(msg, p.Keys.Search):
			p.editing, p.before = true, p.filter
			p.input.SetValue(p.filter)
			p.input.CursorEnd()
			p.relist()
			return p.input.Focus()
		case is(msg, p.Keys.PointsOnly):
			p.points = !p.points
			p.refilter()
		case is(msg, p.Keys.Enter):
			return p.jump()
		case p.list.nav(p.Keys, msg):
			p.follow = p.list.cursor >= len(p.shown)-1
		}
	}
	return nil
}

// edit handles keys while the filter is typed: it applies as it is typed,
// enter keeps it, esc restores the previous one.
func (p *TracePane) edit(msg tea.KeyMsg) tea.Cmd {
	switch {
	case is(msg, p.Keys.Escape):
		p.editing = false
		p.input.Blur()
		p.filter = p.before
		p.refilter()
		return nil
	case is(msg, p.Keys.Execute):
		p.editing = false
		p.input.Blur()
		p.refilter()
		return nil
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	p.filter = p.input.Value()
	p.refilter()
	return cmd
}

// jump asks the source pane to show the record under the cursor.
func (p *TracePane) jump() tea.Cmd {
	if p.list.cursor >= len(p.shown) {
		return nil
	}
	r := p.rows[p.shown[p.list.cursor]]
	if r.sep != "" || r.rec.File == "" {
		return nil
	}
	file, line := r.rec.File, max(r.rec.Line, 1)
	return func() tea.Msg { return JumpMsg{File: file, Line: line} }
}

// Filter returns the name filter and whether only tracepoints are shown.
func (p *TracePane) Filter() (string, bool) { return p.filter, p.points }

// View implements Component.
func (p *TracePane) View() string {
	st := p.Styles
	var out []string
	if len(p.rows) == 0 {
		msg := "no trace records: build with lib/trace (UKW_TRACE) or lib/ftrace (-finstrument-functions)"
		if p.warning != "" {
			msg = "trace ring: " + p.warning
		}
		out = append(out, st.Dim.Render(msg))
	} else if len(p.shown) == 0 {
		out = append(out, st.Dim.Render(fmt.Sprintf("no record matches /%s", p.filter)))
	}
	from, to := p.list.visible()
	for i := from; i < to; i++ {
		r := p.rows[p.shown[i]]
		cursor := p.Focused && i == p.list.cursor
		mark := " "
		if cursor {
			mark = ">"
		}
		if r.sep != "" {
			out = append(out, mark+st.Dim.Render(r.sep))
			continue
		}
		line := mark + p.rowText(r.rec)
		if cursor {
			line = st.Cursor.Render(fit(stripStyles(line), p.Width))
		}
		out = append(out, line)
	}
	if p.editing {
		for len(out) < p.Height-1 {
			out = append(out, "")
		}
		out = append(out, p.input.View())
	}
	return block(out, p.Width, p.Height)
}

// maxTraceIndent bounds the indentation of deep calls.
const maxTraceIndent = 12

// rowText is "+1.234ms   → work  main.c:44": time since the guest's first
// record, indentation by depth, the kind (• tracepoint, → entry, ← exit),
// the name, a tracepoint's text, and the source file and line.
func (p *TracePane) rowText(r session.TraceRecord) string {
	st := p.Styles
	t := "+" + shortDuration(r.At, r.Ticks)
	indent := strings.Repeat(" ", min(max(r.Depth, 0), maxTraceIndent))
	var body string
	switch r.Kind {
	case session.TracePoint:
		body = "• " + st.Note.Render(clean(r.Name))
		if r.Text != "" {
			body += " " + clean(r.Text)
		}
	case session.TraceEnter:
		body = "→ " + clean(r.Name)
	case session.TraceExit:
		body = st.Dim.Render("← " + clean(r.Name))
	default:
		body = "? " + clean(r.Name)
	}
	s := fmt.Sprintf("%-10s ", t) + indent + body
	if r.File != "" {
		s += "  " + st.Dim.Render(fmt.Sprintf("%s:%d", clean(filepath.Base(r.File)), r.Line))
	}
	return s
}

// shortDuration prints a record's time compactly ("12.3ms", "1.234s"), or
// its ticks when the TSC rate is unknown.
func shortDuration(d time.Duration, ticks uint64) string {
	switch {
	case d == 0 && ticks != 0:
		return fmt.Sprintf("%dtk", ticks)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// separator is the row between two guests' output: "── reboot: hello.img ──".
func separator(image string) string {
	if image == "" {
		return "── reboot ──"
	}
	return "── reboot: " + clean(image) + " ──"
}
