package build

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func benchBuild(b *testing.B, clean bool, edit bool) {
	needToolchain(b)
	dir := copyApp(b, filepath.Join(repoRoot(b), "examples/hello"))
	app := mustLoad(b, dir)
	o := Options{CacheDir: testCacheDir(b)}
	mustBuild(b, dir, o)
	o.Clean = clean
	var r *Result
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if edit {
			b.StopTimer()
			appendLine(b, filepath.Join(dir, "main.c"), fmt.Sprintf("int bench_edit_%d;", i))
			b.StartTimer()
		}
		var err error
		if r, err = Build(context.Background(), app, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.Report.Compiled), "compiled/op")
	b.ReportMetric(float64(r.Report.LoadBytes), "load-bytes")
}

// BenchmarkBuildHelloCold: --clean every time (13 objects compiled).
func BenchmarkBuildHelloCold(b *testing.B) { benchBuild(b, true, false) }

// BenchmarkBuildHelloWarm: nothing changed (0 compiled, no link).
func BenchmarkBuildHelloWarm(b *testing.B) { benchBuild(b, false, false) }

// BenchmarkBuildHelloOneFile: main.c changed (1 compiled, relinked).
func BenchmarkBuildHelloOneFile(b *testing.B) { benchBuild(b, false, true) }
