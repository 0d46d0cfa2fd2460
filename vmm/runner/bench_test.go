package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// BenchmarkRunHello is `ukw run hello.elf` inside one process (what the
// process start and exit of scripts/bench/run.sh leave out): boot, the
// guest, teardown. Besides ns/op it reports per-run averages of the --stats
// parts: guest µs (first instruction to exit), teardown µs, exits.
func BenchmarkRunHello(b *testing.B) {
	testenv.KVM(b)
	testenv.Tool(b, "gcc", "ld", "objcopy")
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	var out, errb bytes.Buffer
	if st, err := Run(context.Background(), Options{Target: filepath.Join(root, "examples/hello"), Stdout: &out, Stderr: &errb}); err != nil || st != 0 {
		b.Fatalf("build and boot: status %d, %v\n%s", st, err, errb.String())
	}
	elf := filepath.Join(root, "examples/hello/.ukw/build/hello.elf")
	cmdline := "hello world"
	var guest, down, exits float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out.Reset()
		errb.Reset()
		st, err := Run(context.Background(), Options{Target: elf, Cmdline: &cmdline, Stats: true, JSON: true, Stdout: &out, Stderr: &errb})
		if err != nil || st != 0 || !strings.Contains(out.String(), "Hello from ukw!") {
			b.Fatalf("status %d, %v\n%s%s", st, err, out.String(), errb.String())
		}
		s := parseStats(b, errb.Bytes())
		guest += float64(mark(s, "exit") - mark(s, "first instruction"))
		down += float64(s.Teardown)
		exits += float64(s.Exits)
	}
	b.ReportMetric(guest/float64(b.N), "guest-µs/op")
	b.ReportMetric(down/float64(b.N), "teardown-µs/op")
	b.ReportMetric(exits/float64(b.N), "exits/op")
}

func parseStats(b *testing.B, js []byte) Stats {
	var s Stats
	if err := json.Unmarshal(js, &s); err != nil {
		b.Fatalf("stats JSON: %v\n%s", err, js)
	}
	return s
}

func mark(s Stats, name string) int64 {
	for _, m := range s.Marks {
		if m.Name == name {
			return m.US
		}
	}
	return 0
}
