package vmm

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"

	"ukw/internal/testenv"
)

// TestLoadELFSections checks the Multiboot section-header info (flags
// bit 5) against debug/elf's reading of the same kernel: the table is in
// guest memory with e_shnum entries of e_shentsize bytes; every section
// with sh_addr 0 and contents was copied and its sh_addr set to where;
// the others are as in the file. An ELF32 (the multiboot spec's example
// kernel) and an ELF64 with virtual != physical segments (gnumach -dbg,
// with DWARF) when installed.
func TestLoadELFSections(t *testing.T) {
	type kernel struct {
		path, why string
		gz        bool
	}
	for _, k := range []kernel{
		{"/usr/lib/multiboot/examples/kernel", "Debian package multiboot", false},
		{"/boot/gnumach-1.8-486-dbg.gz", "Debian package gnumach-image-1.8-486-dbg", true},
	} {
		t.Run(k.path, func(t *testing.T) {
			path := testenv.File(t, k.path, k.why)
			if k.gz {
				path = gunzip(t, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			im, err := ParseImage(data)
			if err != nil {
				t.Fatal(err)
			}
			if im.Kind != EntryMultiboot || im.Sections == nil {
				t.Fatalf("kind %v, sections %v", im.Kind, im.Sections != nil)
			}
			mem := make([]byte, 64<<20)
			if _, err := Load(im, mem, "k", []Module{{Data: []byte("mod"), Cmdline: "m"}}); err != nil {
				t.Fatal(err)
			}
			le := binary.LittleEndian
			mbi := mem[bootMBI:]
			if le.Uint32(mbi)&(1<<5) == 0 {
				t.Fatalf("flags %#x without bit 5", le.Uint32(mbi))
			}
			ef, err := elf.NewFile(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			num, size, addr, shndx := le.Uint32(mbi[28:]), le.Uint32(mbi[32:]), uint64(le.Uint32(mbi[36:])), le.Uint32(mbi[40:])
			if int(num) != len(ef.Sections) || int(shndx) >= len(ef.Sections) || ef.Sections[shndx].Name != ".shstrtab" {
				t.Fatalf("num %d shndx %d; debug/elf has %d sections", num, shndx, len(ef.Sections))
			}
			modEnd := uint64(le.Uint32(mem[bootMods+4:]))
			copied := 0
			for i, s := range ef.Sections {
				h := mem[addr+uint64(i)*uint64(size):]
				var shAddr uint64
				if ef.Class == elf.ELFCLASS32 {
					shAddr = uint64(le.Uint32(h[12:]))
				} else {
					shAddr = le.Uint64(h[16:])
				}
				if s.Addr != 0 || s.Size == 0 {
					if shAddr != s.Addr {
						t.Fatalf("section %d %s: sh_addr %#x, file %#x", i, s.Name, shAddr, s.Addr)
					}
					continue
				}
				if shAddr < modEnd || shAddr+s.Size > uint64(len(mem)) || (s.Addralign > 1 && shAddr%s.Addralign != 0) {
					t.Fatalf("section %d %s copied to %#x (modules end at %#x, align %d)", i, s.Name, shAddr, modEnd, s.Addralign)
				}
				want, err := s.Data()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(mem[shAddr:shAddr+s.Size], want) {
					t.Fatalf("section %d %s: contents at %#x differ from the file", i, s.Name, shAddr)
				}
				copied++
			}
			t.Logf("%d sections, %d copied, table at %#x", num, copied, addr)
			if copied == 0 {
				t.Fatal("no section copied")
			}
		})
	}
}
