package trace

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"

	"ukw/symbols"
)

// Func is a function as traces name it.
type Func struct {
	Addr uint64
	// Name is the symbol or DWARF name, or the address in hex when
	// nothing is known.
	Name string
	// File and Line locate the function's first instruction ("" and 0
	// when unknown): where a pane jumps to.
	File string
	Line int
}

// Tracepoint is one UKW_TRACE site, from the ELF section ukw_tracepoints.
type Tracepoint struct {
	Addr   uint64 // the descriptor's address: records name it by this
	Name   string
	Format string
	File   string
	Line   int
	NArgs  int
}

// Symbolizer names what records refer to. *Image is the real one; tests
// of the pure code may supply their own.
type Symbolizer interface {
	// Func names the function at addr.
	Func(addr uint64) Func
	// Tracepoint returns the tracepoint whose descriptor is at addr.
	Tracepoint(addr uint64) (Tracepoint, bool)
}

// Image is what a trace needs from the guest's ELF: function names,
// tracepoint descriptors and where the ring is. It caches lookups and is
// not safe for concurrent use.
type Image struct {
	f       *symbols.File
	points  map[uint64]Tracepoint
	funcs   map[uint64]Func
	ring    uint64
	hasRing bool
}

// NewImage reads the tracepoint table and the ring's address from f.
// An image without lib/trace is fine: it has no tracepoints and no ring.
func NewImage(f *symbols.File) (*Image, error) {
	im := &Image{f: f, points: map[uint64]Tracepoint{}, funcs: map[uint64]Func{}}
	if s := f.ELF().Section(TracepointSection); s != nil && s.Type != elf.SHT_NOBITS {
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("%s: section %s: %w", f.Path(), TracepointSection, err)
		}
		if len(data)%TracepointSize != 0 {
			return nil, fmt.Errorf("%s: section %s is %d bytes, not a multiple of %d", f.Path(), TracepointSection, len(data), TracepointSize)
		}
		le := binary.LittleEndian
		for off := 0; off < len(data); off += TracepointSize {
			d := data[off:]
			tp := Tracepoint{
				Addr:   s.Addr + uint64(off),
				Name:   im.cstring(le.Uint64(d)),
				Format: im.cstring(le.Uint64(d[8:])),
				File:   im.cstring(le.Uint64(d[16:])),
				Line:   int(le.Uint32(d[24:])),
				NArgs:  int(le.Uint32(d[28:])),
			}
			if tp.NArgs > MaxArgs {
				return nil, fmt.Errorf("%s: tracepoint %q at %#x has %d arguments, at most %d", f.Path(), tp.Name, tp.Addr, tp.NArgs, MaxArgs)
			}
			im.points[tp.Addr] = tp
		}
	}
	for _, s := range f.LookupSymbol(RingSymbol) {
		if pa, ok := physOf(f.ELF(), s.Addr); ok {
			im.ring, im.hasRing = pa, true
			break
		}
	}
	return im, nil
}

// File is the ELF the image reads.
func (im *Image) File() *symbols.File { return im.f }

// Ring returns the guest-physical address of the ring (symbol
// ukw_trace_ring), if the image has lib/trace.
func (im *Image) Ring() (uint64, bool) { return im.ring, im.hasRing }

// Tracepoints lists the image's tracepoints by address.
func (im *Image) Tracepoints() []Tracepoint {
	out := make([]Tracepoint, 0, len(im.points))
	for _, tp := range im.points {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// Tracepoint returns the tracepoint whose descriptor is at addr.
func (im *Image) Tracepoint(addr uint64) (Tracepoint, bool) {
	tp, ok := im.points[addr]
	return tp, ok
}

// Func names the function at addr: the ELF symbol containing it, else
// DWARF's function, else the address.
func (im *Image) Func(addr uint64) Func {
	if fn, ok := im.funcs[addr]; ok {
		return fn
	}
	fn := Func{Addr: addr, Name: fmt.Sprintf("%#x", addr)}
	loc := im.f.Lookup(addr)
	if loc.Symbol != "" {
		fn.Name = loc.Symbol
		if loc.Offset != 0 {
			fn.Name += fmt.Sprintf("+%#x", loc.Offset)
		}
	} else if len(loc.Frames) > 0 && loc.Frames[0].Func != "" {
		fn.Name = loc.Frames[0].Func
	}
	if len(loc.Frames) > 0 {
		fn.File, fn.Line = loc.Frames[0].File, loc.Frames[0].Line
	}
	im.funcs[addr] = fn
	return fn
}

// cstring reads a NUL-terminated string of at most 256 bytes from the
// image at virtual address addr ("" when it cannot).
func (im *Image) cstring(addr uint64) string {
	if addr == 0 {
		return ""
	}
	var out []byte
	buf := make([]byte, 32)
	for len(out) < 256 {
		n, _ := im.f.ReadAt(buf, int64(addr)+int64(len(out)))
		for _, c := range buf[:n] {
			if c == 0 {
				return string(out)
			}
			out = append(out, c)
		}
		if n < len(buf) {
			break
		}
	}
	return string(out)
}

// physOf maps a virtual address to the physical one through the PT_LOAD
// segment that holds it (ukw images are identity-mapped; foreign ones need
// not be).
func physOf(f *elf.File, va uint64) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && va >= p.Vaddr && va-p.Vaddr < p.Memsz {
			return va - p.Vaddr + p.Paddr, true
		}
	}
	return 0, false
}
