package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// Model is the workbench's root Bubble Tea model.
type Model struct {
	styles  *Styles
	keys    *KeyMap
	backend Backend
	events  *eventReader

	panes     [numPanes]Component
	src       *SourcePane
	console   *ConsolePane
	trace     *TracePane
	focus     int
	cmdFocus  bool
	lastFocus [numPanes]int
	clock     int

	cmd  *commandLine
	msgs messages
	help help.Model

	state    session.State
	detail   string
	building bool
	timeline *session.Timeline
	ended    bool
	showHelp bool
	helpOff  int

	lay  layout
	memq []int // panes waiting for a MemoryEvent, oldest first
}

// New returns the root model talking to b. Options.Renderer decides the
// colour profile of the styles.
func New(b Backend, opts Options) *Model {
	st := DefaultStyles(opts.Renderer)
	keys := DefaultKeyMap()
	m := &Model{styles: st, keys: keys, backend: b, cmd: newCommandLine(st, keys), help: help.New()}
	if b != nil {
		m.events = &eventReader{ch: b.Events()}
	}
	m.help.Styles = st.Help
	sb := opts.Scrollback
	if sb <= 0 {
		sb = DefaultScrollback
	}
	common := func(id int) Common {
		return Common{Styles: st, Keys: keys, Send: func(c session.Command) { m.sendFrom(id, c) }}
	}
	m.src = NewSourcePane(common(paneSource))
	m.console = NewConsolePane(common(paneConsole), sb)
	m.trace = NewTracePane(common(paneTrace), opts.TraceRows)
	m.panes = [numPanes]Component{
		paneSource:    m.src,
		paneRegisters: NewRegistersPane(common(paneRegisters)),
		paneBacktrace: NewBacktracePane(common(paneBacktrace)),
		paneLocals:    NewLocalsPane(common(paneLocals)),
		paneMemory:    NewMemoryPane(common(paneMemory)),
		paneConsole:   m.console,
		paneBuild:     NewBuildPane(common(paneBuild)),
		paneLayers:    NewLayersPane(common(paneLayers)),
		paneTrace:     m.trace,
		paneProfile:   NewProfilePane(common(paneProfile)),
	}
	m.setFocus(paneSource)
	return m
}

// sendFrom sends a pane's command, remembering who waits for memory.
func (m *Model) sendFrom(id int, c session.Command) {
	if _, ok := c.(session.ReadMemory); ok {
		m.memq = append(m.memq, id)
	}
	m.send(c)
}

func (m *Model) send(c session.Command) {
	if m.backend != nil {
		m.backend.Send(c)
	}
}

// Init implements tea.Model: ask for the layer catalog and start reading events.
func (m *Model) Init() tea.Cmd {
	m.send(session.ListLayers{})
	if m.events == nil {
		return nil
	}
	return m.events.next()
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
	case eventsMsg:
		for _, ev := range msg.events {
			m.handle(ev)
		}
		if msg.closed {
			m.ended = true
			m.msgs.add(2, "the session ended; press q to quit")
			return m, nil
		}
		return m, m.events.next()
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case JumpMsg:
		m.setFocus(paneSource)
		return m, m.src.Update(msg)
	}
	return m, nil
}

// handle applies one session event.
func (m *Model) handle(ev session.Event) {
	switch ev := ev.(type) {
	case session.ConsoleEvent:
		m.console.Update(ev)
		return
	case session.TraceEvent:
		m.trace.Update(ev)
		if ev.Warning != "" {
			m.msgs.add(1, "trace ring: "+ev.Warning)
		}
		return
	case session.ProfileEvent:
		switch {
		case ev.Err != "":
			m.msgs.add(1, "profile: "+ev.Err)
		case !ev.Running:
			s := fmt.Sprintf("profile: %d samples", ev.Samples)
			if len(ev.Top) > 0 {
				s += fmt.Sprintf(", %s %.1f%% self", ev.Top[0].Name, ev.Top[0].SelfPct)
			}
			m.msgs.add(2, s+": see the Profile pane")
			m.reveal(paneProfile)
		}
	case session.MemoryEvent:
		id := paneMemory
		if len(m.memq) > 0 {
			id, m.memq = m.memq[0], m.memq[1:]
		}
		m.panes[id].Update(ev)
		return
	case session.StateEvent:
		m.state, m.detail = ev.State, ev.Detail
	case session.BuildEvent:
		m.building = ev.Phase == session.BuildStarted
		if ev.Phase == session.BuildFailed {
			m.reveal(paneBuild)
			m.msgs.add(1, "build failed: see the Build pane")
		}
	case session.ReloadEvent:
		t := ev.Timeline
		m.timeline = &t
	case session.OutputEvent:
		style := 0
		if ev.Error {
			style = 1
		}
		m.msgs.add(style, ev.Text)
	case session.LogEvent:
		m.msgs.add(2, "note: "+ev.Msg)
	case session.ExitEvent:
		m.msgs.add(2, fmt.Sprintf("guest exited (%s), status %d", ev.Exit.How, ev.Exit.Status))
	case session.FaultEvent:
		first, _, _ := strings.Cut(ev.Report, "\n")
		if first == "" {
			first = "guest crashed"
		}
		m.msgs.add(1, first)
		m.reveal(paneBacktrace)
	case session.StopEvent:
		if ev.Snap.Detail != "" {
			m.msgs.add(2, ev.Snap.Detail)
		}
	case session.LayersEvent:
		if ev.Problem != "" {
			m.reveal(paneLayers)
		}
	case session.LocationEvent:
		if ev.Err != "" {
			m.msgs.add(1, ev.Err)
			return
		}
		if m.cmdFocus { // typed `list`: show it, keep typing
			m.show(paneSource)
		} else { // enter in the Profile pane: go there
			m.setFocus(paneSource)
		}
		m.src.Update(JumpMsg{File: ev.File, Line: ev.Line})
		return
	}
	for _, p := range m.panes {
		p.Update(ev)
	}
}

// resize lays the screen out for a new terminal size.
func (m *Model) resize(w, h int) {
	m.lay = computeLayout(w, h)
	for _, s := range m.lay.slots {
		for _, id := range s.panes {
			m.panes[id].SetSize(s.w, s.h-1)
		}
	}
	m.cmd.setWidth(w)
	m.help.Width = w
}

// setFocus gives pane id the keyboard focus and shows it in its slot.
func (m *Model) setFocus(id int) {
	m.panes[m.focus].SetFocus(false)
	m.focus = id
	m.panes[id].SetFocus(true)
	m.show(id)
	if m.cmdFocus {
		m.cmdFocus = false
		m.cmd.blur()
	}
}

// show makes pane id the shown tab of its slot.
func (m *Model) show(id int) {
	m.clock++
	m.lastFocus[id] = m.clock
}

// reveal brings pane id forward for news (a failed build, a crash) without
// moving the focus — unless that would hide the focused pane, whose keys
// would then go to a pane out of sight.
func (m *Model) reveal(id int) {
	if s := m.lay.slotOf(id); s >= 0 && s == m.lay.slotOf(m.focus) && m.focus != id {
		return
	}
	m.show(id)
}

// shown returns the pane a slot shows: the one revealed most recently.
func (m *Model) shown(s slot) int {
	best := s.panes[0]
	for _, id := range s.panes {
		if m.lastFocus[id] > m.lastFocus[best] {
			best = id
		}
	}
	return best
}

// quit ends the session and the program.
func (m *Model) quit() tea.Cmd {
	if !m.ended {
		m.send(session.Quit{})
	}
	return tea.Quit
}
