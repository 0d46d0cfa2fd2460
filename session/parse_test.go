package session

import (
	"reflect"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	cases := map[string]Command{
		"b main":                  Break{Spec: "main"},
		"break hello.c:12":        Break{Spec: "hello.c:12"},
		"tbreak *0x1000":          Break{Spec: "*0x1000", Temporary: true},
		"hbreak f":                Break{Spec: "f", Hardware: true},
		"d":                       Delete{},
		"delete 3":                Delete{ID: 3},
		"c":                       Continue{},
		"s":                       Step{},
		"n":                       Next{},
		"si":                      StepInstr{},
		"nexti":                   NextInstr{},
		"finish":                  Finish{},
		"p counter + 1":           Print{Expr: "counter + 1"},
		"x/8gx $rsp":              Examine{Expr: "$rsp", Count: 8, Format: 'x', Size: 'g'},
		"x/s msg":                 Examine{Expr: "msg", Count: 1, Format: 's', Size: 'w'},
		"x &g":                    Examine{Expr: "&g", Count: 1, Format: 'x', Size: 'w'},
		"watch counter":           Watch{Expr: "counter", Kind: 2},
		"awatch *0x10":            Watch{Expr: "*0x10", Kind: 4},
		"frame 2":                 SelectFrame{Index: 2},
		"bt":                      Info{What: "backtrace"},
		"info reg":                Info{What: "registers"},
		"layers":                  ListLayers{},
		"list main.c:12":          List{Spec: "main.c:12"},
		"l measure":               List{Spec: "measure"},
		"list":                    List{},
		"b measure if index == 2": Break{Spec: "measure", Cond: "index == 2"},
		"p/x counter":             Print{Expr: "counter", Format: 'x'},
		"print/t 5":               Print{Expr: "5", Format: 't'},
		"whatis s":                Whatis{Expr: "s"},
		"ptype *s":                Whatis{Expr: "*s", Expand: true},
		"set var x = 3":           SetVar{Lhs: "x", Rhs: "3"},
		"set y=x==2":              SetVar{Lhs: "y", Rhs: "x==2"},
		"display i":               Display{Expr: "i"},
		"display/x i":             Display{Expr: "i", Format: 'x'},
		"display":                 Info{What: "display"},
		"undisplay 2":             Undisplay{ID: 2},
		"disable":                 Enable{},
		"enable 3":                Enable{ID: 3, On: true},
		"condition 1 i<2":         Condition{ID: 1, Expr: "i<2"},
		"condition 1":             Condition{ID: 1},
		"advance 25":              Advance{Spec: "25"},
		"until main.c:9":          Advance{Spec: "main.c:9"},
		"info reg rip rsp":        Info{What: "registers", Arg: "rip rsp"},
		"info line":               Info{What: "line"},
		":list main":              List{Spec: "main"},
		" : c":                    Continue{},
		"layer lib/trace":         ToggleLayer{Name: "lib/trace"},
		"rebuild":                 Rebuild{},
		"profile":                 Profile{},
		"profile 2s":              Profile{Duration: 2 * time.Second},
		"profile 10":              Profile{Duration: 10 * time.Second},
		"profile stop":            StopProfile{},
		"reboot":                  Reboot{},
		"q":                       Quit{},
	}
	for line, want := range cases {
		got, err := ParseCommand(line)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q = %#v, want %#v", line, got, want)
		}
	}
	for _, bad := range []string{"", "b", "frobnicate", "delete x", "x/0x $rsp", "x/8z $rsp", "c now", "info nothing", "frame -1", "b main if", "b main x", "profile soon", "profile -1s", "p/q x", "set x", "condition x", "advance", "jump", "thread", "thread x", "ptype", "undisplay z"} {
		if c, err := ParseCommand(bad); err == nil {
			t.Errorf("%q parsed as %#v, want an error", bad, c)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"b main", "x/8gx $rsp", "delete 3", "info reg", "p a->b[2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCommand(s)
		if (c == nil) == (err == nil) {
			t.Fatalf("%q: command %v and error %v", s, c, err)
		}
	})
}
