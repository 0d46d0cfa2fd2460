package session

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseCommand turns a gdb/Delve-style command line into a Command:
// break/b/tbreak/hbreak, delete/d, continue/c, step/s, next/n, stepi/si,
// nexti/ni, finish/fin, interrupt, print/p, x/FMT, watch/rwatch/awatch,
// frame/f, up, down, profile [DURATION|stop], backtrace/bt, info, layers, layer, rebuild, reboot, quit/q.
func ParseCommand(line string) (Command, error) {
	// a leading ':' is the TUI's (and vim's) command key typed once too often
	line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), ":"))
	if line == "" {
		return nil, fmt.Errorf("empty command")
	}
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	if strings.HasPrefix(verb, "x/") || verb == "x" {
		return parseExamine(verb, arg)
	}
	if c, ok, err := parseGDB(verb, arg); ok {
		return c, err
	}
	noArg := func(c Command) (Command, error) {
		if arg != "" {
			return nil, fmt.Errorf("%s takes no argument", verb)
		}
		return c, nil
	}
	switch verb {
	case "break", "b", "br":
		return parseBreak(verb, arg, Break{Spec: arg})
	case "tbreak", "tb":
		return parseBreak(verb, arg, Break{Spec: arg, Temporary: true})
	case "hbreak", "hb":
		return parseBreak(verb, arg, Break{Spec: arg, Hardware: true})
	case "delete", "d", "clear":
		if arg == "" {
			return Delete{}, nil
		}
		id, err := strconv.Atoi(arg)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("delete: %q is not a breakpoint number", arg)
		}
		return Delete{ID: id}, nil
	case "continue", "c", "cont":
		return noArg(Continue{})
	case "step", "s":
		return noArg(Step{})
	case "next", "n":
		return noArg(Next{})
	case "stepi", "si":
		return noArg(StepInstr{})
	case "nexti", "ni":
		return noArg(NextInstr{})
	case "finish", "fin":
		return noArg(Finish{})
	case "interrupt", "pause":
		return noArg(Interrupt{})
	case "print", "p", "output", "call":
		if arg == "" {
			return nil, fmt.Errorf("print: need an expression")
		}
		return Print{Expr: arg}, nil
	case "watch", "rwatch", "awatch":
		if arg == "" {
			return nil, fmt.Errorf("%s: need an expression", verb)
		}
		kind := map[string]int{"watch": 2, "rwatch": 3, "awatch": 4}[verb]
		return Watch{Expr: arg, Kind: kind}, nil
	case "frame", "f":
		if arg == "" {
			return Info{What: "frame"}, nil
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("frame: %q is not a frame number", arg)
		}
		return SelectFrame{Index: n}, nil
	case "up", "down":
		n := 1
		if arg != "" {
			v, err := strconv.Atoi(arg)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%s: %q is not a number of frames", verb, arg)
			}
			n = v
		}
		if verb == "down" {
			n = -n
		}
		return SelectFrame{Index: n, Relative: true}, nil
	case "backtrace", "bt", "where":
		return noArg(Info{What: "backtrace"})
	case "info", "i":
		subject, rest, _ := strings.Cut(arg, " ")
		what := map[string]string{
			"b": "breakpoints", "break": "breakpoints", "breakpoints": "breakpoints", "watchpoints": "breakpoints",
			"r": "registers", "reg": "registers", "registers": "registers", "all-registers": "registers",
			"f": "frame", "frame": "frame", "locals": "locals", "args": "args",
			"layers": "layers", "bt": "backtrace", "stack": "backtrace",
			"line": "line", "display": "display", "symbol": "symbol", "threads": "threads",
		}[subject]
		if what == "" {
			return nil, fmt.Errorf("info: unknown subject %q (breakpoints, registers, frame, locals, args, layers, stack, line, display, symbol, threads)", subject)
		}
		return Info{What: what, Arg: strings.TrimSpace(rest)}, nil
	case "layers":
		return noArg(ListLayers{})
	case "layer":
		if arg == "" {
			return nil, fmt.Errorf("layer: need a layer name to toggle")
		}
		return ToggleLayer{Name: arg}, nil
	case "disassemble", "disas":
		return noArg(Disassemble{Count: 32})
	case "list", "l":
		return List{Spec: arg}, nil
	case "profile":
		p := Profile{}
		if arg == "stop" {
			return StopProfile{}, nil
		}
		if arg != "" {
			d, err := time.ParseDuration(arg)
			if err != nil {
				secs, err2 := strconv.Atoi(arg)
				if err2 != nil || secs <= 0 {
					return nil, fmt.Errorf("profile: %q is not a duration (e.g. 5s) or \"stop\"", arg)
				}
				d = time.Duration(secs) * time.Second
			}
			if d <= 0 {
				return nil, fmt.Errorf("profile: the duration must be positive")
			}
			p.Duration = d
		}
		return p, nil
	case "rebuild", "make":
		return noArg(Rebuild{})
	case "reboot", "run", "r", "restart":
		return noArg(Reboot{})
	case "quit", "q", "exit":
		return noArg(Quit{})
	}
	return nil, fmt.Errorf("unknown command %q (try: break, continue, step, next, finish, print, x, watch, frame, list, bt, info, layers, rebuild, reboot, quit)", verb)
}

func parseBreak(verb, arg string, b Break) (Command, error) {
	if arg == "" {
		return nil, fmt.Errorf("%s: need a location (function, file.c:LINE, LINE or *ADDRESS)", verb)
	}
	if loc, cond, ok := strings.Cut(arg, " if "); ok { // break LOCATION if COND
		b.Spec, b.Cond = strings.TrimSpace(loc), strings.TrimSpace(cond)
		if b.Cond == "" {
			return nil, fmt.Errorf("%s: `if` needs a condition", verb)
		}
	}
	if strings.ContainsAny(b.Spec, " \t") {
		return nil, fmt.Errorf("%s: want LOCATION [if CONDITION], not %q", verb, arg)
	}
	return b, nil
}

// parseExamine reads gdb's x/NFU: count, format letter, size letter, in any order after the count.
func parseExamine(verb, arg string) (Command, error) {
	e := Examine{Count: 1, Format: 'x', Size: 'w', Expr: arg}
	if arg == "" {
		return nil, fmt.Errorf("x: need an address expression")
	}
	if spec, ok := strings.CutPrefix(verb, "x/"); ok {
		i := 0
		for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
			i++
		}
		if i > 0 {
			n, err := strconv.Atoi(spec[:i])
			if err != nil || n <= 0 || n > 4096 {
				return nil, fmt.Errorf("x: bad count %q", spec[:i])
			}
			e.Count = n
		}
		for _, c := range []byte(spec[i:]) {
			switch c {
			case 'x', 'd', 'u', 'o', 't', 'c', 's', 'i', 'a':
				e.Format = c
			case 'b', 'h', 'w', 'g':
				e.Size = c
			default:
				return nil, fmt.Errorf("x: unknown format letter %q", c)
			}
		}
	}
	return e, nil
}
