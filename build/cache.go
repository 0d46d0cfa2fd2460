package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The object cache lives in DIR/.ukw/cache:
//
//	obj/KEY.o     compiled objects, KEY = hash(unit key, each header's path and bytes)
//	deps/UNIT.json the headers the last compile of a unit read, UNIT = hash(compiler,
//	               flags, source path and bytes)
//
// A lookup hashes the source and flags, reads the header list, hashes the
// headers' current bytes and looks for the object: touching a header changes
// the key of exactly the units that include it.
type objCache struct{ dir string }

type depRecord struct {
	Headers []string `json:"headers"`
}

// unitKey hashes what the compile of src depends on besides headers.
func unitKey(ccID string, flags []string, src string, srcBytes []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "ukw-obj-v1\x00%s\x00%s\x00%s\x00", ccID, strings.Join(flags, "\x00"), src)
	h.Write(srcBytes)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// objKey extends a unit key with the current bytes of the headers; ok is
// false when one cannot be read (then the unit must be recompiled).
func objKey(unit string, headers []string) (string, bool) {
	h := sha256.New()
	h.Write([]byte(unit))
	for _, p := range headers {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", false
		}
		fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], true
}

func (c objCache) objPath(key string) string { return filepath.Join(c.dir, "obj", key+".o") }
func (c objCache) depPath(unit string) string {
	return filepath.Join(c.dir, "deps", unit+".json")
}

// lookup returns the object key and path if a valid object is cached.
func (c objCache) lookup(unit string) (key string, headers []string, hit bool) {
	data, err := os.ReadFile(c.depPath(unit))
	if err != nil {
		return "", nil, false
	}
	var rec depRecord
	if json.Unmarshal(data, &rec) != nil {
		return "", nil, false
	}
	key, ok := objKey(unit, rec.Headers)
	if !ok {
		return "", nil, false
	}
	if _, err := os.Stat(c.objPath(key)); err != nil {
		return "", nil, false
	}
	return key, rec.Headers, true
}

// store moves a freshly compiled object into the cache and records its headers.
func (c objCache) store(unit, tmpObj string, headers []string) (string, error) {
	key, ok := objKey(unit, headers)
	if !ok {
		return "", fmt.Errorf("a header changed or vanished during the compile")
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "obj"), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "deps"), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmpObj, c.objPath(key)); err != nil {
		return "", err
	}
	data, _ := json.Marshal(depRecord{Headers: headers})
	if err := writeAtomic(c.depPath(unit), data); err != nil {
		return "", err
	}
	return key, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// parseDepFile reads a make rule written by gcc -MD ("obj: src h1 h2 \")
// and returns the prerequisites after the first (the source), made
// absolute against dir.
func parseDepFile(data []byte, dir string) []string {
	s := strings.ReplaceAll(string(data), "\\\n", " ")
	if i := strings.Index(s, ": "); i >= 0 {
		s = s[i+2:]
	} else if i := strings.Index(s, ":\n"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			p := cur.String()
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			out = append(out, filepath.Clean(p))
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ' ':
			cur.WriteByte(' ')
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			cur.WriteByte('$')
			i++
		case s[i] == ' ' || s[i] == '\t':
			flush()
		default:
			cur.WriteByte(s[i])
		}
	}
	flush()
	if len(out) > 0 {
		out = out[1:] // the source itself
	}
	return uniqSorted(out)
}
