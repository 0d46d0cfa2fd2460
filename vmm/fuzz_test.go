package vmm

import (
	"os"
	"testing"
)

func parseFile(t *testing.T, path string) *Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ParseImage(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return im
}

// FuzzParseImage: no input makes the loader panic or write outside guest
// RAM; whatever parses also loads or fails with an error.
func FuzzParseImage(f *testing.F) {
	for _, b := range craftedImages() {
		f.Add(b)
	}
	for _, p := range []string{"/boot/invaders.exec", "/usr/lib/multiboot/examples/kernel"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	mem := make([]byte, 4<<20)
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := ParseImage(data)
		if err != nil {
			if im != nil {
				t.Fatal("image and error")
			}
			return
		}
		if im.Entry >= MaxImagePhys && im.Kind != EntryUKW64 && im.Kind != EntryELF64 {
			t.Fatalf("32-bit entry %#x", im.Entry)
		}
		clear(mem)
		Load(im, mem, "fuzz", []Module{{Data: data[:min(len(data), 100)], Cmdline: "m"}})
	})
}
