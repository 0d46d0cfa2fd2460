package build

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// rootRequire is the capability every native app needs, whatever its
// layers say: something must boot it.
const rootRequire = "platform"

// Resolution is the outcome of resolving an app's layers.
type Resolution struct {
	// Layers in dependency order: every layer after the layers it requires
	// (ties keep the order of the app's layers list). This is the link order.
	Layers []*Layer
	// Providers maps each capability the build uses to the layer providing it.
	Providers map[string]string
	// Defines are the -D flags from layer options and CONFIG_HAVE_*, sorted.
	Defines []string
	// LDScript is the linker script of the one layer that has one.
	LDScript *Layer
}

// Resolve selects the app's layers from the catalog and checks them:
// every requirement has exactly one selected provider, no conflicts, no
// cycles, one linker script, options known and well-typed. Errors name
// the layers, the manifest and line, and suggest a fix.
func Resolve(cat *Catalog, app *AppManifest) (*Resolution, error) {
	var errs ErrorList
	appErr := func(key, hint, format string, args ...any) {
		errs = append(errs, &Error{File: app.File, Line: app.Lines[key], Msg: fmt.Sprintf(format, args...), Hint: hint})
	}
	var sel []*Layer
	selected := map[string]*Layer{}
	for i, name := range app.Layers {
		key := "layers." + strconv.Itoa(i)
		if _, dup := selected[name]; dup {
			appErr(key, "remove the second one", "layer %s is listed twice", name)
			continue
		}
		l, ok := cat.Layers[name]
		if !ok {
			hint := "`ukw layers` lists the catalog"
			if s := closest(name, cat.Names()); s != "" {
				hint = fmt.Sprintf("did you mean %s?", s)
			}
			appErr(key, hint, "unknown layer %q", name)
			continue
		}
		selected[name] = l
		sel = append(sel, l)
	}

	// capability -> selected providers (a layer provides its own name)
	providers := map[string][]string{}
	for _, l := range sel {
		providers[l.Name] = append(providers[l.Name], l.Name)
		for _, c := range l.Provides {
			if c != l.Name {
				providers[c] = append(providers[c], l.Name)
			}
		}
	}
	caps := make([]string, 0, len(providers))
	for c := range providers {
		caps = append(caps, c)
	}
	sort.Strings(caps)
	for _, c := range caps {
		if p := providers[c]; len(p) > 1 {
			appErr("layers", fmt.Sprintf("keep only one of %s in layers", strings.Join(p, ", ")),
				"capability %q is provided by %s: a build needs exactly one provider", c, joinAnd(p))
		}
	}

	suggest := func(c string) string {
		if p := cat.Providers(c); len(p) > 0 {
			return fmt.Sprintf("add %s to layers in %s", joinOr(p), app.File)
		}
		return "no layer in the catalog provides it"
	}
	if len(providers[rootRequire]) == 0 {
		appErr("layers", suggest(rootRequire), "no selected layer provides %q, which every app needs", rootRequire)
	}
	// requirements and conflicts
	edges := map[string][]string{}
	for _, l := range sel {
		for i, r := range l.Requires {
			p := providers[r]
			if len(p) == 0 {
				errs = append(errs, &Error{File: l.File, Line: l.Lines["requires."+strconv.Itoa(i)],
					Msg:  fmt.Sprintf("layer %s requires %q, which no selected layer provides", l.Name, r),
					Hint: suggest(r)})
				continue
			}
			if p[0] != l.Name {
				edges[l.Name] = append(edges[l.Name], p[0])
			}
		}
		for i, c := range l.Conflicts {
			for _, p := range providers[c] {
				if p == l.Name {
					continue
				}
				errs = append(errs, &Error{File: l.File, Line: l.Lines["conflicts."+strconv.Itoa(i)],
					Msg:  fmt.Sprintf("layer %s conflicts with %q, provided by %s", l.Name, c, p),
					Hint: fmt.Sprintf("remove %s or %s from layers in %s", l.Name, p, app.File)})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}

	order, cycle := topoOrder(sel, edges)
	if cycle != nil {
		l := selected[cycle[0]]
		return nil, &Error{File: l.File, Line: l.Lines["requires"],
			Msg:  "dependency cycle: " + strings.Join(cycle, " → "),
			Hint: "a layer cannot require itself, even through others; move the shared part into its own layer"}
	}
	res := &Resolution{Layers: order, Providers: map[string]string{}}
	for c, p := range providers {
		res.Providers[c] = p[0]
	}

	var scripts []string
	for _, l := range order {
		if l.LDScript != "" {
			scripts = append(scripts, l.Name)
			res.LDScript = l
		}
	}
	if len(scripts) != 1 {
		hint := "select the arch layer, which has one"
		if len(scripts) > 1 {
			hint = "keep one of " + strings.Join(scripts, ", ")
		}
		return nil, &Error{File: app.File, Line: app.Lines["layers"],
			Msg: fmt.Sprintf("exactly one selected layer must have a linker script (ldscript), found %d", len(scripts)), Hint: hint}
	}

	if err := checkLayerCFlags(order, app); err != nil {
		return nil, err
	}
	defs, err := optionDefines(order, app)
	if err != nil {
		return nil, err
	}
	res.Defines = defs
	return res, nil
}

// topoOrder orders layers so each follows those it requires. On a cycle it
// returns the cycle's names, first repeated at the end.
func topoOrder(sel []*Layer, edges map[string][]string) ([]*Layer, []string) {
	byName := map[string]*Layer{}
	for _, l := range sel {
		byName[l.Name] = l
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var order []*Layer
	var stack []string
	var cycle []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range edges[n] {
			switch color[m] {
			case grey:
				i := len(stack) - 1
				for stack[i] != m {
					i--
				}
				cycle = append(append([]string{}, stack[i:]...), m)
				return false
			case white:
				if !visit(m) {
					return false
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		order = append(order, byName[n])
		return true
	}
	for _, l := range sel {
		if color[l.Name] == white && !visit(l.Name) {
			return nil, cycle
		}
	}
	return order, nil
}

// checkLayerCFlags makes sure every layer the app adds flags for is built.
func checkLayerCFlags(order []*Layer, app *AppManifest) error {
	inBuild := map[string]bool{}
	for _, l := range order {
		inBuild[l.Name] = true
	}
	var names []string
	for name := range app.LayerCFlags {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs ErrorList
	for _, name := range names {
		if !inBuild[name] {
			errs = append(errs, &Error{File: app.File, Line: app.Lines["layer_cflags."+name],
				Msg:  fmt.Sprintf("layer_cflags names layer %s, which is not in this build", name),
				Hint: "add the layer to layers or remove its flags"})
		}
	}
	return errs.err()
}

// optionDefines types the app's option settings against the layers'
// specs and returns every -D flag: CONFIG_HAVE_<LAYER>=1 and
// CONFIG_<LAYER>_<OPTION>=value.
func optionDefines(order []*Layer, app *AppManifest) ([]string, error) {
	var errs ErrorList
	values := map[string]string{} // macro -> value
	specs := map[string]*OptionSpec{}
	var defs []string
	for _, l := range order {
		defs = append(defs, "-D"+"CONFIG_HAVE_"+macroPart(lastElem(l.Name))+"=1")
		for i := range l.Options {
			o := &l.Options[i]
			specs[l.Name+"."+o.Name] = o
			values[optionMacro(l.Name, o.Name)] = cValue(o.Default)
		}
	}
	inBuild := map[string]*Layer{}
	for _, l := range order {
		inBuild[l.Name] = l
	}
	for _, s := range app.Options {
		l, ok := inBuild[s.Layer]
		if !ok {
			errs = append(errs, &Error{File: app.File, Line: s.Line,
				Msg:  fmt.Sprintf("option %s.%s is for layer %s, which is not in layers", s.Layer, s.Option, s.Layer),
				Hint: "add the layer or remove the option"})
			continue
		}
		o := specs[s.Layer+"."+s.Option]
		if o == nil {
			var names []string
			for _, x := range l.Options {
				names = append(names, x.Name)
			}
			hint := "it has no options"
			if len(names) > 0 {
				hint = "its options: " + strings.Join(names, ", ")
			}
			errs = append(errs, &Error{File: app.File, Line: s.Line,
				Msg: fmt.Sprintf("layer %s has no option %q", s.Layer, s.Option), Hint: hint})
			continue
		}
		v, ok := typedSetting(s, o.Type)
		if !ok {
			errs = append(errs, &Error{File: app.File, Line: s.Line,
				Msg: fmt.Sprintf("option %s.%s must be a %s, not %q", s.Layer, s.Option, o.Type, s.Value)})
			continue
		}
		values[optionMacro(s.Layer, s.Option)] = cValue(v)
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	for m, v := range values {
		defs = append(defs, "-D"+m+"="+v)
	}
	sort.Strings(defs)
	return defs, nil
}

func typedSetting(s OptionSetting, t OptionType) (any, bool) {
	switch t {
	case OptInt:
		if s.Tag == "!!int" {
			v, err := strconv.ParseInt(s.Value, 0, 64)
			return v, err == nil
		}
	case OptBool:
		if s.Tag == "!!bool" {
			v, err := strconv.ParseBool(s.Value)
			return v, err == nil
		}
	case OptString:
		return s.Value, s.Tag != "!!null"
	}
	return nil, false
}

// cValue renders an option value as a C token: an integer, 1/0, or a
// string literal.
func cValue(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case string:
		return cString(x)
	}
	return "0"
}

func cString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func lastElem(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func joinOr(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
