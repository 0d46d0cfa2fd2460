package gdbstub_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ukw/build"
	"ukw/guest"
	"ukw/internal/testenv"
)

var (
	helloOnce sync.Once
	helloRes  *build.Result
	helloErr  error
)

// buildHello builds a copy of examples/hello with the build package.
func buildHello(t *testing.T) *build.Result {
	t.Helper()
	testenv.Tool(t, "gcc", "ld", "objcopy")
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ukw-gdb-hello-")
		if err != nil {
			helloErr = err
			return
		}
		if out, err := exec.Command("cp", "-r", "../examples/hello/.", dir).CombinedOutput(); err != nil {
			helloErr = err
			t.Logf("%s", out)
			return
		}
		app, err := build.Load(dir)
		if err != nil {
			helloErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		helloRes, helloErr = build.Build(ctx, app, build.Options{})
	})
	if helloErr != nil {
		t.Fatalf("building examples/hello: %v", helloErr)
	}
	return helloRes
}

// gdb on the default example, built by ukw's build package, over every
// backend: a breakpoint on main, the backtrace into the platform layer,
// arguments from the command line, run to the exit.
func TestGDBExampleHello(t *testing.T) {
	testenv.Tool(t, "gdb")
	res := buildHello(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			b.need(t)
			m, err := b.boot(guest.Config{Image: res.ELF, Cmdline: "hello world", Timeout: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			ev, cancel := m.Subscribe()
			defer cancel()
			defer m.Close()
			stub, err := startStub(m)
			if err != nil {
				t.Fatal(err)
			}
			defer stub.Close()
			p := filepath.Join(t.TempDir(), "hello.gdb")
			os.WriteFile(p, []byte("break main\ncontinue\nbt\nprint argc\nprint argv[argc-1]\nnext\ncontinue\n"), 0o644)
			out := runGDB(t, res.ELF, stub.Addr, p, nil)
			want(t, "hello", out)
			wantExit(t, ev, 0, guest.ExitPort)
		})
	}
}
