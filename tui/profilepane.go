package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"ukw/session"
)

// profileLengths are the profile lengths `+` and `-` step through.
var profileLengths = [...]time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}

// DefaultProfileHz is the sampling rate the Profile view asks for.
const DefaultProfileHz = 250

// ProfilePane is the Profile view: `r` samples the running guest for a few
// seconds (session.Profile) and the pane shows the top functions by self
// samples with their self and total shares as the snapshots arrive
// (session.ProfileEvent); enter shows the function under the cursor in
// the Source pane.
type ProfilePane struct {
	Common
	last    session.ProfileEvent
	have    bool
	waiting bool // a Profile was sent, no snapshot yet
	length  int  // index into profileLengths
	list    list
}

// NewProfilePane returns an empty Profile view.
func NewProfilePane(c Common) *ProfilePane {
	return &ProfilePane{Common: c, length: 2}
}

// Title implements Component.
func (p *ProfilePane) Title() string { return "Profile" }

// Length is how long the next profile samples.
func (p *ProfilePane) Length() time.Duration { return profileLengths[p.length] }

func (p *ProfilePane) running() bool { return p.waiting || (p.have && p.last.Running) }

// Info implements Component.
func (p *ProfilePane) Info() string {
	switch {
	case p.waiting:
		return "starting…"
	case !p.have:
		return ""
	case p.last.Err != "":
		return "failed"
	case p.last.Running:
		return fmt.Sprintf("sampling %.1f/%s", p.last.Elapsed.Seconds(), p.last.Duration)
	}
	return fmt.Sprintf("%d samples", p.last.Samples)
}

// Capturing implements Component.
func (p *ProfilePane) Capturing() bool { return false }

// ShortHelp implements help.KeyMap.
func (p *ProfilePane) ShortHelp() []key.Binding {
	return []key.Binding{p.Keys.Profile, p.Keys.ProfileLonger, p.Keys.ProfileShorter, p.Keys.Up, p.Keys.Down, p.Keys.Enter}
}

// FullHelp implements help.KeyMap.
func (p *ProfilePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// SetSize implements Component.
func (p *ProfilePane) SetSize(w, h int) {
	p.Common.SetSize(w, h)
	p.relist()
}

func (p *ProfilePane) relist() { p.list.set(len(p.last.Top), max(p.Height-2, 1)) }

// Update implements Component.
func (p *ProfilePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case session.ProfileEvent:
		p.last, p.have, p.waiting = msg, true, false
		p.relist()
	case ScrollMsg:
		p.list.scroll(msg.Delta)
	case tea.KeyMsg:
		switch {
		case is(msg, p.Keys.Profile):
			if p.running() {
				p.send(session.StopProfile{})
				return nil
			}
			p.waiting = true
			p.send(session.Profile{Hz: DefaultProfileHz, Duration: p.Length()})
		case is(msg, p.Keys.ProfileLonger):
			p.length = min(p.length+1, len(profileLengths)-1)
		case is(msg, p.Keys.ProfileShorter):
			p.length = max(p.length-1, 0)
		case is(msg, p.Keys.Enter):
			// The function under the cursor in the Source pane: the
			// session resolves it as `list FUNCTION` (a LocationEvent).
			if p.list.cursor < len(p.last.Top) {
				p.send(session.List{Spec: p.last.Top[p.list.cursor].Name})
			}
		default:
			p.list.nav(p.Keys, msg)
		}
	}
	return nil
}

// View implements Component.
func (p *ProfilePane) View() string {
	st := p.Styles
	var out []string
	hint := fmt.Sprintf("r: profile the guest for %s at %d Hz (+/- length)", p.Length(), DefaultProfileHz)
	switch {
	case p.waiting:
		out = append(out, "starting a profile…")
	case !p.have:
		out = append(out, st.Dim.Render(hint))
	case p.last.Err != "":
		out = append(out, st.Error.Render("profile: "+clean(p.last.Err)), st.Dim.Render(hint))
	default:
		e := p.last
		s := fmt.Sprintf("%d samples at %d Hz in %.1f s", e.Samples, e.Hz, e.Elapsed.Seconds())
		if e.Failed > 0 {
			s += fmt.Sprintf(", %d failed", e.Failed)
		}
		if e.Running {
			s = "sampling… " + s + " (r stops)"
		} else {
			s += "  " + st.Dim.Render("(r again)")
		}
		out = append(out, s)
	}
	if p.have && len(p.last.Top) > 0 {
		out = append(out, st.Dim.Render(fmt.Sprintf("%6s %7s  %s", "self%", "total%", "function")))
		nameW := 0
		for _, f := range p.last.Top {
			nameW = max(nameW, len(f.Name))
		}
		nameW = min(nameW, max(p.Width-16-10, 8))
		barW := max(p.Width-16-nameW-2, 0)
		from, to := p.list.visible()
		for i := from; i < to; i++ {
			f := p.last.Top[i]
			name := fit(clean(f.Name), nameW)
			line := fmt.Sprintf("%5.1f%% %6.1f%%  %s", f.SelfPct, f.TotalPct, name)
			if n := int(f.SelfPct/100*float64(barW) + 0.5); barW > 0 && n > 0 {
				line += "  " + st.Changed.Render(strings.Repeat("█", min(n, barW)))
			}
			if p.Focused && i == p.list.cursor {
				line = st.Cursor.Render(fit(stripStyles(line), p.Width))
			}
			out = append(out, line)
		}
	}
	return block(out, p.Width, p.Height)
}
