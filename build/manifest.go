package build

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// OptionType is the type of a layer option.
type OptionType string

// Option types (docs/manifests.md).
const (
	OptInt    OptionType = "int"
	OptBool   OptionType = "bool"
	OptString OptionType = "string"
)

// OptionSpec is an option a layer declares. Default is an int64, bool or
// string matching Type.
type OptionSpec struct {
	Name        string     `json:"name"`
	Type        OptionType `json:"type"`
	Default     any        `json:"default"`
	Description string     `json:"description,omitempty"`
}

// LayerManifest is a parsed layer.yaml (docs/manifests.md).
type LayerManifest struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Provides    []string     `json:"provides"`
	Requires    []string     `json:"requires"`
	Conflicts   []string     `json:"conflicts"`
	Sources     []string     `json:"sources"`
	Includes    []string     `json:"includes,omitempty"`
	CFlags      []string     `json:"cflags,omitempty"`
	LDScript    string       `json:"ldscript,omitempty"`
	Options     []OptionSpec `json:"options,omitempty"` // sorted by name

	// File is the manifest's path as shown in messages; Lines maps each
	// key ("requires", "requires.1", "options.heap_kib") to its line.
	File  string         `json:"-"`
	Lines map[string]int `json:"-"`
}

var layerKeys = []string{"name", "description", "provides", "requires", "conflicts", "sources", "includes", "cflags", "ldscript", "options"}
var optionKeys = []string{"type", "default", "description"}

var layerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$`)
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseLayerManifest parses a layer.yaml; file names it in errors.
func ParseLayerManifest(file string, data []byte) (*LayerManifest, error) {
	d := &decoder{file: file}
	top := d.parseYAML(data)
	if top == nil {
		return nil, d.errs.err()
	}
	m := &LayerManifest{File: file, Lines: map[string]int{}}
	for _, f := range d.fields(top, "layer.yaml", layerKeys) {
		m.Lines[f.key] = f.keyN.Line
		switch f.key {
		case "name":
			m.Name = d.str(f)
		case "description":
			m.Description = d.str(f)
		case "provides":
			m.Provides = d.strList(f)
		case "requires":
			m.Requires = d.strList(f)
			d.itemLines(m.Lines, f)
		case "conflicts":
			m.Conflicts = d.strList(f)
			d.itemLines(m.Lines, f)
		case "sources":
			m.Sources = d.strList(f)
		case "includes":
			m.Includes = d.strList(f)
		case "cflags":
			m.CFlags = d.strList(f)
		case "ldscript":
			m.LDScript = d.str(f)
		case "options":
			m.Options = d.optionSpecs(f, m.Lines)
		}
	}
	if m.Name == "" {
		if _, ok := m.Lines["name"]; !ok {
			d.errorf(top, "", "missing required key \"name\"")
		}
	} else if !layerNameRE.MatchString(m.Name) {
		d.errorf(lineNode(m.Lines["name"]), "use lower-case path elements such as lib/alloc-bump", "invalid layer name %q", m.Name)
	}
	for _, s := range m.Sources {
		if e := path.Ext(s); e != ".c" && e != ".S" {
			d.errorf(lineNode(m.Lines["sources"]), "", "source %q: only .c and .S files are compiled", s)
		}
	}
	for _, p := range append(append(append([]string{}, m.Sources...), m.Includes...), m.LDScript) {
		if p != "" && !localPath(p) {
			d.errorf(lineNode(m.Lines["sources"]), "", "path %q must stay inside the layer directory", p)
		}
	}
	return m, d.errs.err()
}

func lineNode(line int) *yaml.Node { return &yaml.Node{Line: line} }

// localPath reports whether p is relative and does not leave its directory.
func localPath(p string) bool {
	c := path.Clean(p)
	return !path.IsAbs(p) && c != ".." && !(len(c) > 3 && c[:3] == "../")
}

// itemLines records the line of each list item as "key.i".
func (d *decoder) itemLines(lines map[string]int, f field) {
	if f.value == nil || f.value.Kind != yaml.SequenceNode {
		return
	}
	for i, c := range f.value.Content {
		lines[f.key+"."+strconv.Itoa(i)] = c.Line
	}
}

func (d *decoder) optionSpecs(f field, lines map[string]int) []OptionSpec {
	if f.value == nil || f.value.Kind != yaml.MappingNode {
		if f.value != nil && f.value.Tag == "!!null" {
			return nil
		}
		d.errorf(f.keyN, "", "options must be a mapping of option names")
		return nil
	}
	var out []OptionSpec
	for _, of := range d.fields(f.value, "options", nil) {
		lines["options."+of.key] = of.keyN.Line
		if !identRE.MatchString(of.key) {
			d.errorf(of.keyN, "", "option name %q must be a C identifier", of.key)
			continue
		}
		if of.value == nil || of.value.Kind != yaml.MappingNode {
			d.errorf(of.keyN, "", "option %q must be a mapping with type, default and description", of.key)
			continue
		}
		o := OptionSpec{Name: of.key}
		var def *field
		for _, g := range d.fields(of.value, "option "+of.key, optionKeys) {
			switch g.key {
			case "type":
				o.Type = OptionType(d.str(g))
			case "default":
				g := g
				def = &g
			case "description":
				o.Description = d.str(g)
			}
		}
		switch o.Type {
		case OptInt, OptBool, OptString:
		case "":
			d.errorf(of.keyN, "", "option %q: missing type (int, bool or string)", of.key)
			continue
		default:
			d.errorf(of.keyN, "", "option %q: unknown type %q (int, bool or string)", of.key, o.Type)
			continue
		}
		if def == nil {
			d.errorf(of.keyN, "", "option %q: missing default", of.key)
			continue
		}
		o.Default = d.typed(*def, o.Type, "option "+of.key+" default")
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// typed decodes a scalar as an option value of type t.
func (d *decoder) typed(f field, t OptionType, what string) any {
	n := f.value
	if n == nil || n.Kind != yaml.ScalarNode {
		d.errorf(f.keyN, "", "%s must be a %s", what, t)
		return nil
	}
	switch t {
	case OptInt:
		if n.Tag == "!!int" {
			if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return v
			}
		}
	case OptBool:
		if n.Tag == "!!bool" {
			if v, err := strconv.ParseBool(n.Value); err == nil {
				return v
			}
		}
	case OptString:
		if n.Tag != "!!null" {
			return n.Value
		}
	}
	d.errorf(f.keyN, "", "%s must be a %s, not %q", what, t, n.Value)
	return nil
}

// AppManifest is a parsed ukw.yaml (docs/manifests.md).
type AppManifest struct {
	Name     string   `json:"name"`
	Layers   []string `json:"layers,omitempty"`
	Sources  []string `json:"sources,omitempty"`
	Includes []string `json:"includes,omitempty"`
	CFlags   []string `json:"cflags,omitempty"`
	// LayerCFlags adds flags to one layer's sources in this app only
	// (e.g. lib/nolibc: [-finstrument-functions] to trace libc calls).
	LayerCFlags map[string][]string `json:"layer_cflags,omitempty"`
	Opt         string              `json:"opt,omitempty"`
	Cmdline     string              `json:"cmdline"`
	MemoryMiB   int                 `json:"memory"`
	Options     []OptionSetting     `json:"options,omitempty"`
	LayerPaths  []string            `json:"layer_paths,omitempty"`
	External    *External           `json:"external,omitempty"`

	// File is the manifest's path as shown in messages; Lines maps keys
	// ("layers", "layers.2", "options.lib/panic.x") to lines.
	File  string         `json:"-"`
	Lines map[string]int `json:"-"`
}

// OptionSetting is one "layer.option: value" of an app. Value is the YAML
// scalar; it is typed against the layer's OptionSpec during resolution.
type OptionSetting struct {
	Layer, Option string
	Value         string
	Tag           string // YAML tag: !!int, !!bool, !!str
	Line          int
}

// External describes an app built by its own tool (docs/manifests.md).
type External struct {
	Build  string   `json:"build"`
	Kernel string   `json:"kernel"`
	Debug  string   `json:"debug,omitempty"`
	Watch  []string `json:"watch,omitempty"`
}

var appKeys = []string{"name", "layers", "sources", "includes", "cflags", "layer_cflags", "opt", "cmdline", "memory", "options", "layer_paths", "external"}
var externalKeys = []string{"build", "kernel", "debug", "watch"}
var nativeOnly = []string{"layers", "sources", "includes", "cflags", "layer_cflags", "opt", "options"}

var appNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// DefaultMemoryMiB is the guest RAM of an app whose ukw.yaml names none.
const DefaultMemoryMiB = 32

// ParseAppManifest parses a ukw.yaml; file names it in errors.
func ParseAppManifest(file string, data []byte) (*AppManifest, error) {
	d := &decoder{file: file}
	top := d.parseYAML(data)
	if top == nil {
		return nil, d.errs.err()
	}
	m := &AppManifest{File: file, Lines: map[string]int{}, Opt: "2", MemoryMiB: DefaultMemoryMiB}
	for _, f := range d.fields(top, "ukw.yaml", appKeys) {
		m.Lines[f.key] = f.keyN.Line
		switch f.key {
		case "name":
			m.Name = d.str(f)
		case "layers":
			m.Layers = d.strList(f)
			d.itemLines(m.Lines, f)
		case "sources":
			m.Sources = d.strList(f)
		case "includes":
			m.Includes = d.strList(f)
		case "cflags":
			m.CFlags = d.strList(f)
		case "layer_cflags":
			m.LayerCFlags = d.layerCFlags(f, m.Lines)
		case "opt":
			m.Opt = d.str(f)
		case "cmdline":
			if f.value != nil && f.value.Tag == "!!null" {
				m.Cmdline = ""
			} else {
				m.Cmdline = d.str(f)
			}
		case "memory":
			n := len(d.errs)
			m.MemoryMiB = int(d.int(f))
			if len(d.errs) == n && (m.MemoryMiB < 2 || m.MemoryMiB > 65536) {
				d.errorf(f.keyN, "", "memory must be between 2 and 65536 MiB, not %d", m.MemoryMiB)
			}
		case "options":
			m.Options = d.optionSettings(f, m.Lines)
		case "layer_paths":
			m.LayerPaths = d.strList(f)
		case "external":
			m.External = d.external(f)
		}
	}
	if m.Name == "" {
		if _, ok := m.Lines["name"]; !ok {
			d.errorf(top, "", "missing required key \"name\"")
		}
	} else if !appNameRE.MatchString(m.Name) {
		d.errorf(lineNode(m.Lines["name"]), "letters, digits, '_', '.' and '-' only", "invalid app name %q", m.Name)
	}
	switch m.Opt {
	case "0", "1", "2", "s", "g":
	default:
		d.errorf(lineNode(m.Lines["opt"]), "", "opt must be one of 0, 1, 2, s, g, not %q", m.Opt)
	}
	if m.External != nil {
		for _, k := range nativeOnly {
			if l, ok := m.Lines[k]; ok {
				d.errorf(lineNode(l), "remove it: the external build command decides", "%s is not allowed in an external app", k)
			}
		}
	} else if _, ok := m.Lines["name"]; ok {
		if _, ok := m.Lines["layers"]; !ok || (len(m.Layers) == 0 && noErrorAt(d, m.Lines["layers"])) {
			d.errorf(lineNode(m.Lines["layers"]), "for example: layers: [arch/x86_64, plat/kvm, lib/nolibc]", "an app needs layers (or an external build)")
		}
		for _, s := range m.Sources {
			if e := path.Ext(s); e != ".c" && e != ".S" {
				d.errorf(lineNode(m.Lines["sources"]), "", "source %q: only .c and .S files are compiled", s)
			}
		}
	}
	return m, d.errs.err()
}

// noErrorAt reports whether no error was recorded at line (so an empty list is
// the problem, not its syntax).
func noErrorAt(d *decoder, line int) bool {
	for _, e := range d.errs {
		if e.Line == line {
			return false
		}
	}
	return true
}

func (d *decoder) optionSettings(f field, lines map[string]int) []OptionSetting {
	if f.value == nil || f.value.Kind != yaml.MappingNode {
		if f.value != nil && f.value.Tag == "!!null" {
			return nil
		}
		d.errorf(f.keyN, "write \"layer/name.option: value\" entries", "options must be a mapping")
		return nil
	}
	var out []OptionSetting
	for _, of := range d.fields(f.value, "options", nil) {
		lines["options."+of.key] = of.keyN.Line
		i := len(of.key) - 1
		for i >= 0 && of.key[i] != '.' {
			i--
		}
		if i <= 0 || i == len(of.key)-1 {
			d.errorf(of.keyN, "for example lib/alloc-bump.heap_kib: 2048", "option %q must be written layer.option", of.key)
			continue
		}
		if of.value == nil || of.value.Kind != yaml.ScalarNode {
			d.errorf(of.keyN, "", "option %q must be a single value", of.key)
			continue
		}
		out = append(out, OptionSetting{Layer: of.key[:i], Option: of.key[i+1:], Value: of.value.Value, Tag: of.value.Tag, Line: of.keyN.Line})
	}
	return out
}

// layerCFlags parses `layer_cflags: {LAYER: [FLAG...]}`; each layer's line
// is kept as "layer_cflags.LAYER".
func (d *decoder) layerCFlags(f field, lines map[string]int) map[string][]string {
	if f.value == nil || f.value.Kind != yaml.MappingNode {
		if f.value != nil && f.value.Tag == "!!null" {
			return nil
		}
		d.errorf(f.keyN, "for example layer_cflags: {lib/nolibc: [-finstrument-functions]}", "layer_cflags must be a mapping of layer names to flag lists")
		return nil
	}
	out := map[string][]string{}
	for _, lf := range d.fields(f.value, "layer_cflags", nil) {
		lines["layer_cflags."+lf.key] = lf.keyN.Line
		out[lf.key] = d.strList(lf)
	}
	return out
}

func (d *decoder) external(f field) *External {
	if f.value == nil || f.value.Kind != yaml.MappingNode {
		d.errorf(f.keyN, "", "external must be a mapping with build, kernel, debug and watch")
		return &External{}
	}
	e := &External{}
	for _, g := range d.fields(f.value, "external", externalKeys) {
		switch g.key {
		case "build":
			e.Build = d.str(g)
		case "kernel":
			e.Kernel = d.str(g)
		case "debug":
			e.Debug = d.str(g)
		case "watch":
			e.Watch = d.strList(g)
			for _, w := range e.Watch {
				if _, err := path.Match(w, ""); err != nil {
					d.errorf(g.keyN, "", "watch glob %q: %v", w, err)
				}
			}
		}
	}
	if e.Build == "" {
		d.errorf(f.keyN, "", "external: missing build command")
	}
	if e.Kernel == "" {
		d.errorf(f.keyN, "", "external: missing kernel path")
	}
	return e
}

// String renders the setting as it appears in ukw.yaml.
func (s OptionSetting) String() string { return fmt.Sprintf("%s.%s: %s", s.Layer, s.Option, s.Value) }
