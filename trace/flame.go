package trace

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strings"
)

// FlameOptions shape the flame graph.
type FlameOptions struct {
	Title string // "Flame Graph" when empty
	// Subtitle goes under the title (e.g. "1234 samples at 1000 Hz").
	Subtitle string
	Width    int // pixels, 1200 when 0
}

type flameNode struct {
	name     string
	count    int
	children map[string]*flameNode
}

func (n *flameNode) sorted() []*flameNode {
	out := make([]*flameNode, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// WriteFlameGraph writes p as a self-contained SVG flame graph in the
// manner of Brendan Gregg's flamegraph.pl: the root ("all") at the bottom,
// callees stacked above their callers, siblings in name order, widths in
// proportion to samples, a tooltip (<title>) on every frame. No script,
// no external resource.
func WriteFlameGraph(w io.Writer, p *Profile, o FlameOptions) error {
	const (
		frameH   = 16
		fontSize = 12
		pad      = 10
		topPad   = 50
		botPad   = 10
		minWidth = 0.1
	)
	width := o.Width
	if width <= 0 {
		width = 1200
	}
	title := o.Title
	if title == "" {
		title = "Flame Graph"
	}
	root := &flameNode{name: "all", children: map[string]*flameNode{}}
	depth := 0
	for _, f := range p.Folded() {
		root.count += f.Count
		n := root
		for _, name := range f.Stack {
			c := n.children[name]
			if c == nil {
				c = &flameNode{name: name, children: map[string]*flameNode{}}
				n.children[name] = c
			}
			c.count += f.Count
			n = c
		}
		depth = max(depth, len(f.Stack))
	}
	height := topPad + (depth+1)*frameH + botPad
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" standalone="no"?>`+"\n")
	fmt.Fprintf(bw, `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", width, height, width, height)
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%d" height="%d" fill="#f8f8f0"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="%d" y="24" font-family="Verdana,sans-serif" font-size="17" text-anchor="middle">%s</text>`+"\n", width/2, esc(title))
	if o.Subtitle != "" {
		fmt.Fprintf(bw, `<text x="%d" y="42" font-family="Verdana,sans-serif" font-size="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", width/2, fontSize, esc(o.Subtitle))
	}
	total := root.count
	scale := 0.0
	if total > 0 {
		scale = float64(width-2*pad) / float64(total)
	}
	var draw func(n *flameNode, x float64, d int)
	draw = func(n *flameNode, x float64, d int) {
		wpx := float64(n.count) * scale
		if wpx < minWidth {
			return
		}
		y := height - botPad - (d+1)*frameH
		pct := 100 * float64(n.count) / float64(total)
		fmt.Fprintf(bw, `<g><title>%s (%d samples, %.2f%%)</title>`, esc(n.name), n.count, pct)
		fmt.Fprintf(bw, `<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" rx="2" ry="2"/>`, x, y, wpx, frameH-1, flameColor(n.name, d == 0))
		if label := fitLabel(n.name, wpx, fontSize); label != "" {
			fmt.Fprintf(bw, `<text x="%.2f" y="%d" font-family="Verdana,sans-serif" font-size="%d">%s</text>`, x+3, y+frameH-4, fontSize, esc(label))
		}
		bw.WriteString("</g>\n")
		cx := x
		for _, c := range n.sorted() {
			draw(c, cx, d+1)
			cx += float64(c.count) * scale
		}
	}
	if total > 0 {
		draw(root, pad, 0)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// fitLabel shortens name to what fits in wpx pixels ("" when under 3
// characters fit), ending a cut name in "..".
func fitLabel(name string, wpx float64, fontSize int) string {
	fit := int(wpx / (float64(fontSize) * 0.59))
	if fit < 3 {
		return ""
	}
	r := []rune(name)
	if len(r) <= fit {
		return name
	}
	return string(r[:fit-2]) + ".."
}

// flameColor is flamegraph.pl's "hot" palette, chosen by a hash of the
// name so a function keeps its colour from one graph to the next.
func flameColor(name string, root bool) string {
	if root {
		return "rgb(220,220,220)"
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	r := 205 + int(v%50)
	g := int((v >> 8) % 230)
	b := int((v >> 16) % 55)
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, b)
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
