package build

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder walks a yaml.Node tree (go.yaml.in/yaml/v3 Node API), collecting
// errors with the file and line instead of stopping at the first one.
type decoder struct {
	file string
	errs ErrorList
}

func (d *decoder) errorf(n *yaml.Node, hint, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the top-level mapping node of data.
func (d *decoder) parseYAML(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			line += contextLineFix(msg)
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: "invalid YAML: " + msg})
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		d.errorf(nil, "", "empty manifest")
		return nil
	}
	top := deref(doc.Content[0])
	if top == nil || top.Kind != yaml.MappingNode {
		d.errorf(top, "", "a manifest must be a mapping of keys to values")
		return nil
	}
	return top
}

// contextLineFix corrects go.yaml.in/yaml/v3's line for parser errors
// that carry a context mark (an unclosed flow sequence, a block mapping):
// decode.go's fail() reports that mark's 0-based line as is.
func contextLineFix(msg string) int {
	if strings.HasPrefix(msg, "did not find expected") &&
		!strings.Contains(msg, "node content") && !strings.Contains(msg, "<document start>") {
		return 1
	}
	return 0
}

// deref follows an alias (one level; yaml/v3 rejects alias cycles).
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// field is one key of a mapping.
type field struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// fields lists a mapping's keys, reporting duplicates, non-string keys and
// keys not in known (when known is non-nil).
func (d *decoder) fields(m *yaml.Node, what string, known []string) []field {
	var out []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), deref(m.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.errorf(m.Content[i], "", "%s: keys must be plain strings", what)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "", "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if known != nil && !contains(known, k.Value) {
			hint := "known keys: " + strings.Join(known, ", ")
			if s := closest(k.Value, known); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			d.errorf(k, hint, "%s: unknown key %q", what, k.Value)
			continue
		}
		out = append(out, field{k.Value, k, v})
	}
	return out
}

func (d *decoder) str(f field) string {
	n := f.value
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(f.keyN, "", "%s must be a string", f.key)
		return ""
	}
	return n.Value
}

func (d *decoder) strList(f field) []string {
	n := f.value
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(f.keyN, "write [a, b] or one \"- item\" per line", "%s must be a list of strings", f.key)
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		c = deref(c)
		if c == nil || c.Kind != yaml.ScalarNode || c.Tag == "!!null" || c.Value == "" {
			d.errorf(n, "", "%s must be a list of non-empty strings", f.key)
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func (d *decoder) int(f field) int64 {
	n := f.value
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(f.keyN, "", "%s must be an integer", f.key)
		return 0
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.errorf(f.keyN, "", "%s: %v", f.key, err)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if dist := editDistance(s, c); dist < bestD {
			best, bestD = c, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
