package qemu

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/internal/testenv"
)

// buildGuest builds testdata/gdb/guest and returns its ELF64 and ELF32 paths.
func buildGuest(t *testing.T) (elf64, img string) {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	dir := t.TempDir()
	out, err := exec.Command("sh", "../testdata/gdb/guest/build.sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("building the test guest: %v\n%s", err, out)
	}
	return filepath.Join(dir, "guest.elf"), filepath.Join(dir, "guest.img")
}

func symbol(t *testing.T, path, name string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("no symbol %s in %s", name, path)
	return 0
}

func boot(t *testing.T, cfg guest.Config, opt Options) *Machine {
	t.Helper()
	testenv.Tool(t, "qemu-system-x86_64")
	m, err := NewOptions(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func next(t *testing.T, ev <-chan guest.Event, console *strings.Builder) guest.Event {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				t.Fatal("event channel closed")
			}
			switch e := e.(type) {
			case guest.ConsoleEvent:
				console.Write(e.Data)
				continue
			case guest.LogEvent:
				continue
			}
			return e
		case <-timeout:
			t.Fatal("no event within 60 s")
		}
	}
}

func TestArgs(t *testing.T) {
	a := strings.Join(args(guest.Config{MemoryMiB: 64, Cmdline: "x y", Modules: []guest.Module{{Path: "/m,1", Cmdline: "a"}}}, "tcg", "/k", "127.0.0.1:5"), " ")
	for _, want := range []string{"-M microvm -accel tcg -m 64 -smp 1", "-device isa-debug-exit,iobase=0xf4,iosize=4",
		"-kernel /k", "-S -gdb tcp:127.0.0.1:5", "-append y", "-initrd /m,,1 a", "-serial stdio"} { // argv[0] "x" is replaced by QEMU with the kernel path
		if !strings.Contains(a, want) {
			t.Errorf("args %q lack %q", a, want)
		}
	}
	if strings.Contains(a, "-cpu") {
		t.Error("no -cpu: host and max abort on kvm-pvm (MACHINE.md)")
	}
}

