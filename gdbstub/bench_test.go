package gdbstub_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ukw/gdbstub"
	"ukw/guest"
	"ukw/internal/testenv"
	"ukw/qemu"
	"ukw/vmm"
)

// stepiScript steps 1000 instructions from the kernel entry with one
// command (gdb prints only the last location) and prints the time gdb
// took, measured inside gdb (its Python), so that start-up and connection
// costs are left out.
const stepiScript = `python import time; t0 = time.perf_counter()
stepi 1000
python print("STEPI_NS %d" % int((time.perf_counter() - t0) * 1e9))
info registers rip
kill
`

// stepiEachScript is 1000 separate stepi commands, as typed at the
// prompt: gdb prints the location after each, which costs it more reads
// per step (the instruction bytes twice, the function start, the thread
// list).
var stepiEachScript = "python import time; t0 = time.perf_counter()\n" +
	strings.Repeat("stepi\n", 1000) +
	"python print(\"STEPI_NS %d\" % int((time.perf_counter() - t0) * 1e9))\ninfo registers rip\nkill\n"

var stepiRE = regexp.MustCompile(`STEPI_NS (\d+)`)

// gdbStepi runs one gdb session of script (1000 stepi) against addr and
// returns the time per stepi. prefix runs before the timing (e.g. to reach
// the entry).
func gdbStepi(b *testing.B, elfPath, addr, prefix, script string) time.Duration {
	b.Helper()
	p := filepath.Join(b.TempDir(), "stepi.gdb")
	os.WriteFile(p, []byte(prefix+script), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "gdb", "-batch", "-nx", "-q", "-ex", "set pagination off",
		"-ex", "target remote "+addr, "-x", p, elfPath).CombinedOutput()
	m := stepiRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no timing in gdb output:\n%s", out)
	}
	ns, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return time.Duration(ns / 1000)
}

// BenchmarkGDBStepi: 1000 stepi through real gdb (one `stepi 1000`), side
// by side on the same image: ukw's stub on the native VMM, QEMU's own
// stub (TCG and KVM), and ukw's stub over the qemu backend (gdb -> Serve
// -> Client -> QEMU). Reported as µs per stepi.
func BenchmarkGDBStepi(b *testing.B) { benchStepi(b, stepiScript) }

// BenchmarkGDBStepiEach is BenchmarkGDBStepi with 1000 separate `stepi`
// commands (stepiEachScript).
func BenchmarkGDBStepiEach(b *testing.B) { benchStepi(b, stepiEachScript) }

func benchStepi(b *testing.B, script string) {
	elfPath := testGuest(b)
	testenv.Tool(b, "gdb")
	img := filepath.Join(filepath.Dir(elfPath), "guest.img")
	entry := "hbreak *" + hex(symbolAddr(b, elfPath, "_start")) + "\ncontinue\ndelete\n"
	report := func(b *testing.B, run func() time.Duration) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += run()
		}
		b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/stepi")
		b.ReportMetric(0, "ns/op")
	}
	serve := func(b *testing.B, m guest.Machine) string {
		stub, err := gdbstub.ListenAndServe(context.Background(), "127.0.0.1:0", m, gdbstub.ListenOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { stub.Close() })
		return stub.Addr
	}
	b.Run("ukw-stub-vmm", func(b *testing.B) {
		testenv.KVM(b)
		report(b, func() time.Duration {
			m, err := vmm.New(guest.Config{Image: elfPath})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			return gdbStepi(b, elfPath, serve(b, m), "", script)
		})
	})
	for _, accel := range []string{"tcg", "kvm"} {
		b.Run("qemu-stub-"+accel, func(b *testing.B) {
			if accel == "kvm" {
				testenv.KVM(b)
			}
			report(b, func() time.Duration {
				addr := startQEMUStub(b, img, accel)
				return gdbStepi(b, elfPath, addr, entry, script)
			})
		})
	}
	b.Run("ukw-stub-qemu-tcg", func(b *testing.B) {
		report(b, func() time.Duration {
			m, err := qemu.NewOptions(guest.Config{Image: elfPath}, qemu.Options{Accel: "tcg"})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			return gdbStepi(b, elfPath, serve(b, m), "", script)
		})
	})
}

// BenchmarkRSPRoundTrip measures m (64 bytes) and g round trips over TCP
// loopback: the Client against ukw's stub on the native VMM, and the
// Client against QEMU's stub (the qemu backend).
func BenchmarkRSPRoundTrip(b *testing.B) {
	elfPath := testGuest(b)
	targets := []struct {
		name string
		need func(testing.TB)
		dial func(b *testing.B) guest.Machine
	}{
		{"ukw-stub-vmm", func(t testing.TB) { testenv.KVM(t) }, func(b *testing.B) guest.Machine {
			m, err := vmm.New(guest.Config{Image: elfPath})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			stub, err := gdbstub.ListenAndServe(context.Background(), "127.0.0.1:0", m, gdbstub.ListenOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { stub.Close() })
			c, err := gdbstub.Dial(stub.Addr)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			return c
		}},
		{"qemu-stub-tcg", func(t testing.TB) { testenv.Tool(t, "qemu-system-x86_64") }, func(b *testing.B) guest.Machine {
			m, err := qemu.NewOptions(guest.Config{Image: elfPath}, qemu.Options{Accel: "tcg"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			return m
		}},
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			tg.need(b)
			m := tg.dial(b)
			buf := make([]byte, 64)
			sp := symbolAddr(b, elfPath, "stack")
			b.Run("m64", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := m.ReadMemory(0, guest.Virtual, sp, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("g", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := m.Regs(0); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
