package symbols

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Addr2lineOptions are binutils addr2line's output flags.
type Addr2lineOptions struct {
	Functions bool // -f: print function names
	Inlines   bool // -i: print the inline chain
	Demangle  bool // -C: demangle names (C names are unchanged)
	Addresses bool // -a: print the address first
	Pretty    bool // -p: one line per address
	Basenames bool // -s: strip directories
	JSON      bool // one JSON object per address instead of text
}

// ParseAddr2lineAddr parses an address the way addr2line does
// (bfd_scan_vma base 16: optional 0x, hex digits up to the first other
// character; nothing parses as 0).
func ParseAddr2lineAddr(s string) uint64 { return parseAddrBytes([]byte(s)) }

func parseAddrBytes(s []byte) uint64 {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	var v uint64
	for _, c := range s {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return v
		}
		v = v<<4 | uint64(d)
	}
	return v
}

// jsonLocation is the --json form of one address.
type jsonLocation struct {
	Addr   string      `json:"addr"`
	Found  bool        `json:"found"`
	Symbol string      `json:"symbol,omitempty"`
	Offset uint64      `json:"offset,omitempty"`
	Frames []jsonFrame `json:"frames"`
}

type jsonFrame struct {
	Func          string `json:"func,omitempty"`
	File          string `json:"file,omitempty"`
	Line          int    `json:"line"`
	Column        int    `json:"column,omitempty"`
	Discriminator int    `json:"discriminator,omitempty"`
	Inlined       bool   `json:"inlined,omitempty"`
}

// WriteAddr2line writes loc to w exactly as binutils addr2line 2.40 does
// with the same options (addr2line.c translate_addresses).
func WriteAddr2line(w *bufio.Writer, loc Location, o Addr2lineOptions) {
	if o.JSON {
		j := jsonLocation{Addr: fmt.Sprintf("%#x", loc.Addr), Found: loc.Found, Symbol: loc.Symbol, Offset: loc.Offset, Frames: []jsonFrame{}}
		for _, fr := range loc.Frames {
			j.Frames = append(j.Frames, jsonFrame{fr.Func, fr.File, fr.Line, fr.Column, fr.Discriminator, fr.Inlined})
		}
		b, _ := json.Marshal(j)
		w.Write(b)
		w.WriteByte('\n')
		return
	}
	if o.Addresses {
		w.WriteString("0x")
		w.WriteString(fmt.Sprintf("%016x", loc.Addr))
		if o.Pretty {
			w.WriteString(": ")
		} else {
			w.WriteByte('\n')
		}
	}
	if !loc.Found || len(loc.Frames) == 0 {
		if o.Functions {
			if o.Pretty {
				w.WriteString("?? ")
			} else {
				w.WriteString("??\n")
			}
		}
		w.WriteString("??:0\n")
		return
	}
	n := len(loc.Frames)
	if !o.Inlines {
		n = 1
	}
	disc := loc.Frames[0].Discriminator
	for i := 0; i < n; i++ {
		fr := loc.Frames[i]
		if i > 0 && o.Pretty {
			w.WriteString(" (inlined by) ")
		}
		if o.Functions {
			name := fr.Func
			if name == "" {
				name = "??"
			} else if o.Demangle {
				name = Demangle(name)
			}
			w.WriteString(name)
			if o.Pretty {
				w.WriteString(" at ")
			} else {
				w.WriteByte('\n')
			}
		}
		file := fr.File
		if file == "" {
			file = "??"
		} else if o.Basenames {
			if k := strings.LastIndexByte(file, '/'); k >= 0 {
				file = file[k+1:]
			}
		}
		w.WriteString(file)
		w.WriteByte(':')
		if fr.Line != 0 {
			w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(fr.Line), 10))
			// addr2line keeps the first frame's discriminator for the
			// whole chain (bfd_find_inliner_info does not reset it).
			if disc != 0 {
				w.WriteString(" (discriminator ")
				w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(disc), 10))
				w.WriteByte(')')
			}
			w.WriteByte('\n')
		} else {
			w.WriteString("?\n")
		}
	}
}

// Symbolize reads addresses (addr2line syntax) from args, or one per line
// from in when args is empty, and writes each with WriteAddr2line. Like
// addr2line it answers every address read from in before waiting for more
// input, so it can serve as a co-process on a pipe.
func (f *File) Symbolize(out io.Writer, in io.Reader, args []string, o Addr2lineOptions) error {
	w := bufio.NewWriterSize(out, 64<<10)
	var st *bfdState
	if !o.JSON {
		st = &bfdState{}
	}
	// frames is reused for every answer: one allocation, not one per address.
	frames := make([]SourceFrame, 0, 8)
	answer := func(a uint64) {
		loc := f.lookupInto(a, st, false, frames[:0])
		WriteAddr2line(w, loc, o)
		if cap(loc.Frames) > cap(frames) {
			frames = loc.Frames
		}
	}
	if len(args) > 0 {
		for _, a := range args {
			answer(ParseAddr2lineAddr(a))
		}
		return w.Flush()
	}
	br := bufio.NewReaderSize(in, 64<<10)
	warm := make(chan []uint64, 4)
	defer close(warm)
	go f.warmUnits(warm)
	left := 0 // lines of the last batch not answered yet
	for {
		if n := br.Buffered(); n > 0 && left == 0 {
			// Index the units of the addresses already read on the other
			// core while this one answers them (docs/symbols.md, "Speed").
			if b, err := br.Peek(n); err == nil {
				batch := batchAddrs(b)
				left = len(batch)
				select {
				case warm <- batch:
				default:
				}
			}
		}
		line, err := br.ReadSlice('\n')
		if left > 0 {
			left--
		}
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: parse its start, skip the rest.
			answer(parseAddrBytes(line))
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		if len(line) > 0 {
			answer(parseAddrBytes(line))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if br.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

// Demangle returns name demangled for display. C names, the only ones
// ukw's images carry, are returned unchanged; Itanium C++ names (_Z...)
// are also returned unchanged (docs/symbols.md: no C++ demangler).
func Demangle(name string) string { return name }

// batchAddrs parses the complete lines of b as addresses.
func batchAddrs(b []byte) []uint64 {
	var out []uint64
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i == len(b) {
			break
		}
		out = append(out, parseAddrBytes(b[:i]))
		b = b[i+1:]
	}
	return out
}

// warmUnits reads the function index and the line table of the units of
// each batch of addresses, ahead of the lookups (both are built once per
// unit; a lookup that gets there first simply waits for them).
func (f *File) warmUnits(batches <-chan []uint64) {
	var last *unit
	for b := range batches {
		for _, a := range b {
			for _, u := range f.unitsFor(a) {
				if u == last {
					break
				}
				last = u
				f.functions(u)
				f.lineTable(u)
				break
			}
		}
	}
}
