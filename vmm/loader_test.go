package vmm

import (
	"encoding/binary"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// Crafted images: a tiny ELF writer for the loader tests and fuzz seeds.

type tseg struct {
	typ          uint32
	vaddr, paddr uint64
	data         []byte
	memsz        uint64
}

// mkELF builds an ELF (class 1 or 2) with the given segments; data of
// each segment follows the program headers.
func mkELF(class int, machine uint16, entry uint64, segs []tseg) []byte {
	le := binary.LittleEndian
	ehsize, phsize := 52, 32
	if class == 2 {
		ehsize, phsize = 64, 56
	}
	off := ehsize + phsize*len(segs)
	b := make([]byte, off)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = byte(class), 1, 1
	le.PutUint16(b[16:], 2)
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	for i, s := range segs {
		h := b[ehsize+i*phsize:]
		memsz := s.memsz
		if memsz == 0 {
			memsz = uint64(len(s.data))
		}
		if class == 1 {
			le.PutUint32(h[0:], s.typ)
			le.PutUint32(h[4:], uint32(len(b)))
			le.PutUint32(h[8:], uint32(s.vaddr))
			le.PutUint32(h[12:], uint32(s.paddr))
			le.PutUint32(h[16:], uint32(len(s.data)))
			le.PutUint32(h[20:], uint32(memsz))
		} else {
			le.PutUint32(h[0:], s.typ)
			le.PutUint64(h[8:], uint64(len(b)))
			le.PutUint64(h[16:], s.vaddr)
			le.PutUint64(h[24:], s.paddr)
			le.PutUint64(h[32:], uint64(len(s.data)))
			le.PutUint64(h[40:], memsz)
		}
		b = append(b, s.data...)
	}
	if class == 1 {
		le.PutUint32(b[24:], uint32(entry))
		le.PutUint32(b[28:], uint32(ehsize))
		le.PutUint16(b[40:], uint16(ehsize))
		le.PutUint16(b[42:], uint16(phsize))
		le.PutUint16(b[44:], uint16(len(segs)))
	} else {
		le.PutUint64(b[24:], entry)
		le.PutUint64(b[32:], uint64(ehsize))
		le.PutUint16(b[52:], uint16(ehsize))
		le.PutUint16(b[54:], uint16(phsize))
		le.PutUint16(b[56:], uint16(len(segs)))
	}
	return b
}

func note(name string, typ uint32, desc []byte) []byte {
	le := binary.LittleEndian
	n := append([]byte(name), 0)
	b := make([]byte, 12)
	le.PutUint32(b, uint32(len(n)))
	le.PutUint32(b[4:], uint32(len(desc)))
	le.PutUint32(b[8:], typ)
	b = append(b, n...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u64(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }
func u32(v uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, v); return b }

// mbHeader is a multiboot header with optional a.out kludge fields.
func mbHeader(flags uint32, kludge ...uint32) []byte {
	b := append(u32(MultibootMagic), u32(flags)...)
	b = append(b, u32(-(MultibootMagic + flags))...)
	for _, k := range kludge {
		b = append(b, u32(k)...)
	}
	return b
}

func code(n int) []byte { return make([]byte, n) }

func craftedImages() map[string][]byte {
	text := append(mbHeader(3), code(64)...)
	aout := append(mbHeader(0x10003, 0x100000, 0x100000, 0, 0x102000, 0x100020), code(256)...)
	return map[string][]byte{
		"ukw64":     mkELF(2, emX86_64, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(64), 0x1000}, {ptNote, 0, 0, note("ukw", UKWNoteEntry64, u64(0x100010)), 0}}),
		"pvh":       mkELF(1, emX86, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(64), 0}, {ptNote, 0, 0, note("Xen", XenNotePhys32, u32(0x100020)), 0}}),
		"mb-elf32":  mkELF(1, emX86, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, text, 0}}),
		"mb-elf64":  mkELF(2, emX86_64, 0xc0100004, []tseg{{ptLoad, 0xc0100000, 0x100000, text, 0x2000}}),
		"plain64":   mkELF(2, emX86_64, 0x200000, []tseg{{ptLoad, 0x200000, 0x200000, code(16), 0}}),
		"aout":      aout,
		"elf32-bad": mkELF(1, emX86, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(8), 0}}),
	}
}

