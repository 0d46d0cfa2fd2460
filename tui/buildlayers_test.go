package tui

import (
	"strings"
	"testing"
	"time"

	"ukw/session"
)

func failedBuild() session.BuildEvent {
	return session.BuildEvent{Phase: session.BuildFailed, Trigger: []string{helloPath}, Duration: 95 * time.Millisecond,
		Diagnostics: []session.Diagnostic{
			{File: helloPath, Line: 13, Col: 37, Severity: "error", Message: "expected ';' before 'printf'"},
			{File: "/src/examples/hello/util.c", Line: 4, Col: 1, Severity: "warning", Message: "no newline at end of file"},
			{File: helloPath, Line: 7, Severity: "note", Message: "in definition of 'square'"},
		}}
}

func TestBuildPane(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneBuild)
		c, _ := testCommon(w, h)
		p := NewBuildPane(c)
		p.SetFocus(true)
		mustContain(t, p.View(), "no build yet")
		feed(p, session.BuildEvent{Phase: session.BuildStarted, Trigger: []string{helloPath}})
		mustContain(t, p.View(), "building… (hello.c changed)")
		feed(p, failedBuild())
		v := p.View()
		checkSize(t, v, w, h)
		mustContain(t, v, "FAILED in 95 ms: 1 errors, 1 warnings", "error hello.c:13:37: expected ';'", "warning util.c:4:1", "note hello.c:7:")
		if p.Info() != "FAILED" {
			t.Errorf("Info = %q", p.Info())
		}
		// the cursor starts on the first error: Enter jumps there
		cmd := p.Update(press("enter"))
		if cmd == nil {
			t.Fatal("enter on an error gives no jump")
		}
		if got := cmd(); got != (JumpMsg{File: helloPath, Line: 13}) {
			t.Errorf("jump = %#v", got)
		}
		feed(p, press("down"))
		if got := p.Update(press("enter"))(); got != (JumpMsg{File: "/src/examples/hello/util.c", Line: 4}) {
			t.Errorf("jump = %#v", got)
		}
		// the summary row is not a jump target
		feed(p, press("g"))
		if p.Update(press("enter")) != nil {
			t.Error("enter on the summary jumped")
		}
		feed(p, session.BuildEvent{Phase: session.BuildOK, Duration: 120 * time.Millisecond, Compiled: 1, Cached: 12, ImageBytes: 3 << 20})
		mustContain(t, p.View(), "ok in 120 ms: 1 compiled, 12 cached,", "3.0 MiB")
		mustNotContain(t, p.View(), "expected ';'")
	}
}

func TestBuildPaneNonCompilerError(t *testing.T) {
	c, _ := testCommon(40, 8)
	p := NewBuildPane(c)
	feed(p, session.BuildEvent{Phase: session.BuildFailed, Error: "ukw.yaml: layer \"netstack\" is not in the catalog", Output: "ld: cannot find -lfoo\n"})
	v := p.View()
	mustContain(t, v, "FAILED", "ukw.yaml: layer", "ld: cannot find -lfoo")
}

func TestLayersToggleAndConflict(t *testing.T) {
	for _, sz := range sizes {
		w, h := paneSize(sz[0], sz[1], paneLayers)
		c, rec := testCommon(w, h)
		p := NewLayersPane(c)
		p.SetFocus(true)
		mustContain(t, p.View(), "no layer catalog yet")
		feed(p, fixtureLayers())
		v := p.View()
		checkSize(t, v, w, h)
		mustContain(t, v, "[x] boot64", "[x] console", "[ ] vga")
		if p.Info() != "3/4 selected" {
			t.Errorf("Info = %q", p.Info())
		}
		feed(p, press("G"), press(" "))
		if got := rec.last(); got != (session.ToggleLayer{Name: "vga"}) {
			t.Fatalf("space sent %#v", got)
		}
		mustContain(t, p.View(), "[~] vga")
		ev := fixtureLayers()
		ev.Problem = "vga conflicts with console: both provide \"console\"; remove one of them"
		feed(p, ev)
		v = p.View()
		lines := strings.Split(v, "\n")
		at := -1
		for i, l := range lines {
			if strings.Contains(l, "[ ] vga") {
				at = i
			}
		}
		if at < 0 || at+1 >= len(lines) {
			t.Fatalf("no vga row:\n%s", v)
		}
		// the explanation sits under the toggled layer (after its details row)
		rest := strings.Join(lines[at+1:], "\n")
		if !strings.Contains(rest, "✗ vga conflicts with console") {
			t.Errorf("the conflict is not explained under vga:\n%s", v)
		}
		if p.Info() != "conflict" {
			t.Errorf("Info = %q", p.Info())
		}
		feed(p, fixtureLayers())
		mustNotContain(t, p.View(), "✗")
	}
}

func TestLayersProblemWithoutToggle(t *testing.T) {
	c, _ := testCommon(50, 10)
	p := NewLayersPane(c)
	ev := fixtureLayers()
	ev.Problem = "libc-min requires console"
	feed(p, ev)
	if first := strings.SplitN(p.View(), "\n", 2)[0]; !strings.Contains(first, "✗ libc-min requires console") {
		t.Errorf("an unprompted problem goes on top: %q", first)
	}
}
