package tui

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"ukw/session"
)

// location is where the selected frame executes.
type location struct {
	file string
	line int
	pc   uint64
	fn   string
	off  uint64
	ok   bool // false while the guest runs
}

// asmRow is one row of the mixed source/assembly view: a source line
// header (addr unset) or an instruction.
type asmRow struct {
	src  bool
	file string
	line int
	asm  session.AsmLine
}

// SourcePane shows the selected frame's source file with the current line
// marked ("=>") and a breakpoint gutter ("●"), or a mixed source/assembly
// listing around the PC.
type SourcePane struct {
	Common
	files   map[string][]string
	errs    map[string]string
	pending map[string]bool
	file    string
	want    int // the line to centre once file's text arrives (0: none)
	exec    location
	bps     []session.Breakpoint
	asm     bool
	dis     session.DisasmEvent
	rows    []asmRow
	wantDis bool
	list    list
	hscroll int
}

// NewSourcePane returns an empty source pane.
func NewSourcePane(c Common) *SourcePane {
	return &SourcePane{Common: c, files: map[string][]string{}, errs: map[string]string{}, pending: map[string]bool{}}
}

// Title implements Component.
func (p *SourcePane) Title() string { return "Source" }

// Info implements Component.
func (p *SourcePane) Info() string {
	s := ""
	if p.file != "" {
		s = filepath.Base(p.file)
		if !p.asm {
			s += ":" + strconv.Itoa(p.list.cursor+1)
		}
	}
	if p.asm {
		s = strings.TrimSpace(s + " [asm]")
	}
	return s
}

// Capturing implements Component.
func (p *SourcePane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *SourcePane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.ToggleBreak, p.Keys.ToggleAsm, p.Keys.Up, p.Keys.Down}
}

// FullHelp implements help.KeyMap.
func (p *SourcePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *SourcePane) SetSize(w, h int) {
	first := p.Height <= 1
	p.Common.SetSize(w, h)
	p.list.set(p.rowCount(), h)
	if first {
		p.list.center(p.list.cursor) // events may come before the first size
	}
}

func (p *SourcePane) rowCount() int {
	if p.asm {
		return len(p.rows)
	}
	return len(p.files[p.file])
}

// Update implements Component.
func (p *SourcePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.StopEvent:
		if s := msg.Snap; s.Selected >= 0 && s.Selected < len(s.Frames) {
			p.follow(s.Frames[s.Selected])
		} else {
			p.follow(session.Frame{PC: s.PC})
		}
	case session.FrameEvent:
		p.follow(msg.Frame)
	case session.FaultEvent:
		if len(msg.Frames) > 0 {
			p.follow(msg.Frames[0])
		}
	case session.StateEvent:
		if msg.State != session.StateStopped && msg.State != session.StateFaulted {
			p.exec.ok = false
		}
	case session.SourceEvent:
		delete(p.pending, msg.File)
		if msg.Err != "" {
			p.errs[msg.File] = msg.Err
		} else {
			p.files[msg.File] = msg.Lines
			delete(p.errs, msg.File)
		}
		if msg.File == p.file {
			p.list.set(p.rowCount(), p.Height)
			switch {
			case p.want > 0 && !p.asm:
				p.list.center(p.want - 1)
			case p.exec.ok && sameFile(p.exec.file, p.file) && !p.asm:
				p.list.center(p.exec.line - 1)
			case p.list.cursor > 0:
				p.list.center(p.list.cursor)
			}
			p.want = 0
		}
		if p.asm {
			p.buildRows()
		}
	case session.DisasmEvent:
		p.wantDis = false
		p.dis = msg
		p.buildRows()
	case session.BreakpointsEvent:
		p.bps = msg.List
	case session.BuildEvent:
		if msg.Phase != session.BuildStarted {
			p.invalidate(msg.Trigger)
		}
	case JumpMsg:
		p.asm = false
		p.show(msg.File, msg.Line)
	case ClickMsg:
		p.list.cursor = p.list.offset + msg.Y
		p.list.clamp()
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case p.list.nav(p.Keys, msg):
		case is(msg, p.Keys.ToggleAsm):
			p.asm = !p.asm
			if p.asm {
				p.requestDisasm()
				p.buildRows()
			} else {
				p.list.set(p.rowCount(), p.Height)
				if p.exec.ok && sameFile(p.exec.file, p.file) {
					p.list.center(p.exec.line - 1)
				}
			}
		case is(msg, p.Keys.Left):
			p.hscroll = max(p.hscroll-8, 0)
		case is(msg, p.Keys.Right):
			p.hscroll += 8
		}
	}
	return nil
}