func TestParseCrafted(t *testing.T) {
	im := craftedImages()
	for _, c := range []struct {
		name   string
		kind   EntryKind
		entry  uint64
		format string
	}{
		{"ukw64", EntryUKW64, 0x100010, "elf64"},
		{"pvh", EntryPVH, 0x100020, "elf32"},
		{"mb-elf32", EntryMultiboot, 0x100000, "elf32"},
		{"mb-elf64", EntryMultiboot, 0x100004, "elf64"}, // entry moved from virtual to physical
		{"plain64", EntryELF64, 0x200000, "elf64"},
		{"aout", EntryMultiboot, 0x100020, "a.out kludge"},
	} {
		got, err := ParseImage(im[c.name])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.Kind != c.kind || got.Entry != c.entry || got.Format != c.format {
			t.Errorf("%s: kind %v entry %#x format %s, want %v %#x %s", c.name, got.Kind, got.Entry, got.Format, c.kind, c.entry, c.format)
		}
	}
	a, _ := ParseImage(im["aout"])
	if s := a.Segments[0]; s.Phys != 0x100000 || len(s.Data) != len(im["aout"]) || s.MemSize != 0x2000 {
		t.Fatalf("a.out segment %#x +%d mem %#x", s.Phys, len(s.Data), s.MemSize)
	}
}

