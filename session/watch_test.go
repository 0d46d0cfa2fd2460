package session

import (
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/qemu"
)

func TestWatchpointPrintAndFrames(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure_all"}})
	h.stop("breakpoint at measure_all")

	h.s.Send(Print{Expr: "shapes[1].name"})
	if out := h.output("print"); out.Error || !strings.Contains(out.Text, `"square"`) {
		t.Fatalf("print shapes[1].name: %q", out.Text)
	}
	h.s.Send(Print{Expr: "shapes[0].corners[1].x * scale + 1"})
	if out := h.output("print arithmetic"); out.Text != "shapes[0].corners[1].x * scale + 1 = 5" {
		t.Fatalf("print arithmetic: %q", out.Text)
	}

	// visits is written by manhattan(); whatever the backend's strategy
	// (debug registers, or single-stepping when it has none), the stop
	// must be right after the write, in manhattan, with the new value.
	h.s.Send(Watch{Expr: "visits", Kind: 2})
	h.output("watch answer")
	h.s.Send(Continue{})
	s := h.stop("watchpoint")
	if !strings.Contains(s.Detail, "visits") || !strings.Contains(s.Detail, "New value = 1") || top(s).Function != "manhattan" {
		t.Fatalf("watchpoint stop: %q at %+v", s.Detail, top(s))
	}
	h.s.Send(SelectFrame{Index: 1, Relative: true})
	fe := h.until("frame", 30*time.Second, func(e Event) bool { _, ok := e.(FrameEvent); return ok }).(FrameEvent)
	if fe.Frame.Function != "perimeter" {
		t.Fatalf("up went to %+v", fe.Frame)
	}
	found := false
	for _, v := range fe.Vars {
		if v.Name == "s" && strings.HasPrefix(v.Type, "const struct shape") {
			found = true
		}
	}
	if !found {
		t.Fatalf("perimeter's argument s missing: %+v", fe.Vars)
	}
}

// On a backend that refuses watchpoints (QEMU on KVM: Z2 is refused there,
// see docs/gdb.md), the session single-steps and compares, as gdb does.
func TestSoftwareWatchpointOnABackendWithout(t *testing.T) {
	testenv.Tool(t, "qemu-system-x86_64")
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	boot := func(c guest.Config) (guest.Machine, error) {
		return qemu.NewOptions(c, qemu.Options{Accel: "kvm"})
	}
	h := start(t, Config{Dir: dir, NoWatch: true, Boot: boot, Breakpoints: []string{"measure_all"}})
	h.stop("breakpoint at measure_all")
	h.s.Send(Watch{Expr: "visits", Kind: 2})
	if out := h.output("watch answer"); !strings.HasPrefix(out.Text, "Software watchpoint 2") {
		t.Fatalf("watch answered %q, want a software watchpoint", out.Text)
	}
	h.s.Send(Continue{})
	s := h.stop("software watchpoint")
	if !strings.Contains(s.Detail, "Software watchpoint 2: visits") || !strings.Contains(s.Detail, "Old value = 0") ||
		!strings.Contains(s.Detail, "New value = 1") || top(s).Function != "manhattan" {
		t.Fatalf("watchpoint stop: %q at %+v", s.Detail, top(s))
	}
}
