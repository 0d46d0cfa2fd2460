package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// link runs ld over the cached objects in link order, then objcopy for the
// boot image, unless the stamp shows the same inputs were linked already.
func link(ctx context.Context, app *App, units []*unit, res *Resolution, tc *toolchain, elfPath, imgPath string) (bool, []Diagnostic, error) {
	cache := objCache{dir: app.CacheDir()}
	script := filepath.Join(res.LDScript.Dir, filepath.FromSlash(res.LDScript.LDScript))
	scriptBytes, err := os.ReadFile(script)
	if err != nil {
		return false, nil, fmt.Errorf("%s: linker script: %w", res.LDScript.Name, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "ukw-link-v1\x00%s\x00%s\x00%s\x00", tc.ldID, script, strings.Join(linkFlags(), "\x00"))
	h.Write(scriptBytes)
	objs := make([]string, len(units))
	for i, u := range units {
		objs[i] = cache.objPath(u.key)
		fmt.Fprintf(h, "\x00%s", u.key)
	}
	key := hex.EncodeToString(h.Sum(nil))
	stamp := filepath.Join(app.OutDir(), app.Manifest.Name+".stamp")
	if old, err := os.ReadFile(stamp); err == nil && string(old) == key {
		if _, err1 := os.Stat(elfPath); err1 == nil {
			if _, err2 := os.Stat(imgPath); err2 == nil {
				return false, nil, nil
			}
		}
	}
	if err := os.MkdirAll(app.OutDir(), 0o755); err != nil {
		return false, nil, err
	}
	os.Remove(stamp)
	tmpELF, tmpImg := elfPath+".tmp", imgPath+".tmp"
	defer os.Remove(tmpELF)
	defer os.Remove(tmpImg)
	args := append(linkFlags(), "-T", script, "-o", tmpELF)
	args = append(args, objs...)
	out, err := run(ctx, app.Dir, tc.ld, args...)
	diags := ParseDiagnostics(out)
	if err != nil {
		if len(diags) == 0 {
			diags = []Diagnostic{{Severity: "error", Message: strings.TrimSpace(out)}}
		}
		return false, diags, fmt.Errorf("%w: ld failed", ErrCompile)
	}
	// The boot image: an ELF32 copy (QEMU's multiboot loader refuses ELF64)
	// without symbols or debug info.
	out, err = run(ctx, app.Dir, tc.objcopy, "-O", "elf32-i386", "--strip-all", tmpELF, tmpImg)
	if err != nil {
		return false, diags, fmt.Errorf("objcopy: %v: %s", err, strings.TrimSpace(out))
	}
	if err := os.Rename(tmpELF, elfPath); err != nil {
		return false, diags, err
	}
	if err := os.Rename(tmpImg, imgPath); err != nil {
		return false, diags, err
	}
	return true, diags, os.WriteFile(stamp, []byte(key), 0o644)
}
