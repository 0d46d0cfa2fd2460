package trace

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// WriteTree prints the call tree below root, one line per node indented
// two spaces per level: calls, inclusive and exclusive time, the function
// and where it is defined.
func WriteTree(w io.Writer, root *Node, c Clock) error {
	if _, err := fmt.Fprintf(w, "%8s %12s %12s  %s\n", "calls", "total", "self", "function"); err != nil {
		return err
	}
	var err error
	for _, ch := range root.Children {
		ch.Walk(func(n *Node, d int) {
			if err != nil {
				return
			}
			line := fmt.Sprintf("%8d %12s %12s  %s%s", n.Calls, c.Format(n.Incl), c.Format(n.Excl), strings.Repeat("  ", d), n.Func.Name)
			if n.Func.File != "" {
				line += fmt.Sprintf("  (%s:%d)", filepath.Base(n.Func.File), n.Func.Line)
			}
			if n.Unfinished > 0 {
				line += fmt.Sprintf("  [%d unfinished]", n.Unfinished)
			}
			_, err = fmt.Fprintln(w, line)
		})
	}
	return err
}

// WriteLog prints tracepoint events, one a line: time since first, name,
// message, source and the function it happened in.
func WriteLog(w io.Writer, evs []Event, first uint64, c Clock) error {
	for _, e := range evs {
		line := fmt.Sprintf("%12s  %-16s %s", "+"+c.Format(sat(e.TSC, first)), e.Point.Name, e.Text)
		var where []string
		if e.Point.File != "" {
			where = append(where, fmt.Sprintf("%s:%d", filepath.Base(e.Point.File), e.Point.Line))
		}
		if e.In != "" {
			where = append(where, "in "+e.In)
		}
		if len(where) > 0 {
			line += "  (" + strings.Join(where, ", ") + ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// TreeShape renders the tree's structure only, "name calls" per line
// indented two spaces per level: what a deterministic guest's trace must
// reproduce exactly whatever its timing.
func TreeShape(root *Node) string {
	var b strings.Builder
	for _, ch := range root.Children {
		ch.Walk(func(n *Node, d int) {
			fmt.Fprintf(&b, "%s%s %d\n", strings.Repeat("  ", d), n.Func.Name, n.Calls)
		})
	}
	return b.String()
}
