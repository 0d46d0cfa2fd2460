package libvirt

import (
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/qemu"
	"ukw/vmm"
)

// backend is one way to boot a guest for the example suite. The suite is
// written against guest.Machine only, so the kvm and qemu backends can join
// the table with their own constructors.
type backend struct {
	name string
	// boot returns the machine stopped at entry; the test closes it.
	boot func(t *testing.T, cfg guest.Config) guest.Machine
}

// backends lists the backends the example suite runs on: the native VMM,
// QEMU run directly and QEMU run by libvirtd.
func backends() []backend {
	return []backend{
		{"kvm", func(t *testing.T, cfg guest.Config) guest.Machine {
			testenv.KVM(t)
			m, err := vmm.New(cfg)
			if err != nil {
				t.Fatalf("vmm.New: %v", err)
			}
			return m
		}},
		{"qemu", func(t *testing.T, cfg guest.Config) guest.Machine {
			testenv.Tool(t, "qemu-system-x86_64")
			m, err := qemu.New(cfg)
			if err != nil {
				t.Fatalf("qemu.New: %v", err)
			}
			return m
		}},
		{"libvirt", func(t *testing.T, cfg guest.Config) guest.Machine {
			daemon(t)
			m, err := New(cfg, Options{URI: testURI(), Accel: "auto"})
			if err != nil {
				t.Fatalf("libvirt.New: %v", err)
			}
			return m
		}},
	}
}

func TestExampleSuite(t *testing.T) {
	kernel := testKernel(t)
	hello := buildExample(t, "hello")
	calls := buildApp(t, "../testdata/guests/calls")
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("breakpoint-and-backtrace", func(t *testing.T) { breakAndBacktrace(t, b, calls) })
			t.Run("hello", func(t *testing.T) {
				m := b.boot(t, guest.Config{Image: hello.Image, ELF: hello.ELF, Cmdline: hello.Cmdline + " --exit=5", MemoryMiB: hello.MemoryMiB})
				defer m.Close()
				console, final := run(t, m, 120*time.Second)
				for _, want := range []string{"Hello from ukw!", "argv[1]=world", "exit status 5\n"} {
					if !strings.Contains(console, want) {
						t.Errorf("console %q lacks %q", console, want)
					}
				}
				if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitPort || ex.Exit.Status != 5 {
					t.Fatalf("final event %#v, want exit status 5 (console %q)", final, console)
				}
			})
			t.Run("console-and-exit-status", func(t *testing.T) {
				m := b.boot(t, guest.Config{Image: kernel, Cmdline: "kernel exit=7 from-the-suite", MemoryMiB: 16})
				defer m.Close()
				if s := m.State(); s != guest.Stopped {
					t.Fatalf("state after boot %v, want stopped at entry", s)
				}
				console, final := run(t, m, 60*time.Second)
				for _, want := range []string{"hello from the ukw libvirt test kernel\n", "exit=7 from-the-suite", "bye\n"} {
					if !strings.Contains(console, want) {
						t.Errorf("console %q lacks %q", console, want)
					}
				}
				ex, ok := final.(guest.ExitEvent)
				if !ok || ex.Exit.How != guest.ExitPort || ex.Exit.Status != 7 || ex.Exit.Port != 0xf4 {
					t.Fatalf("final event %#v, want exit through port 0xf4 with status 7", final)
				}
				if m.State() != guest.Finished {
					t.Fatalf("state after exit %v", m.State())
				}
			})
			t.Run("exit-status-zero", func(t *testing.T) {
				m := b.boot(t, guest.Config{Image: kernel, MemoryMiB: 16})
				defer m.Close()
				_, final := run(t, m, 60*time.Second)
				if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitPort || ex.Exit.Status != 0 {
					t.Fatalf("final event %#v, want exit status 0", final)
				}
			})
			t.Run("kill", func(t *testing.T) {
				m := b.boot(t, guest.Config{Image: kernel, Cmdline: "kernel hang", MemoryMiB: 16})
				defer m.Close()
				ch, cancel := m.Subscribe()
				defer cancel()
				if err := m.Continue(); err != nil {
					t.Fatal(err)
				}
				waitConsole(t, ch, "hanging\n", 60*time.Second)
				if err := m.Kill(); err != nil {
					t.Fatal(err)
				}
				_, final := collect(t, ch, 30*time.Second)
				if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitKilled {
					t.Fatalf("final event %#v, want killed", final)
				}
			})
			t.Run("triple-fault", func(t *testing.T) {
				m := b.boot(t, guest.Config{Image: kernel, Cmdline: "kernel triple", MemoryMiB: 16})
				defer m.Close()
				console, final := run(t, m, 60*time.Second)
				if !strings.Contains(console, "triple fault\n") {
					t.Errorf("console %q", console)
				}
				// Real KVM and TCG reset the CPU (QEMU then reports a reset,
				// the native VMM a triple fault); kvm-pvm cannot deliver the
				// int3 at all and stops with an internal error.
				switch e := final.(type) {
				case guest.FaultEvent:
					if e.Fault.Kind != guest.FaultTripleFault && e.Fault.Kind != guest.FaultInternalError {
						t.Fatalf("fault %v, want a triple fault or internal error", e.Fault.Summary())
					}
				case guest.ExitEvent:
					// QEMU run directly with -no-reboot exits 0 on a reset
					// as on a shutdown: it cannot say which (ExitOther).
					if e.Exit.How != guest.ExitReset && !(b.name == "qemu" && e.Exit.How == guest.ExitOther) {
						t.Fatalf("exit %v, want a reset", e.Exit.How)
					}
				}
				if f, ok := final.(guest.FaultEvent); ok {
					t.Logf("final: fault %s", f.Fault.Summary())
				} else {
					t.Logf("final: exit %v", final.(guest.ExitEvent).Exit.How)
				}
			})
			t.Run("timeout", func(t *testing.T) {
				m := b.boot(t, guest.Config{Image: kernel, Cmdline: "kernel hang", MemoryMiB: 16, Timeout: 2 * time.Second})
				defer m.Close()
				console, final := run(t, m, 60*time.Second)
				if f, ok := final.(guest.FaultEvent); !ok || f.Fault.Kind != guest.FaultTimeout {
					t.Fatalf("final event %#v (console %q), want a timeout fault", final, console)
				}
			})
		})
	}
}

