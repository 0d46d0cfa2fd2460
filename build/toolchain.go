package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// toolchain is the compiler, linker and objcopy a build uses, with
// identities that go into cache keys.
type toolchain struct {
	cc, ld, objcopy string
	ccID, ldID      string // hashes of the resolved path and version output
	gccInclude      string // gcc's own stddef.h/stdarg.h/stdint.h
}

func findToolchain(ctx context.Context, o *Options) (*toolchain, error) {
	t := &toolchain{}
	var err error
	for _, x := range []struct {
		dst  *string
		name string
	}{{&t.cc, o.CC}, {&t.ld, o.LD}, {&t.objcopy, o.Objcopy}} {
		if *x.dst, err = exec.LookPath(x.name); err != nil {
			return nil, fmt.Errorf("%s not found: install gcc and binutils (Debian: apt-get install gcc binutils)", x.name)
		}
	}
	key := toolKey(t.cc, t.ld, t.objcopy)
	memo := filepath.Join(o.CacheDir, "toolchain-"+key+".json")
	if t.load(memo) {
		return t, nil
	}
	ccV, err := run(ctx, "", t.cc, "-v")
	if err != nil {
		return nil, fmt.Errorf("%s -v: %w", t.cc, err)
	}
	inc, err := run(ctx, "", t.cc, "-print-file-name=include")
	if err != nil {
		return nil, fmt.Errorf("%s -print-file-name=include: %w", t.cc, err)
	}
	t.gccInclude = strings.TrimSpace(inc)
	ldV, err := run(ctx, "", t.ld, "--version")
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", t.ld, err)
	}
	ocV, _ := run(ctx, "", t.objcopy, "--version")
	t.ccID = identity(t.cc, ccV)
	t.ldID = identity(t.ld, ldV+ocV)
	t.save(memo)
	return t, nil
}

// toolProbe is what findToolchain learns by running the tools (four
// processes, ~13 ms), kept on disk keyed by the tools' files so that an
// up-to-date build does not pay for it again (ccache keys compilers by
// their binary's size and mtime the same way).
type toolProbe struct {
	CCID, LDID, GCCInclude string
}

// toolKey identifies the tool binaries: resolved path, size and mtime.
func toolKey(paths ...string) string {
	h := sha256.New()
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = p
		}
		st, err := os.Stat(real)
		if err != nil {
			return "unknown"
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", real, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (t *toolchain) load(file string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var p toolProbe
	if json.Unmarshal(data, &p) != nil || p.CCID == "" || p.LDID == "" || p.GCCInclude == "" {
		return false
	}
	if st, err := os.Stat(p.GCCInclude); err != nil || !st.IsDir() {
		return false
	}
	t.ccID, t.ldID, t.gccInclude = p.CCID, p.LDID, p.GCCInclude
	return true
}

// save records the probe; failing to is harmless (the next build probes again).
func (t *toolchain) save(file string) {
	data, err := json.Marshal(toolProbe{CCID: t.ccID, LDID: t.ldID, GCCInclude: t.gccInclude})
	if err != nil || os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	tmp := fmt.Sprintf("%s.%d.tmp", file, os.Getpid())
	if os.WriteFile(tmp, data, 0o644) == nil {
		os.Rename(tmp, file)
	}
}

func identity(path, version string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	h := sha256.Sum256([]byte(real + "\x00" + version))
	return hex.EncodeToString(h[:8])
}

// run executes a tool and returns stdout+stderr.
func run(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// ASCII quotes and English messages: diagnostics parse the same everywhere
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// baseFlags are the flags of every compilation (docs/manifests.md),
// chosen for MACHINE.md (no SSE in emulated code) and debuggability.
func baseFlags(opt, gccInclude string) []string {
	return []string{
		"-std=gnu11", "-ffreestanding", "-fno-builtin", "-nostdlib", "-nostdinc",
		"-isystem", gccInclude,
		"-fno-pic", "-fno-pie", "-fno-stack-protector", "-mno-red-zone",
		"-mgeneral-regs-only", "-mno-sse", "-mno-mmx", "-mno-80387", "-mcmodel=small",
		"-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables", "-fno-common",
		"-g", "-gdwarf-5", "-O" + opt, "-Wall",
	}
}

// linkFlags are ld's flags: static, no build ID (determinism), 4 KiB
// segment alignment so the Multiboot header stays in the first 8 KiB.
func linkFlags() []string {
	return []string{"-nostdlib", "-static", "-no-pie", "--build-id=none", "-z", "max-page-size=0x1000", "-z", "noexecstack"}
}
