package tui

import (
	"bytes"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// maxLineBytes splits pathological lines so one line cannot grow without bound.
const maxLineBytes = 4096

// scrollback is a ring of console lines with a fixed capacity; the oldest
// lines are dropped first. Lines are addressed by absolute number: the
// first line ever written is 0.
type scrollback struct {
	ring    []string
	start   int // ring index of the oldest kept line
	count   int
	dropped int // lines dropped so far: the absolute number of the oldest kept line
	partial []byte
	bytes   int64
}

func newScrollback(capacity int) *scrollback {
	return &scrollback{ring: make([]string, max(capacity, 1))}
}

// Write appends console bytes. It never fails.
func (s *scrollback) Write(p []byte) (int, error) {
	n := len(p)
	s.bytes += int64(n)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			for len(s.partial) > maxLineBytes {
				s.push(s.partial[:maxLineBytes])
				s.partial = append(s.partial[:0], s.partial[maxLineBytes:]...)
			}
			return n, nil
		}
		if len(s.partial) > 0 {
			s.partial = append(s.partial, p[:i]...)
			s.push(s.partial)
			s.partial = s.partial[:0]
		} else {
			s.push(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// consoleLine turns raw console bytes into a printable line: escape
// sequences stripped, a carriage return restarts the line as on a
// terminal, control characters dropped.
func consoleLine(b []byte) string {
	s := string(b)
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansi.Strip(s)
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.TrimRight(s, "\r")
		if i := strings.LastIndexByte(s, '\r'); i >= 0 {
			s = s[i+1:]
		}
	}
	return clean(s)
}

func (s *scrollback) push(b []byte) {
	for len(b) > maxLineBytes {
		s.pushLine(consoleLine(b[:maxLineBytes]))
		b = b[maxLineBytes:]
	}
	s.pushLine(consoleLine(b))
}

func (s *scrollback) pushLine(line string) {
	if s.count < len(s.ring) {
		s.ring[(s.start+s.count)%len(s.ring)] = line
		s.count++
		return
	}
	s.ring[s.start] = line
	s.start = (s.start + 1) % len(s.ring)
	s.dropped++
}

// mark ends an unfinished line and adds a line of ukw's own (a separator
// between two guests' output); it is not counted as console bytes.
func (s *scrollback) mark(line string) {
	if len(s.partial) > 0 {
		s.push(s.partial)
		s.partial = s.partial[:0]
	}
	s.pushLine(line)
}

// first returns the absolute number of the oldest kept line.
func (s *scrollback) first() int { return s.dropped }

// end returns one past the absolute number of the last line, counting an
// unfinished last line.
func (s *scrollback) end() int {
	n := s.dropped + s.count
	if len(s.partial) > 0 {
		n++
	}
	return n
}

// line returns line a (absolute); "" when it is not kept.
func (s *scrollback) line(a int) string {
	i := a - s.dropped
	switch {
	case i < 0:
		return ""
	case i < s.count:
		return s.ring[(s.start+i)%len(s.ring)]
	case i == s.count && len(s.partial) > 0:
		return consoleLine(s.partial)
	}
	return ""
}
