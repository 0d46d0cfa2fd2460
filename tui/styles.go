package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"

	"ukw/session"
)

// Styles is every style the workbench uses, in one place.
type Styles struct {
	Header        lipgloss.Style // a pane's title bar
	HeaderFocused lipgloss.Style // the focused pane's title bar
	Tab           lipgloss.Style // an inactive tab name in a title bar
	TabActive     lipgloss.Style // the shown tab's name
	Separator     lipgloss.Style // the vertical line between panes
	Cursor        lipgloss.Style // the cursor row of the focused pane
	CurrentLine   lipgloss.Style // the line the selected frame executes ("=>")
	Breakpoint    lipgloss.Style // the breakpoint gutter mark
	LineNumber    lipgloss.Style
	Changed       lipgloss.Style // registers and bytes changed since the last stop
	Dim           lipgloss.Style
	Error         lipgloss.Style
	Warning       lipgloss.Style
	Note          lipgloss.Style
	Match         lipgloss.Style // search matches
	Prompt        lipgloss.Style
	StatusBar     lipgloss.Style
	StatusState   [session.StateFailed + 1]lipgloss.Style // the state badge, per state
	Help          help.Styles
}

// DefaultStyles returns the workbench's styles built on renderer r (its
// colour profile decides whether colours are emitted at all).
func DefaultStyles(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	ns := r.NewStyle
	s := &Styles{
		Header:        ns().Foreground(lipgloss.Color("245")),
		HeaderFocused: ns().Foreground(lipgloss.Color("39")).Bold(true),
		Tab:           ns().Foreground(lipgloss.Color("245")),
		TabActive:     ns().Foreground(lipgloss.Color("255")).Bold(true),
		Separator:     ns().Foreground(lipgloss.Color("238")),
		Cursor:        ns().Reverse(true),
		CurrentLine:   ns().Foreground(lipgloss.Color("226")).Bold(true),
		Breakpoint:    ns().Foreground(lipgloss.Color("196")).Bold(true),
		LineNumber:    ns().Foreground(lipgloss.Color("242")),
		Changed:       ns().Foreground(lipgloss.Color("208")).Bold(true),
		Dim:           ns().Foreground(lipgloss.Color("242")),
		Error:         ns().Foreground(lipgloss.Color("196")),
		Warning:       ns().Foreground(lipgloss.Color("214")),
		Note:          ns().Foreground(lipgloss.Color("111")),
		Match:         ns().Background(lipgloss.Color("58")).Foreground(lipgloss.Color("230")),
		Prompt:        ns().Foreground(lipgloss.Color("39")).Bold(true),
		StatusBar:     ns().Foreground(lipgloss.Color("252")).Background(lipgloss.Color("236")),
		Help: help.Styles{
			ShortKey:       ns().Foreground(lipgloss.Color("39")),
			ShortDesc:      ns().Foreground(lipgloss.Color("250")),
			ShortSeparator: ns().Foreground(lipgloss.Color("240")),
			Ellipsis:       ns().Foreground(lipgloss.Color("240")),
			FullKey:        ns().Foreground(lipgloss.Color("39")),
			FullDesc:       ns().Foreground(lipgloss.Color("250")),
			FullSeparator:  ns().Foreground(lipgloss.Color("240")),
		},
	}
	badge := func(bg string) lipgloss.Style {
		return ns().Bold(true).Foreground(lipgloss.Color("16")).Background(lipgloss.Color(bg))
	}
	s.StatusState = [...]lipgloss.Style{
		session.StateIdle:     badge("245"),
		session.StateBuilding: badge("214"),
		session.StateBooting:  badge("214"),
		session.StateRunning:  badge("40"),
		session.StateStopped:  badge("226"),
		session.StateExited:   badge("111"),
		session.StateFaulted:  badge("196"),
		session.StateFailed:   badge("196"),
	}
	return s
}
