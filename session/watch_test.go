package session

import (
	"os"
	"path/filepath"
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

// A watch on a variable that -O2 keeps in a register is a value
// watchpoint, as in gdb: the session single-steps, compares the value in
// the frame it was set in, stops at each change and deletes it when that
// frame returns.
func TestValueWatchpointOnARegisterVariable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ukw.yaml"), []byte("name: regwatch\nlayers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/panic]\nsources: [main.c]\nopt: \"2\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.c"), []byte(`#include <stdio.h>
int data[4] = {3, 5, 7, 11};
__attribute__((noipa)) static int sum(int n)
{
	int total = 0;
	for (int i = 0; i < n; i++)
		total += data[i];
	return total;
}
int main(void)
{
	int r = sum(4);
	printf("sum %d\n", r);
	return r == 26 ? 0 : 1;
}
`), 0o644)
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"sum"}})
	h.stop("break sum")
	h.s.Send(Watch{Expr: "total", Kind: 2})
	if out := h.output("watch answer"); !strings.HasPrefix(out.Text, "Software watchpoint 2: total (value") || !strings.Contains(out.Text, "sum's frame") {
		t.Fatalf("watch total answered %q, want a value watchpoint in sum's frame", out.Text)
	}
	var values []string
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatalf("no end of scope after %d stops; values %v", i, values)
		}
		h.s.Send(Continue{})
		s := h.stop("value watchpoint")
		if strings.Contains(s.Detail, "left the block") {
			t.Logf("scope end: %q at %#x", s.Detail, s.PC)
			if top(s).Function != "main" {
				t.Fatalf("scope end reported in %+v", top(s))
			}
			break
		}
		_, nv, ok := strings.Cut(s.Detail, "New value = ")
		if !ok || top(s).Function != "sum" {
			t.Fatalf("stop %q at %+v", s.Detail, top(s))
		}
		nv, _, _ = strings.Cut(nv, "\n")
		values = append(values, nv)
	}
	// gdb 13 on this program (set can-use-hw-watchpoints 0): 0 -> 3, 8,
	// 15, 26, then "deleted because the program has left the block" in main
	if got := strings.Join(values, " "); got != "3 8 15 26" {
		t.Fatalf("total went %q, want 3 8 15 26 as gdb shows", got)
	}
	h.s.Send(Info{What: "breakpoints"})
	if out := h.output("info breakpoints"); strings.Contains(out.Text, "total") {
		t.Fatalf("the watchpoint outlived its frame:\n%s", out.Text)
	}
	h.s.Send(Continue{})
	e := h.until("exit", 60*time.Second, func(e Event) bool { _, ok := e.(ExitEvent); return ok }).(ExitEvent)
	if e.Exit.Status != 0 {
		t.Fatalf("exit %d", e.Exit.Status)
	}
}

// Read and access watchpoints on a ukw app's globals, as gdb words them:
// on kvm-pvm the native VMM takes the page out of guest RAM (vmm/watch.go).
func TestReadAndAccessWatchpoints(t *testing.T) {
	dir := testenv.CopyApp(t, "../testdata/guests/calls")
	h := start(t, Config{Dir: dir, NoWatch: true, Breakpoints: []string{"measure_all"}})
	h.stop("breakpoint at measure_all")
	h.s.Send(Watch{Expr: "scale", Kind: 3})
	if out := h.output("rwatch answer"); !strings.HasPrefix(out.Text, "Hardware read watchpoint 2 at ") {
		t.Fatalf("rwatch answered %q", out.Text)
	}
	h.s.Send(Continue{})
	s := h.stop("read watchpoint")
	if !strings.Contains(s.Detail, "Hardware read watchpoint 2: scale\nValue = 1") || top(s).Function != "measure" {
		t.Fatalf("read watchpoint stop: %q at %+v", s.Detail, top(s))
	}
	h.s.Send(Delete{})
	h.s.Send(Watch{Expr: "visits", Kind: 4})
	h.output("awatch answer")
	h.s.Send(Continue{})
	s = h.stop("access watchpoint (read)")
	if !strings.Contains(s.Detail, "Hardware access (read/write) watchpoint 3: visits\nValue = 3") || top(s).Function != "manhattan" {
		t.Fatalf("access watchpoint read stop: %q at %+v", s.Detail, top(s))
	}
	h.s.Send(Continue{})
	s = h.stop("access watchpoint (write)")
	if !strings.Contains(s.Detail, "Old value = 3\nNew value = 4") {
		t.Fatalf("access watchpoint write stop: %q at %+v", s.Detail, top(s))
	}
}