// invalidate forgets the text of files that changed on disk and asks again
// for the shown one, keeping the cursor where it was.
func (p *SourcePane) invalidate(changed []string) {
	for _, c := range changed {
		for f := range p.files {
			switch {
			case !sameFile(f, c):
			case f == p.file: // keep showing the old text until the new arrives
				if !p.pending[f] {
					p.pending[f] = true
					p.send(session.LoadSource{File: f})
				}
			default:
				delete(p.files, f)
			}
		}
	}
}

// follow moves the view to a frame's location.
func (p *SourcePane) follow(f session.Frame) {
	p.exec = location{file: f.File, line: f.Line, pc: f.PC, fn: f.Function, off: f.Offset, ok: true}
	if f.File == "" || f.Line <= 0 {
		p.asm = true // no line information: assembly is all there is
	}
	if f.File != "" {
		p.show(f.File, f.Line)
	}
	if p.asm {
		p.requestDisasm()
	}
}

// show displays file with line under the cursor, loading the file if needed.
func (p *SourcePane) show(file string, line int) {
	p.file, p.want = file, 0
	if _, ok := p.files[file]; !ok {
		p.want = line
		if !p.pending[file] {
			p.pending[file] = true
			delete(p.errs, file)
			p.send(session.LoadSource{File: file})
		}
	}
	if !p.asm {
		p.list.set(p.rowCount(), p.Height)
		p.list.center(line - 1)
	}
}

func (p *SourcePane) requestDisasm() {
	if !p.exec.ok || p.wantDis {
		return
	}
	addr, count := p.exec.pc, max(p.Height*2, 48)
	if p.exec.fn != "" && p.exec.off < 0x2000 {
		addr -= p.exec.off
		count = min(int(p.exec.off)/2+p.Height+16, 512)
	}
	p.wantDis = true
	p.send(session.Disassemble{Addr: addr, Count: count})
}

// buildRows lays out the mixed source/assembly rows and puts the cursor on the PC.
func (p *SourcePane) buildRows() {
	p.rows = p.rows[:0]
	lastFile, lastLine := "", -1
	cur := -1
	for _, l := range p.dis.Lines {
		if l.File != "" && (l.File != lastFile || l.Line != lastLine) {
			p.rows = append(p.rows, asmRow{src: true, file: l.File, line: l.Line})
			if _, ok := p.files[l.File]; !ok && !p.pending[l.File] {
				p.pending[l.File] = true
				p.send(session.LoadSource{File: l.File})
			}
		}
		lastFile, lastLine = l.File, l.Line
		if p.exec.ok && l.Addr == p.exec.pc {
			cur = len(p.rows)
		}
		p.rows = append(p.rows, asmRow{asm: l})
	}
	p.list.set(p.rowCount(), p.Height)
	if cur >= 0 {
		p.list.center(cur)
	}
}

// ShowAsm switches to the mixed source/assembly view of the selected frame.
func (p *SourcePane) ShowAsm() {
	if !p.asm {
		p.asm = true
		p.requestDisasm()
		p.buildRows()
	}
}