func TestParseErrors(t *testing.T) {
	im := craftedImages()
	mut := func(name string, f func(b []byte) []byte) []byte {
		b := append([]byte(nil), im[name]...)
		return f(b)
	}
	le := binary.LittleEndian
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a bootable image"},
		{"text", []byte("hello world, not a kernel"), "not a bootable image"},
		{"elf32 without boot info", im["elf32-bad"], "ELF32 image without a multiboot header"},
		{"truncated header", im["plain64"][:40], "truncated"},
		{"bad class", mut("plain64", func(b []byte) []byte { b[4] = 7; return b }), "EI_CLASS"},
		{"big endian", mut("plain64", func(b []byte) []byte { b[5] = 2; return b }), "little-endian"},
		{"arm", mut("plain64", func(b []byte) []byte { le.PutUint16(b[18:], 183); return b }), "e_machine = 183"},
		{"no phdrs", mut("plain64", func(b []byte) []byte { le.PutUint16(b[56:], 0); return b }), "no program headers"},
		{"phdrs outside", mut("plain64", func(b []byte) []byte { le.PutUint64(b[32:], 1<<40); return b }), "program header table"},
		{"small phentsize", mut("plain64", func(b []byte) []byte { le.PutUint16(b[54:], 8); return b }), "e_phentsize"},
		{"filesz > memsz", mut("plain64", func(b []byte) []byte { le.PutUint64(b[64+40:], 1); return b }), "p_filesz"},
		{"data outside", mut("plain64", func(b []byte) []byte { le.PutUint64(b[64+8:], 1<<30); return b }), "file data"},
		{"above 4 GiB", mut("plain64", func(b []byte) []byte { le.PutUint64(b[64+24:], 0xffffffff); return b }), "past 4 GiB"},
		{"entry outside", mut("plain64", func(b []byte) []byte { le.PutUint64(b[24:], 0x900000); return b }), "not inside any PT_LOAD"},
		{"ukw note size", mkELF(2, emX86_64, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(64), 0}, {ptNote, 0, 0, note("ukw", UKWNoteEntry64, u32(1)), 0}}), "4-byte desc, want 8"},
		{"pvh note size", mkELF(1, emX86, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(64), 0}, {ptNote, 0, 0, note("Xen", XenNotePhys32, []byte{1, 2}), 0}}), "2-byte desc"},
		{"note overrun", mkELF(2, emX86_64, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(64), 0}, {ptNote, 0, 0, note("ukw", UKWNoteEntry64, u64(1))[:14], 0}}), "note"},
		{"overlap", mkELF(2, emX86_64, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(64), 0x2000}, {ptLoad, 0x101000, 0x101000, code(64), 0}}), "overlap"},
		{"mb unknown feature", append(mbHeader(1<<5|1<<16, 0x100000, 0x100000, 0, 0, 0x100000), code(64)...), "requires features 0x20"},
		{"aout header below load", append(mbHeader(0x10000, 0x100000, 0x100010, 0, 0, 0x100010), code(64)...), "header_addr 0x100000 < load_addr"},
		{"aout before file", append(mbHeader(0x10000, 0x100100, 0x100000, 0, 0, 0x100100), code(64)...), "before the file"},
		{"aout load_end < load", append(mbHeader(0x10000, 0x100000, 0x100000, 0xfff00, 0, 0x100000), code(64)...), "load_end_addr 0xfff00 < load_addr"},
		{"aout load_end past file", append(mbHeader(0x10000, 0x100000, 0x100000, 0x200000, 0, 0x100000), code(64)...), "asks for"},
		{"aout bss below end", append(mbHeader(0x10000, 0x100000, 0x100000, 0, 0x100004, 0x100000), code(64)...), "bss_end_addr"},
		{"aout entry outside", append(mbHeader(0x10000, 0x100000, 0x100000, 0, 0, 0x300000), code(64)...), "entry_addr 0x300000 is outside"},
		{"aout truncated", mbHeader(0x10000, 0x100000), "run past the file"},
	} {
		_, err := ParseImage(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestLoadBootInfo(t *testing.T) {
	im, err := ParseImage(craftedImages()["mb-elf32"])
	if err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, 8<<20)
	st, err := Load(im, mem, "kernel a=b", []Module{{Data: []byte("module-one"), Cmdline: "m1"}, {Data: code(5000), Cmdline: "m2"}})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if st.Long || st.Regs.RAX != MultibootBootEAX || st.Regs.RBX != bootMBI || st.Regs.RIP != 0x100000 {
		t.Fatalf("state %+v", st)
	}
	mbi := mem[bootMBI:]
	if flags := le.Uint32(mbi); flags != 1|4|8|64|512 {
		t.Fatalf("MBI flags %#x", flags)
	}
	if lo, hi := le.Uint32(mbi[4:]), le.Uint32(mbi[8:]); lo != 639 || hi != (8<<20-1<<20)>>10 {
		t.Fatalf("mem_lower %d mem_upper %d", lo, hi)
	}
	cstr := func(a uint32) string {
		s := mem[a:]
		return string(s[:strings.IndexByte(string(s), 0)])
	}
	if c := cstr(le.Uint32(mbi[16:])); c != "kernel a=b" {
		t.Fatalf("cmdline %q", c)
	}
	if cstr(le.Uint32(mbi[64:])) != "ukw" {
		t.Fatal("boot loader name")
	}
	if n, a := le.Uint32(mbi[20:]), le.Uint32(mbi[24:]); n != 2 || a != bootMods {
		t.Fatalf("mods %d at %#x", n, a)
	}
	m0, m1 := mem[bootMods:], mem[bootMods+16:]
	if s := le.Uint32(m0); s%4096 != 0 || s < 0x100000+0x40 || string(mem[s:s+10]) != "module-one" || le.Uint32(m0[4:]) != s+10 || cstr(le.Uint32(m0[8:])) != "m1" {
		t.Fatalf("module 0 at %#x", s)
	}
	if s := le.Uint32(m1); s%4096 != 0 || le.Uint32(m1[4:])-s != 5000 || cstr(le.Uint32(m1[8:])) != "m2" {
		t.Fatalf("module 1 at %#x", s)
	}
	// Memory map: the boot area is reserved; RAM above 1 MiB is available.
	if l := le.Uint32(mbi[44:]); l != 4*24 {
		t.Fatalf("mmap_length %d", l)
	}
	e := mem[bootMmap:]
	if le.Uint32(e) != 20 || le.Uint64(e[4:]) != 0 || le.Uint64(e[12:]) != BootAreaEnd || le.Uint32(e[20:]) != 2 {
		t.Fatalf("first mmap entry % x", e[:24])
	}
	e = mem[bootMmap+3*24:]
	if le.Uint64(e[4:]) != 1<<20 || le.Uint64(e[12:]) != 7<<20 || le.Uint32(e[20:]) != 1 {
		t.Fatalf("last mmap entry % x", e[:24])
	}
	// hvm_start_info mirrors it.
	si := mem[bootStartInfo:]
	if le.Uint32(si) != 0x336ec578 || le.Uint32(si[12:]) != 2 || cstr(uint32(le.Uint64(si[24:]))) != "kernel a=b" || le.Uint32(si[48:]) != 4 {
		t.Fatalf("start info % x", si[:56])
	}
}

func TestLoadLongModeTables(t *testing.T) {
	im, _ := ParseImage(craftedImages()["ukw64"])
	mem := make([]byte, 4<<20)
	st, err := Load(im, mem, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Long || st.Regs.RDI != MultibootBootEAX || st.Regs.RSI != bootMBI || st.Regs.RSP != bootStackTop {
		t.Fatalf("state %+v", st)
	}
	tr := mmu{cr0: cr0PG | cr0PE, cr3: bootPML4, cr4: cr4PAE, efer: eferLMA | eferLME}
	for _, va := range []uint64{0, 0x100010, 0x3fffffff, 0xfffff123} {
		if pa, err := tr.translate(mem, va); err != nil || pa != va {
			t.Errorf("identity map: %#x -> %#x, %v", va, pa, err)
		}
	}
	if _, err := tr.translate(mem, 1<<32); err == nil {
		t.Error("4 GiB is mapped")
	}
}

func TestLoadErrors(t *testing.T) {
	im := craftedImages()
	low := mkELF(2, emX86_64, 0x1000, []tseg{{ptLoad, 0x1000, 0x1000, code(16), 0}})
	big, _ := ParseImage(mkELF(2, emX86_64, 0x100000, []tseg{{ptLoad, 0x100000, 0x100000, code(16), 64 << 20}}))
	lowIm, _ := ParseImage(low)
	ok, _ := ParseImage(im["plain64"])
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"boot area", func() error { _, err := Load(lowIm, make([]byte, 4<<20), "", nil); return err }, "boot area"},
		{"too big", func() error { _, err := Load(big, make([]byte, 8<<20), "", nil); return err }, "does not fit"},
		{"tiny RAM", func() error { _, err := Load(ok, make([]byte, 1<<20), "", nil); return err }, "below the minimum"},
		{"long cmdline", func() error { _, err := Load(ok, make([]byte, 4<<20), strings.Repeat("x", 40000), nil); return err }, "string area"},
		{"module too big", func() error {
			_, err := Load(ok, make([]byte, 4<<20), "", []Module{{Data: code(4 << 20)}})
			return err
		}, "does not fit"},
	} {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestParseThirdParty checks the loader's view of the installed kernels.
func TestParseThirdParty(t *testing.T) {
	inv := testenv.File(t, "/boot/invaders.exec", "Debian package grub-invaders")
	im := parseFile(t, inv)
	if im.Kind != EntryMultiboot || im.Format != "a.out kludge" || im.Entry != 0x100024 || im.MultibootFlags != 0x10003 {
		t.Fatalf("invaders: %v %s entry %#x flags %#x", im.Kind, im.Format, im.Entry, im.MultibootFlags)
	}
	ex := parseFile(t, testenv.File(t, "/usr/lib/multiboot/examples/kernel", "Debian package multiboot"))
	if ex.Kind != EntryMultiboot || ex.Format != "elf32" || ex.Entry != 0x100000 {
		t.Fatalf("multiboot example: %v %s %#x", ex.Kind, ex.Format, ex.Entry)
	}
	gm := parseFile(t, gunzip(t, testenv.File(t, "/boot/gnumach-1.8-486.gz", "Debian package gnumach-image-1.8-486")))
	if gm.Kind != EntryMultiboot || gm.Format != "elf64" || gm.Entry != 0x1000000 || len(gm.Segments) != 3 || gm.Segments[1].Phys != 0x100c000 {
		t.Fatalf("gnumach: %v %s %#x %d segments", gm.Kind, gm.Format, gm.Entry, len(gm.Segments))
	}
}
