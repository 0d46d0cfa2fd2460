package vmm

import (
	"strings"
	"testing"
	"time"

	"ukw/guest"
)

// TestGuest64Actions boots the 64-bit test guest once per action and
// checks how each run ends.
func TestGuest64Actions(t *testing.T) {
	img := buildGuest(t, "guest64.S", "elf64")
	cases := []struct {
		cmdline string
		strict  bool
		timeout time.Duration
		check   func(t *testing.T, r result)
	}{
		{"7", false, 0, func(t *testing.T, r result) { wantExit(t, r, guest.ExitPort, 7) }},
		{"q", false, 0, func(t *testing.T, r result) {
			wantExit(t, r, guest.ExitPort, 5)
			if r.exit.Port != 0x501 {
				t.Fatalf("exit port %#x", r.exit.Port)
			}
		}},
		{"r", false, 0, func(t *testing.T, r result) { wantExit(t, r, guest.ExitReset, 0) }},
		{"o", false, 0, func(t *testing.T, r result) { wantExit(t, r, guest.ExitPowerOff, 0) }},
		{"h", false, 0, func(t *testing.T, r result) { wantExit(t, r, guest.ExitHalted, 0) }},
		{"p", false, 0, func(t *testing.T, r result) {
			f := wantFault(t, r, guest.FaultException)
			if f.Vector != 14 || f.Regs.CR2 != 0x8000000000 || f.ErrorCode != 0 {
				t.Fatalf("#PF: vector %d cr2 %#x error %#x", f.Vector, f.Regs.CR2, f.ErrorCode)
			}
			if len(f.Stack) != 256 || f.StackAddr != f.Regs.RSP {
				t.Fatalf("stack copy %d bytes at %#x, rsp %#x", len(f.Stack), f.StackAddr, f.Regs.RSP)
			}
		}},
		{"g", false, 0, func(t *testing.T, r result) { wantVector(t, r, 13) }},
		{"u", false, 0, func(t *testing.T, r result) { wantVector(t, r, 6) }},
		{"d", false, 0, func(t *testing.T, r result) { wantVector(t, r, 0) }},
		{"t", false, 0, func(t *testing.T, r result) {
			f := wantFault(t, r, guest.FaultTripleFault)
			if f.Regs.RIP < 0x100000 {
				t.Fatalf("triple fault registers not filled: rip %#x", f.Regs.RIP)
			}
		}},
		{"l", false, 300 * time.Millisecond, func(t *testing.T, r result) { wantFault(t, r, guest.FaultTimeout) }},
		{"i", false, 0, func(t *testing.T, r result) {
			wantExit(t, r, guest.ExitPort, 7)
			if len(r.logs) != 1 || !strings.Contains(r.logs[0], "0x1234") {
				t.Fatalf("logs %q, want one about port 0x1234", r.logs)
			}
		}},
		{"i", true, 0, func(t *testing.T, r result) {
			f := wantFault(t, r, guest.FaultIO)
			if !strings.Contains(f.Detail, "0x1234") {
				t.Fatalf("detail %q", f.Detail)
			}
		}},
		{"m", false, 0, func(t *testing.T, r result) {
			wantExit(t, r, guest.ExitPort, 8)
			if len(r.logs) != 1 || !strings.Contains(r.logs[0], "0xd0000000") {
				t.Fatalf("logs %q", r.logs)
			}
		}},
		{"m", true, 0, func(t *testing.T, r result) { wantFault(t, r, guest.FaultIO) }},
		{"b", false, 0, func(t *testing.T, r result) {
			wantExit(t, r, guest.ExitPort, 9)
			if len(r.logs) != 1 || !strings.Contains(r.logs[0], "magic") {
				t.Fatalf("logs %q", r.logs)
			}
		}},
		{"b", true, 0, func(t *testing.T, r result) {
			f := wantFault(t, r, guest.FaultHypercall)
			if !strings.Contains(f.Detail, "magic 0x12345678") {
				t.Fatalf("detail %q", f.Detail)
			}
		}},
	}
	for _, c := range cases {
		name := c.cmdline
		if c.strict {
			name += "-strict"
		}
		t.Run(name, func(t *testing.T) {
			r := boot(t, img, c.cmdline, func(cfg *guest.Config) {
				cfg.StrictIO = c.strict
				if c.timeout > 0 {
					cfg.Timeout = c.timeout
				}
			})
			if !strings.HasPrefix(r.console, "guest64: "+c.cmdline+"\n") {
				t.Fatalf("console %q", r.console)
			}
			c.check(t, r)
		})
	}
}

func wantFault(t *testing.T, r result, kind guest.FaultKind) *guest.Fault {
	t.Helper()
	if r.fault == nil {
		t.Fatalf("want a %v fault, got exit %+v stops %+v", kind, r.exit, r.stops)
	}
	if r.fault.Kind != kind {
		t.Fatalf("fault %v (%s), want %v", r.fault.Kind, r.fault.Summary(), kind)
	}
	return r.fault
}

func wantVector(t *testing.T, r result, v int) {
	t.Helper()
	f := wantFault(t, r, guest.FaultException)
	if f.Vector != v {
		t.Fatalf("vector %d (%s), want %d", f.Vector, f.Summary(), v)
	}
	if f.Regs.RIP < 0x100000 || f.Regs.RSP == 0 {
		t.Fatalf("registers not from the crash record: %+v", f.Regs)
	}
}