// BreakAtCursor returns the command that toggles a breakpoint at the
// cursor: Delete when one is there, else Break at "file.c:LINE" (or
// "*0xADDR" on an instruction).
func (p *SourcePane) BreakAtCursor() (session.Command, error) {
	file, line, addr := p.file, p.list.cursor+1, uint64(0)
	if p.asm {
		if p.list.cursor >= len(p.rows) {
			return nil, fmt.Errorf("no instruction under the cursor")
		}
		r := p.rows[p.list.cursor]
		if r.src {
			file, line = r.file, r.line
		} else {
			addr = r.asm.Addr
		}
	} else if len(p.files[p.file]) == 0 {
		return nil, fmt.Errorf("no source line under the cursor")
	}
	for _, b := range p.bps {
		if addr != 0 {
			if slices.Contains(b.Addrs, addr) {
				return session.Delete{ID: b.ID}, nil
			}
			continue
		}
		if atLine(b, file, line) {
			return session.Delete{ID: b.ID}, nil
		}
	}
	if addr != 0 {
		return session.Break{Spec: fmt.Sprintf("*%#x", addr)}, nil
	}
	return session.Break{Spec: fmt.Sprintf("%s:%d", filepath.Base(file), line)}, nil
}

// gutter returns the breakpoint mark for a source line or an address.
func (p *SourcePane) gutter(file string, line int, addr uint64) string {
	mark := " "
	for _, b := range p.bps {
		hit := false
		if addr != 0 {
			hit = slices.Contains(b.Addrs, addr)
		} else {
			hit = atLine(b, file, line)
		}
		if hit {
			if b.Enabled && len(b.Addrs) > 0 {
				return "●"
			}
			mark = "○"
		}
	}
	return mark
}

// View implements Component.
func (p *SourcePane) View() string {
	var note string
	switch {
	case p.asm && len(p.rows) == 0:
		note = "no disassembly: the guest is not stopped"
		if p.dis.Err != "" {
			note = "disassembly: " + p.dis.Err
		} else if p.wantDis {
			note = "disassembling…"
		}
	case !p.asm && p.file == "":
		note = "no source yet: waiting for the guest to stop"
	case !p.asm && p.errs[p.file] != "":
		note = fmt.Sprintf("%s: %s (press a for assembly)", filepath.Base(p.file), p.errs[p.file])
	case !p.asm && p.pending[p.file] && p.files[p.file] == nil:
		note = "loading " + filepath.Base(p.file) + "…"
	}
	var out []string
	if note != "" {
		for _, l := range wrap(note, p.Width) {
			out = append(out, p.Styles.Dim.Render(l))
		}
	} else {
		from, to := p.list.visible()
		for i := from; i < to; i++ {
			out = append(out, p.row(i))
		}
	}
	return block(out, p.Width, p.Height)
}

func (p *SourcePane) row(i int) string {
	st := p.Styles
	var gut, mark, num, text string
	current := false
	if p.asm {
		r := p.rows[i]
		if r.src {
			gut = p.gutter(r.file, r.line, 0)
			num = fmt.Sprintf("%5d", r.line)
			text = filepath.Base(r.file) + ":" + strconv.Itoa(r.line)
			if lines := p.files[r.file]; r.line-1 < len(lines) {
				text = clean(lines[r.line-1])
			}
			mark = "  "
		} else {
			gut = p.gutter("", 0, r.asm.Addr)
			current = p.exec.ok && r.asm.Addr == p.exec.pc
			num = "     "
			sym := ""
			if r.asm.Function != "" {
				sym = fmt.Sprintf(" <%s+%d>", r.asm.Function, r.asm.Offset)
			}
			text = fmt.Sprintf("  %#x%s  %s", r.asm.Addr, sym, clean(r.asm.Text))
		}
	} else {
		lines := p.files[p.file]
		gut = p.gutter(p.file, i+1, 0)
		current = p.exec.ok && sameFile(p.exec.file, p.file) && p.exec.line == i+1
		num = fmt.Sprintf("%*d", len(strconv.Itoa(len(lines))), i+1)
		text = clean(lines[i])
	}
	if mark == "" {
		mark = "  "
		if current {
			mark = "=>"
		}
	}
	if p.hscroll > 0 {
		text = ansi.TruncateLeft(text, p.hscroll, "")
	}
	if p.Focused && i == p.list.cursor {
		return st.Cursor.Render(fit(gut+mark+" "+num+" "+text, p.Width))
	}
	if gut != " " {
		gut = st.Breakpoint.Render(gut)
	}
	if current {
		return gut + st.CurrentLine.Render(mark+" "+num+" "+text)
	}
	return gut + mark + " " + st.LineNumber.Render(num) + " " + text
}