// waitConsole reads events until the console output contains want.
func waitConsole(t *testing.T, ch <-chan guest.Event, want string, timeout time.Duration) {
	t.Helper()
	var got strings.Builder
	deadline := time.After(timeout)
	for !strings.Contains(got.String(), want) {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("events ended; console %q lacks %q", got.String(), want)
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				got.Write(e.Data)
			case guest.ExitEvent, guest.FaultEvent:
				t.Fatalf("guest ended (%#v); console %q lacks %q", e, got.String(), want)
			}
		case <-deadline:
			t.Fatalf("console %q lacks %q after %v", got.String(), want, timeout)
		}
	}
}

// TestTimeline prints where a libvirt boot spends its time (docs/libvirt.md).
func TestTimeline(t *testing.T) {
	kernel := testKernel(t)
	daemon(t)
	for _, accel := range []string{"kvm", "tcg"} {
		t.Run(accel, func(t *testing.T) {
			if accel == "kvm" {
				if ok, _ := daemon(t).HasKVM(); !ok {
					t.Skip("skipping: the libvirt host has no KVM")
				}
			}
			m, err := Boot(guest.Config{Image: kernel, Cmdline: "kernel exit=3", MemoryMiB: 16}, Options{URI: testURI(), Accel: accel})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			_, final := run(t, m, 60*time.Second)
			if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.Status != 3 {
				t.Fatalf("final %#v", final)
			}
			for _, k := range m.Timeline() {
				t.Logf("%-20s %v", k.Name, k.At.Round(time.Millisecond))
			}
		})
	}
}

// TestTripleFaultUnderTCGIsReset: under TCG the CPU resets, QEMU's SHUTDOWN
// event says "guest-reset", and on_reboot=destroy ends the domain.
func TestTripleFaultUnderTCGIsReset(t *testing.T) {
	kernel := testKernel(t)
	daemon(t)
	m, err := New(guest.Config{Image: kernel, Cmdline: "kernel triple", MemoryMiB: 16}, Options{URI: testURI(), Accel: "tcg"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, final := run(t, m, 60*time.Second)
	if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitReset {
		t.Fatalf("final %#v, want a reset", final)
	}
}

// TestConsoleInputAndMonitor: bytes written with WriteConsole reach the
// guest's COM1; Monitor runs QEMU human monitor commands.
func TestConsoleInputAndMonitor(t *testing.T) {
	kernel := testKernel(t)
	daemon(t)
	m, err := Boot(guest.Config{Image: kernel, Cmdline: "kernel echo", MemoryMiB: 16}, Options{URI: testURI(), Accel: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Monitor("info status")
	if err != nil || !strings.Contains(out, "paused") {
		t.Fatalf("monitor: %q %v, want a paused VM", out, err)
	}
	ch, cancel := m.Subscribe()
	defer cancel()
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, ch, "type a line\n", 60*time.Second)
	if _, err := m.WriteConsole([]byte("unikernel\n")); err != nil {
		t.Fatal(err)
	}
	console, final := collect(t, ch, 60*time.Second)
	if !strings.Contains(console, "echo: unikernel\n") {
		t.Errorf("console %q", console)
	}
	if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.Status != len("unikernel") {
		t.Fatalf("final %#v, want status 9", final)
	}
}

// TestLegacyExitDevice boots as on a libvirt without <qemu:override>:
// QEMU's isa-debug-exit ends the guest, and the exit is reported without
// its status.
func TestLegacyExitDevice(t *testing.T) {
	kernel := testKernel(t)
	daemon(t)
	m, err := Boot(guest.Config{Image: kernel, Cmdline: "kernel exit=7", MemoryMiB: 16}, Options{URI: testURI(), Accel: "auto", legacyExit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Info().ExitChannel != "" {
		t.Fatalf("exit channel %q in legacy mode", m.Info().ExitChannel)
	}
	console, final := run(t, m, 60*time.Second)
	if !strings.Contains(console, "bye\n") {
		t.Errorf("console %q", console)
	}
	if ex, ok := final.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitOther {
		t.Fatalf("final %#v, want an exit of unknown status", final)
	}
}
