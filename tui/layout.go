package tui

import (
	"slices"
	"strings"
)

// Pane identifiers, in focus (Tab) order; the 1-9 and 0 keys follow it.
const (
	paneSource = iota
	paneRegisters
	paneBacktrace
	paneLocals
	paneMemory
	paneConsole
	paneBuild
	paneLayers
	paneTrace
	paneProfile
	numPanes
)

// slot is a rectangle of the screen showing one pane at a time: its title
// bar lists the panes it holds as tabs when there are several.
type slot struct {
	x, y, w, h int
	panes      []int
}

// layout places the panes for a terminal size.
type layout struct {
	width, height int
	mainH         int // rows of panes
	msgH          int // rows of the messages area
	slots         []slot
	small         bool
}

// Layout thresholds: below minW x minH nothing fits; from largeW x largeH
// every pane gets its own slot.
const (
	minW, minH     = 60, 16
	largeW, largeH = 120, 32
)

func computeLayout(w, h int) layout {
	l := layout{width: w, height: h, msgH: 2}
	if w < minW || h < minH {
		return l
	}
	if h >= 40 {
		l.msgH = min(max(h/8, 2), 8)
	}
	l.mainH = h - 2 - l.msgH // status line and command line
	topH := l.mainH * 3 / 5
	botH := l.mainH - topH
	if w < largeW || h < largeH {
		// Small: source beside a tabbed stack of the frame panes, and a
		// tabbed full-width strip for the rest.
		l.small = true
		rw := min(max(w*2/5, 28), 44)
		sw := w - rw - 1
		l.slots = []slot{
			{0, 0, sw, topH, []int{paneSource}},
			{sw + 1, 0, rw, topH, []int{paneRegisters, paneBacktrace, paneLocals}},
			{0, topH, w, botH, []int{paneConsole, paneMemory, paneBuild, paneLayers, paneTrace, paneProfile}},
		}
		return l
	}
	regsW := 29
	if w >= 200 {
		regsW = 58
	}
	btW := min(max(w/4, 36), 60)
	srcW := w - regsW - btW - 2
	memW := 52 // 8 bytes a row
	switch {
	case w >= 200:
		memW = 100 // 16 bytes a row and room for symbols
	case w >= 170:
		memW = 84
	}
	blW := min(max(w/5, 30), 48)
	conW := w - memW - blW - 2
	bt := topH / 2
	bb := botH / 2
	l.slots = []slot{
		{0, 0, srcW, topH, []int{paneSource}},
		{srcW + 1, 0, btW, bt, []int{paneBacktrace}},
		{srcW + 1, bt, btW, topH - bt, []int{paneLocals}},
		{srcW + btW + 2, 0, regsW, topH, []int{paneRegisters}},
		{0, topH, conW, botH, []int{paneConsole}},
		{conW + 1, topH, memW, botH, []int{paneMemory, paneTrace, paneProfile}},
		{conW + memW + 2, topH, blW, bb, []int{paneBuild}},
		{conW + memW + 2, topH + bb, blW, botH - bb, []int{paneLayers}},
	}
	return l
}

// slotOf returns the index of the slot holding pane id.
func (l *layout) slotOf(id int) int {
	for i, s := range l.slots {
		if slices.Contains(s.panes, id) {
			return i
		}
	}
	return -1
}

// slotAt returns the slot covering screen cell (x, y), or -1.
func (l *layout) slotAt(x, y int) int {
	for i, s := range l.slots {
		if x >= s.x && x < s.x+s.w && y >= s.y && y < s.y+s.h {
			return i
		}
	}
	return -1
}

// compose lays the slots' rendered blocks (h lines of w cells each) out on
// the mainH rows, with a separator column between neighbours.
func (l *layout) compose(blocks [][]string, sep string) string {
	var b strings.Builder
	order := make([]int, len(l.slots))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, c int) int { return l.slots[a].x - l.slots[c].x })
	for y := 0; y < l.mainH; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		x := 0
		for _, i := range order {
			s := l.slots[i]
			if y < s.y || y >= s.y+s.h {
				continue
			}
			if s.x > x {
				b.WriteString(sep)
				b.WriteString(strings.Repeat(" ", s.x-x-1))
			}
			b.WriteString(blocks[i][y-s.y])
			x = s.x + s.w
		}
		if x < l.width {
			b.WriteString(strings.Repeat(" ", l.width-x))
		}
	}
	return b.String()
}
