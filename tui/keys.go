package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key binding of the workbench; the `?` help is built from it.
type KeyMap struct {
	// Run control (global).
	Continue  key.Binding
	Next      key.Binding
	Step      key.Binding
	Finish    key.Binding
	StepInstr key.Binding
	NextInstr key.Binding
	Interrupt key.Binding
	// Breakpoints and the loop (global).
	ToggleBreak key.Binding
	Rebuild     key.Binding
	Reboot      key.Binding
	// Focus and screens (global).
	NextPane    key.Binding
	PrevPane    key.Binding
	FocusPane   key.Binding // 1..9, 0: focus a pane by number
	CommandLine key.Binding
	Help        key.Binding
	Quit        key.Binding
	Escape      key.Binding
	// Navigation inside the focused pane.
	Up       key.Binding
	Down     key.Binding
	Left     key.Binding
	Right    key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Home     key.Binding
	End      key.Binding
	Enter    key.Binding
	Toggle   key.Binding // expand a struct, toggle a layer
	// Pane keys.
	ToggleAsm  key.Binding // source: source ↔ mixed source/assembly
	Search     key.Binding // console: search the scrollback
	SearchNext key.Binding
	SearchPrev key.Binding
	ToggleVGA  key.Binding // console: serial ↔ VGA text screen
	Goto       key.Binding // memory: go to an address expression
	PointsOnly key.Binding // trace: tracepoints only ↔ everything
	// Profile view.
	Profile        key.Binding // start (or stop) a profile
	ProfileLonger  key.Binding
	ProfileShorter key.Binding
	// Command line.
	HistoryPrev key.Binding
	HistoryNext key.Binding
	Execute     key.Binding
}

// DefaultKeyMap returns the workbench's key bindings.
func DefaultKeyMap() *KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return &KeyMap{
		Continue:       b("F5/c", "continue", "f5", "c"),
		Next:           b("F10/n", "next line", "f10", "n"),
		Step:           b("F11/s", "step into", "f11", "s"),
		Finish:         b("F12/f", "finish frame", "f12", "f"),
		StepInstr:      b("i", "step instruction", "i"),
		NextInstr:      b("I", "next instruction", "I"),
		Interrupt:      b("F6/p", "pause guest", "f6", "p"),
		ToggleBreak:    b("F9/b", "toggle breakpoint at cursor", "f9", "b"),
		Rebuild:        b("B", "rebuild", "B"),
		Reboot:         b("R", "reboot guest", "R"),
		NextPane:       b("tab", "next pane", "tab"),
		PrevPane:       b("shift+tab", "previous pane", "shift+tab"),
		FocusPane:      b("1-9,0", "focus pane N", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
		CommandLine:    b(":", "command line", ":"),
		Help:           b("?", "help", "?"),
		Quit:           b("q/ctrl+c", "quit", "q", "ctrl+c"),
		Escape:         b("esc", "cancel / back", "esc"),
		Up:             b("↑/k", "up", "up", "k"),
		Down:           b("↓/j", "down", "down", "j"),
		Left:           b("←/h", "left / collapse", "left", "h"),
		Right:          b("→/l", "right / expand", "right", "l"),
		PageUp:         b("pgup", "page up", "pgup"),
		PageDown:       b("pgdn", "page down", "pgdown"),
		Home:           b("home/g", "top", "home", "g"),
		End:            b("end/G", "bottom", "end", "G"),
		Enter:          b("enter", "select / jump", "enter"),
		Toggle:         b("space", "expand / toggle", " "),
		ToggleAsm:      b("a", "source ↔ assembly", "a"),
		Search:         b("/", "search console / filter trace", "/"),
		SearchNext:     b("]/F3", "next match", "]", "f3"),
		SearchPrev:     b("[", "previous match", "["),
		ToggleVGA:      b("v", "serial ↔ VGA screen", "v"),
		Goto:           b("@", "memory: go to expression", "@"),
		PointsOnly:     b("t", "trace: tracepoints only", "t"),
		Profile:        b("r", "profile: start / stop", "r"),
		ProfileLonger:  b("+", "profile: longer", "+", "="),
		ProfileShorter: b("-", "profile: shorter", "-"),
		HistoryPrev:    b("↑", "previous command", "up"),
		HistoryNext:    b("↓", "next command", "down"),
		Execute:        b("enter", "run command", "enter"),
	}
}

// ShortHelp is the hint shown in the status line.
func (k *KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Continue, k.Next, k.Step, k.ToggleBreak, k.CommandLine, k.Quit}
}

// FullHelp is the `?` screen: one column per group.
func (k *KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Continue, k.Next, k.Step, k.Finish, k.StepInstr, k.NextInstr, k.Interrupt, k.ToggleBreak, k.Rebuild, k.Reboot},
		{k.NextPane, k.PrevPane, k.FocusPane, k.CommandLine, k.HistoryPrev, k.Help, k.Escape, k.Quit},
		{k.Up, k.Down, k.Left, k.Right, k.PageUp, k.PageDown, k.Home, k.End, k.Enter, k.Toggle},
		{k.ToggleAsm, k.Search, k.SearchNext, k.SearchPrev, k.ToggleVGA, k.Goto, k.PointsOnly, k.Profile, k.ProfileLonger, k.ProfileShorter},
	}
}
