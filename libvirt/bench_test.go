package libvirt

import (
	"testing"
	"time"

	"ukw/guest"
)

// BenchmarkBootToExit measures a whole libvirt run of the test kernel:
// upload, create (paused), console and exit streams, debugger connect, run,
// exit byte, destroy and drain. The marks are reported as extra metrics.
func BenchmarkBootToExit(b *testing.B) {
	for _, accel := range []string{"kvm", "tcg"} {
		b.Run(accel, func(b *testing.B) {
			kernel := benchKernel(b)
			var created, exitByte time.Duration
			for i := 0; i < b.N; i++ {
				m, err := Boot(guest.Config{Image: kernel, Cmdline: "kernel exit=1", MemoryMiB: 16}, Options{URI: testURI(), Accel: accel})
				if err != nil {
					b.Fatal(err)
				}
				ch, cancel := m.Subscribe()
				if err := m.Continue(); err != nil {
					b.Fatal(err)
				}
				for e := range ch {
					if _, ok := e.(guest.ExitEvent); ok {
						break
					}
					if _, ok := e.(guest.FaultEvent); ok {
						b.Fatalf("fault %v", e)
					}
				}
				cancel()
				for _, k := range m.Timeline() {
					switch k.Name {
					case "domain created":
						created += k.At
					case "exit byte":
						exitByte += k.At
					}
				}
				m.Close()
			}
			b.ReportMetric(float64(created.Milliseconds())/float64(b.N), "ms-created")
			b.ReportMetric(float64(exitByte.Milliseconds())/float64(b.N), "ms-exit-byte")
		})
	}
}
