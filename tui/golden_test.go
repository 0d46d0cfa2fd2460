package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"ukw/session"
)

// readyNote is the last event of a golden run: once it is on screen every
// earlier event, and every answer the fake session gave, has been handled.
const readyNote = "watching 3 directories"

// runGolden drives the real Bubble Tea program with teatest: the fixture
// session's events, the scripted answers to the model's commands, then the
// ready note; the final model's view must equal testdata/<test>.golden.
func runGolden(t *testing.T, w, h int) {
	b := newFakeBackend(true)
	tm := teatest.NewTestModel(t, New(b, Options{Renderer: asciiRenderer()}), teatest.WithInitialTermSize(w, h))
	for _, ev := range fixtureSession() {
		b.ch <- ev
	}
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		return bytes.Contains(out, []byte("return n * n"))
	}, teatest.WithDuration(10*time.Second))
	b.ch <- session.LogEvent{Msg: readyNote}
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		return bytes.Contains(out, []byte(readyNote))
	}, teatest.WithDuration(10*time.Second))
	tm.Send(tea.Quit())
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	view := m.View()
	checkSize(t, view, w, h)
	golden.RequireEqual(t, []byte(view))

	// The program asked for the layer catalog, the source of the stop and
	// the memory at the stack pointer, and did not quit the session.
	var kinds []string
	for _, c := range b.sent() {
		kinds = append(kinds, strings.TrimPrefix(typeName(c), "session."))
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"ListLayers", "LoadSource", "ReadMemory"} {
		if !strings.Contains(got, want) {
			t.Errorf("commands sent: %s; want %s among them", got, want)
		}
	}
}

func TestGolden80x24(t *testing.T)  { runGolden(t, 80, 24) }
func TestGolden200x50(t *testing.T) { runGolden(t, 200, 50) }
func TestGolden120x32(t *testing.T) { runGolden(t, 120, 32) }

// drive applies the fixture session to a model directly, answering its
// commands until nothing is left, as the program loop would.
func drive(m *Model, b *fakeBackend, evs ...session.Event) {
	m.Update(eventsMsg{events: evs})
	for len(b.ch) > 0 {
		var batch []session.Event
		for len(b.ch) > 0 {
			batch = append(batch, <-b.ch)
		}
		m.Update(eventsMsg{events: batch})
	}
}

// newDriven returns a model of size w x h that has seen the fixture session.
func newDriven(w, h int) (*Model, *fakeBackend) {
	b := newFakeBackend(true)
	m := New(b, Options{Renderer: asciiRenderer()})
	m.Init()
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	drive(m, b, fixtureSession()...)
	return m, b
}

// keys presses keys on a driven model, answering its commands.
func keys(m *Model, b *fakeBackend, ks ...string) {
	for _, k := range ks {
		if _, cmd := m.Update(press(k)); cmd != nil {
			runCmd(m, cmd)
		}
		drive(m, b)
	}
}

// runCmd runs a command's message back into the model (JumpMsg and the like).
func runCmd(m *Model, cmd tea.Cmd) {
	if msg := cmd(); msg != nil {
		if _, quit := msg.(tea.QuitMsg); !quit {
			m.Update(msg)
		}
	}
}

// Golden views of interactions, driven without a terminal.
func TestGoldenAsm80x24(t *testing.T) {
	m, b := newDriven(80, 24)
	keys(m, b, "a")
	golden.RequireEqual(t, []byte(m.View()))
}

func TestGoldenHelp80x24(t *testing.T) {
	m, b := newDriven(80, 24)
	keys(m, b, "?")
	v := m.View()
	checkSize(t, v, 80, 24)
	golden.RequireEqual(t, []byte(v))
}

func TestGoldenFrame1Locals200x50(t *testing.T) {
	m, b := newDriven(200, 50)
	// the session answers SelectFrame with the frame's registers and locals
	keys(m, b, "3", "down")
	m.Update(press("enter"))
	if c, ok := b.last().(session.SelectFrame); !ok || c.Index != 1 {
		t.Fatalf("enter on frame #1 sent %#v, want SelectFrame{1}", b.last())
	}
	r := fixtureRegs()
	r.RIP = 0x100250
	drive(m, b, session.FrameEvent{Seq: 1, Index: 1, Frame: fixtureFrames()[1], Regs: r, Vars: fixtureMainVars()})
	keys(m, b, "4", "down", "enter")
	golden.RequireEqual(t, []byte(m.View()))
}