func TestExitDecoding(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 75")
	err := cmd.Run()
	e := exitEvent(err, "", 0)
	if ex, ok := e.(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitPort || ex.Exit.Status != 37 {
		t.Fatalf("exit 75 -> %#v, want status 37 through the exit port", e)
	}
	err = exec.Command("sh", "-c", "exit 2").Run()
	if _, ok := exitEvent(err, "qemu-system-x86_64: boom\n", 0).(guest.FaultEvent); !ok {
		t.Fatal("an even status is QEMU failing")
	}
	if ex, ok := exitEvent(nil, "", 0).(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitOther {
		t.Fatal("status 0 is a shutdown")
	}
}

func TestELF32Copy(t *testing.T) {
	built, _ := buildGuest(t)
	dir := t.TempDir()
	// Without the build's sibling NAME.img, an ELF32 copy is written.
	elf64 := filepath.Join(dir, "alone.elf")
	data, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(elf64, data, 0o644)
	img, err := prepareImage(elf64, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !img.Temp || img.Entry != symbol(t, elf64, "_start") {
		t.Fatalf("image %+v, want a converted copy entered at _start", img)
	}
	f, err := elf.Open(img.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 || len(f.Progs) == 0 {
		t.Fatalf("copy is %v %v with %d segments", f.Class, f.Machine, len(f.Progs))
	}
	data, _ = os.ReadFile(img.Path)
	if _, _, ok := findMultiboot(data); !ok {
		t.Fatal("the copy lost its multiboot header")
	}
	if _, err := prepareImage("/etc/hostname", dir); err == nil {
		t.Fatal("a text file must be refused")
	}
}

func TestBootBreakAndExit(t *testing.T) {
	elf64, _ := buildGuest(t)
	for _, accel := range []string{"tcg", "kvm"} {
		t.Run(accel, func(t *testing.T) {
			if accel == "kvm" {
				testenv.KVM(t)
			}
			m := boot(t, guest.Config{Image: elf64}, Options{Accel: accel})
			ev, cancel := m.Subscribe()
			defer cancel()
			var console strings.Builder
			r, err := m.Regs(0)
			if err != nil || r.RIP != symbol(t, elf64, "_start") {
				t.Fatalf("entry rip %#x (%v), want _start", r.RIP, err)
			}
			add := symbol(t, elf64, "add")
			bp := guest.Breakpoint{Kind: guest.BreakSoftware, Addr: add, Len: 1}
			if err := m.SetBreakpoint(bp); err != nil {
				t.Fatal(err)
			}
			if err := m.Continue(); err != nil {
				t.Fatal(err)
			}
			st := next(t, ev, &console).(guest.StopEvent).Stop
			if st.Reason != guest.StopBreakpoint || st.PC != add || st.Regs.RDI != 0 || st.Regs.RSI != 1 {
				t.Fatalf("stop %v at %#x, args %d,%d; want add(0, 1)", st.Reason, st.PC, st.Regs.RDI, st.Regs.RSI)
			}
			// Continue from the breakpoint: the next call, not the same one.
			if err := m.Continue(); err != nil {
				t.Fatal(err)
			}
			st = next(t, ev, &console).(guest.StopEvent).Stop
			if st.PC != add || st.Regs.RSI != 2 {
				t.Fatalf("second stop at %#x with b=%d, want add(_, 2)", st.PC, st.Regs.RSI)
			}
			if err := m.Step(0); err != nil {
				t.Fatal(err)
			}
			if st = next(t, ev, &console).(guest.StopEvent).Stop; st.Reason != guest.StopStep || st.PC == add {
				t.Fatalf("step: %v at %#x", st.Reason, st.PC)
			}
			if err := m.ClearBreakpoint(bp); err != nil {
				t.Fatal(err)
			}
			// QEMU's monitor through the stub's qRcmd.
			if out, err := m.Monitor("info registers"); err != nil || !strings.Contains(out, "RIP=") {
				t.Fatalf("monitor info registers: %q, %v", out, err)
			}
			// Let spin() end and run to the exit: 10*3 + 7.
			if err := m.WriteMemory(0, guest.Virtual, symbol(t, elf64, "release"), []byte{1, 0, 0, 0}); err != nil {
				t.Fatal(err)
			}
			if err := m.Continue(); err != nil {
				t.Fatal(err)
			}
			e := next(t, ev, &console)
			if ex, ok := e.(guest.ExitEvent); !ok || ex.Exit.Status != 37 || ex.Exit.How != guest.ExitPort {
				t.Fatalf("want exit 37, got %#v", e)
			}
			time.Sleep(50 * time.Millisecond)
			for e := range drain(ev) {
				if c, ok := e.(guest.ConsoleEvent); ok {
					console.Write(c.Data)
				}
			}
			if !strings.Contains(console.String(), "gdb guest up\nbumped\ngdb guest done\n") {
				t.Fatalf("console %q", console.String())
			}
			if m.State() != guest.Finished {
				t.Fatalf("state %v after exit", m.State())
			}
			if _, err := m.Regs(0); !errors.Is(err, guest.ErrFinished) {
				t.Fatalf("Regs after exit: %v", err)
			}
		})
	}
}

func drain(ev <-chan guest.Event) <-chan guest.Event {
	out := make(chan guest.Event, 64)
	go func() {
		defer close(out)
		for {
			select {
			case e, ok := <-ev:
				if !ok {
					return
				}
				out <- e
			default:
				return
			}
		}
	}()
	return out
}

func TestTimeoutInterruptAndKill(t *testing.T) {
	elf64, _ := buildGuest(t)
	m := boot(t, guest.Config{Image: elf64, Timeout: 1500 * time.Millisecond}, Options{Accel: "tcg"})
	ev, cancel := m.Subscribe()
	defer cancel()
	var console strings.Builder
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	m.Interrupt()
	st := next(t, ev, &console).(guest.StopEvent).Stop
	if st.Reason != guest.StopInterrupt {
		t.Fatalf("interrupt: %v", st.Reason)
	}
	// Time stopped does not count against the timeout.
	time.Sleep(1500 * time.Millisecond)
	if m.State() != guest.Stopped {
		t.Fatalf("state %v while stopped past the timeout", m.State())
	}
	if err := m.Continue(); err != nil {
		t.Fatal(err)
	}
	e := next(t, ev, &console)
	if f, ok := e.(guest.FaultEvent); !ok || f.Fault.Kind != guest.FaultTimeout {
		t.Fatalf("want a timeout fault, got %#v", e)
	}

	m2 := boot(t, guest.Config{Image: elf64}, Options{Accel: "tcg"})
	ev2, cancel2 := m2.Subscribe()
	defer cancel2()
	m2.Continue()
	if err := m2.Kill(); err != nil {
		t.Fatal(err)
	}
	if ex, ok := next(t, ev2, &console).(guest.ExitEvent); !ok || ex.Exit.How != guest.ExitKilled {
		t.Fatalf("kill: %#v", ex)
	}
}

func TestNoLeaks(t *testing.T) {
	elf64, img := buildGuest(t)
	testenv.Tool(t, "qemu-system-x86_64")
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	before, gor := fds(), runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		image := elf64
		if i%2 == 1 {
			image = img
		}
		m, err := NewOptions(guest.Config{Image: image}, Options{Accel: "tcg"})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			m.Continue()
		}
		m.Close()
		m.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if g := runtime.NumGoroutine(); g > gor+2 {
		buf := make([]byte, 1<<16)
		t.Logf("%s", buf[:runtime.Stack(buf, true)])
	}
	if after := fds(); after > before {
		t.Errorf("%d fds after 5 boots, %d before", after, before)
	}
	if g := runtime.NumGoroutine(); g > gor+2 {
		t.Errorf("%d goroutines after 5 boots, %d before", g, gor)
	}
	out, _ := exec.Command("ps", "-o", "stat=,comm=", "--ppid", itoa(os.Getpid())).Output()
	if strings.Contains(string(out), "Z") {
		t.Errorf("zombie children:\n%s", out)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
