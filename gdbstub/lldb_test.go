package gdbstub_test

// Tier 3: LLVM's lldb (Debian package lldb) against ukw's stub, on the
// same guest and backends as the gdb tests: lldb speaks the same remote
// protocol with its own habits (qHostInfo, qProcessInfo, vCont probing).

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"ukw/internal/testenv"
)

func TestLLDBBreakBacktraceVariables(t *testing.T) {
	elfPath := testGuest(t)
	lldb := testenv.Tool(t, "lldb")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, stub, _ := machine(t, b, elfPath)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, lldb, "--batch", "--no-lldbinit",
				"-o", "gdb-remote "+stub.Addr,
				"-o", "breakpoint set --file main.c --line "+expand(t, "@add@"),
				"-o", "process continue",
				"-o", "bt",
				"-o", "register read rip",
				"-o", "frame variable",
				"-o", "process detach",
				elfPath)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil && ctx.Err() != nil {
				t.Fatalf("lldb did not finish:\n%s", out.String())
			}
			for _, pat := range []string{
				`stop reason = breakpoint 1\.1`,
				`frame #0: 0x[0-9a-f]+ guest\.elf` + "`" + `add\(a=0, b=1\) at main\.c:` + expand(t, "@add@"),
				`frame #1: 0x[0-9a-f]+ guest\.elf` + "`" + `compute\(n=4\) at main\.c:` + expand(t, "@compute-loop@"),
				`frame #2: 0x[0-9a-f]+ guest\.elf` + "`" + `main at main\.c:` + expand(t, "@main-compute@"),
				`rip = 0x[0-9a-f]+ +guest\.elf` + "`" + `add \+ \d+ at main\.c`,
				`\(int\) a = 0`, `\(int\) b = 1`,
				`Process 1 detached`,
			} {
				if !regexp.MustCompile(pat).Match(out.Bytes()) {
					t.Fatalf("lldb output lacks %s\n--- output ---\n%s", pat, out.String())
				}
			}
		})
	}
}
