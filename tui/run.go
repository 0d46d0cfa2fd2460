package tui

import (
	"context"
	"errors"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"ukw/session"
)

// Backend is what the workbench needs from a session; *session.Session
// satisfies it. Send must not block (the session.Command contract); events
// are read on their own goroutine, never on the UI's.
type Backend interface {
	Events() <-chan session.Event
	Send(session.Command)
}

// DefaultScrollback is how many console lines the workbench keeps by default.
const DefaultScrollback = 10000

// Options tune Run.
type Options struct {
	// Scrollback is the number of console lines kept (DefaultScrollback when 0).
	Scrollback int
	// TraceRows is the number of trace records the Trace pane keeps
	// (DefaultTraceRows when 0).
	TraceRows int
	// Renderer styles the screen; nil uses one for Output (colours as the terminal supports).
	Renderer *lipgloss.Renderer
	// Input and Output default to the terminal (stdin, stdout).
	Input  io.Reader
	Output io.Writer
	// NoAltScreen keeps the normal screen; NoMouse leaves the mouse to the terminal.
	NoAltScreen bool
	NoMouse     bool
}

// Run shows the workbench on the terminal until the user quits or ctx is
// cancelled. Quitting sends session.Quit to b; the caller then waits for the
// session to end.
func Run(ctx context.Context, b Backend, opts Options) error {
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
		if opts.Renderer == nil {
			opts.Renderer = lipgloss.NewRenderer(opts.Output)
		}
	}
	if !opts.NoAltScreen {
		popts = append(popts, tea.WithAltScreen())
	}
	if !opts.NoMouse {
		popts = append(popts, tea.WithMouseCellMotion())
	}
	_, err := tea.NewProgram(New(b, opts), popts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // cancelled by the caller
	}
	return err
}
