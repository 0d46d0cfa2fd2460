package trace

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Profile is a sampling profile: how many samples saw each stack.
type Profile struct {
	// Stacks counts samples by folded stack: frame names from the
	// outermost to the innermost, joined by ";" (flamegraph.pl's format).
	Stacks map[string]int
	// Samples is the number of stacks added.
	Samples int
}

// NewProfile returns an empty profile.
func NewProfile() *Profile { return &Profile{Stacks: map[string]int{}} }

// Add counts one sample of stack (outermost frame first). Names are made
// safe for the folded format (no ";", no newlines, no empty names).
func (p *Profile) Add(stack []string) { p.AddN(stack, 1) }

// AddN counts n samples of stack.
func (p *Profile) AddN(stack []string, n int) {
	if n <= 0 {
		return
	}
	clean := make([]string, len(stack))
	for i, s := range stack {
		clean[i] = foldName(s)
	}
	if len(clean) == 0 {
		clean = []string{"[unknown]"}
	}
	p.Stacks[strings.Join(clean, ";")] += n
	p.Samples += n
}

func foldName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ';':
			return ':'
		case '\n', '\r', '\t':
			return ' '
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" {
		return "[unknown]"
	}
	return s
}

// Folded is one line of the folded format.
type Folded struct {
	Stack []string // outermost first
	Count int
}

// Folded returns the stacks sorted by their folded text.
func (p *Profile) Folded() []Folded {
	keys := make([]string, 0, len(p.Stacks))
	for k := range p.Stacks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Folded, len(keys))
	for i, k := range keys {
		out[i] = Folded{Stack: strings.Split(k, ";"), Count: p.Stacks[k]}
	}
	return out
}

// WriteFolded writes the profile in flamegraph.pl's folded format: one
// "frame;frame;frame count" line per stack, sorted.
func (p *Profile) WriteFolded(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, f := range p.Folded() {
		fmt.Fprintf(bw, "%s %d\n", strings.Join(f.Stack, ";"), f.Count)
	}
	return bw.Flush()
}

// ParseFolded reads the folded format (the count is the last
// space-separated field of a line; blank lines are skipped).
func ParseFolded(r io.Reader) (*Profile, error) {
	p := NewProfile()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		i := strings.LastIndexByte(s, ' ')
		if i <= 0 {
			return nil, fmt.Errorf("folded line %d: want \"stack count\", got %q", line, s)
		}
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("folded line %d: bad count %q", line, s[i+1:])
		}
		p.AddN(strings.Split(s[:i], ";"), n)
	}
	return p, sc.Err()
}

// FuncStat is one function's share of a profile.
type FuncStat struct {
	Name string
	// Self counts samples with the function innermost; Total samples with
	// it anywhere on the stack (once per sample, even when recursive).
	Self, Total int
}

// Top returns the n functions with the most self samples (all when n <= 0),
// ties broken by total, then name.
func (p *Profile) Top(n int) []FuncStat {
	stats := map[string]*FuncStat{}
	get := func(name string) *FuncStat {
		s := stats[name]
		if s == nil {
			s = &FuncStat{Name: name}
			stats[name] = s
		}
		return s
	}
	for k, c := range p.Stacks {
		frames := strings.Split(k, ";")
		get(frames[len(frames)-1]).Self += c
		seen := map[string]bool{}
		for _, f := range frames {
			if !seen[f] {
				seen[f] = true
				get(f).Total += c
			}
		}
	}
	out := make([]FuncStat, 0, len(stats))
	for _, s := range stats {
		out = append(out, *s)
	}
	sortStats(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

func sortStats(out []FuncStat) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Self != out[j].Self {
			return out[i].Self > out[j].Self
		}
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Name < out[j].Name
	})
}

// WriteTop prints the top functions with their shares of total samples.
func WriteTop(w io.Writer, top []FuncStat, samples int) error {
	if _, err := fmt.Fprintf(w, "%8s %7s %8s %7s  %s\n", "self", "self%", "total", "total%", "function"); err != nil {
		return err
	}
	pct := func(n int) float64 {
		if samples == 0 {
			return 0
		}
		return 100 * float64(n) / float64(samples)
	}
	for _, s := range top {
		if _, err := fmt.Fprintf(w, "%8d %6.1f%% %8d %6.1f%%  %s\n", s.Self, pct(s.Self), s.Total, pct(s.Total), s.Name); err != nil {
			return err
		}
	}
	return nil
}
