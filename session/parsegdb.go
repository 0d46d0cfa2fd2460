package session

import (
	"fmt"
	"strconv"
	"strings"
)

// printFormats are gdb's print/display format letters (gdb manual,
// "Output Formats").
const printFormats = "xduotcaz"

// parseGDB parses the gdb commands beyond run control and breakpoints:
// print/FMT, ptype, whatis, set var, display, undisplay, enable, disable,
// condition, advance and until LOCATION. ok is false for other verbs.
func parseGDB(verb, arg string) (c Command, ok bool, err error) {
	base, fmtPart, hasFmt := strings.Cut(verb, "/")
	var format byte
	if hasFmt {
		if len(fmtPart) != 1 || !strings.Contains(printFormats, fmtPart) {
			return nil, true, fmt.Errorf("%s: unknown format %q (one of %s)", base, fmtPart, printFormats)
		}
		format = fmtPart[0]
	}
	switch base {
	case "print", "p", "output", "call", "inspect":
		if !hasFmt && base != "inspect" {
			return nil, false, nil // the plain form: ParseCommand's
		}
		if arg == "" {
			return nil, true, fmt.Errorf("print: need an expression")
		}
		return Print{Expr: arg, Format: format}, true, nil
	case "display":
		if arg == "" {
			return Info{What: "display"}, true, nil
		}
		return Display{Expr: arg, Format: format}, true, nil
	}
	if hasFmt {
		return nil, false, nil
	}
	switch verb {
	case "whatis", "ptype":
		if arg == "" {
			return nil, true, fmt.Errorf("%s: need an expression", verb)
		}
		return Whatis{Expr: arg, Expand: verb == "ptype"}, true, nil
	case "set":
		rest := arg
		if v, after, found := strings.Cut(arg, " "); found && (v == "var" || v == "variable") {
			rest = strings.TrimSpace(after)
		}
		lhs, rhs, found := cutAssign(rest)
		if !found {
			return nil, true, fmt.Errorf("set: want `set var NAME = VALUE`")
		}
		return SetVar{Lhs: lhs, Rhs: rhs}, true, nil
	case "start":
		if arg != "" {
			return nil, true, fmt.Errorf("start takes no argument (the command line is the app's cmdline)")
		}
		return Start{}, true, nil
	case "undisplay":
		id, err := optionalID(verb, arg)
		return Undisplay{ID: id}, true, err
	case "enable", "disable":
		id, err := optionalID(verb, arg)
		return Enable{ID: id, On: verb == "enable"}, true, err
	case "condition":
		idText, expr, _ := strings.Cut(arg, " ")
		id, err := strconv.Atoi(idText)
		if err != nil || id <= 0 {
			return nil, true, fmt.Errorf("condition: want `condition N [EXPR]`")
		}
		return Condition{ID: id, Expr: strings.TrimSpace(expr)}, true, nil
	case "thread":
		id, err := strconv.Atoi(arg)
		if err != nil || id < 0 {
			return nil, true, fmt.Errorf("thread: want a thread id (info threads lists them)")
		}
		return Thread{ID: id}, true, nil
	case "jump", "j":
		if arg == "" {
			return nil, true, fmt.Errorf("jump: need a location (LINE, FILE:LINE, FUNCTION or *ADDRESS)")
		}
		return Jump{Spec: arg}, true, nil
	case "advance", "until", "u":
		if arg == "" {
			if verb == "advance" {
				return nil, true, fmt.Errorf("advance: need a location")
			}
			return Until{}, true, nil
		}
		return Advance{Spec: arg}, true, nil
	}
	return nil, false, nil
}

// cutAssign splits "lhs = rhs" at the assignment, not at ==, <=, >= or !=.
func cutAssign(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '=' {
			i++
			continue
		}
		if i > 0 && strings.ContainsRune("=!<>", rune(s[i-1])) {
			continue
		}
		lhs, rhs := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		return lhs, rhs, lhs != "" && rhs != ""
	}
	return "", "", false
}

// optionalID parses "" (0: all) or a positive number.
func optionalID(verb, arg string) (int, error) {
	if arg == "" {
		return 0, nil
	}
	id, err := strconv.Atoi(arg)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s: %q is not a number", verb, arg)
	}
	return id, nil
}
