package build

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// SetLayer adds (on) or removes (!on) a layer in the `layers` list of
// DIR/ukw.yaml, keeping the rest of the file — comments included — and
// validating the result with ParseAppManifest before writing it. It
// reports whether the file changed.
func SetLayer(dir, layer string, on bool) (bool, error) {
	file := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return false, fmt.Errorf("%s: not a mapping", file)
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "layers" {
			list = root.Content[i+1]
		}
	}
	if list == nil {
		if !on {
			return false, nil
		}
		list = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "layers"}, list)
	}
	if list.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("%s:%d: layers is not a list", file, list.Line)
	}
	idx := -1
	for i, n := range list.Content {
		if n.Value == layer {
			idx = i
		}
	}
	switch {
	case on && idx >= 0, !on && idx < 0:
		return false, nil
	case on:
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: layer})
	default:
		list.Content = append(list.Content[:idx], list.Content[idx+1:]...)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return false, err
	}
	enc.Close()
	if _, err := ParseAppManifest(file, out.Bytes()); err != nil {
		return false, err
	}
	tmp := file + ".ukw-tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, file)
}
