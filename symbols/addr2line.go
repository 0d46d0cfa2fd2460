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
func ParseAddr2lineAddr(s string) uint64 {
	s = strings.TrimLeft(s, " \t")
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	var v uint64
	for _, c := range []byte(s) {
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
			w.WriteString(strconv.Itoa(fr.Line))
			// addr2line keeps the first frame's discriminator for the
			// whole chain (bfd_find_inliner_info does not reset it).
			if disc != 0 {
				fmt.Fprintf(w, " (discriminator %d)", disc)
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
	if len(args) > 0 {
		for _, a := range args {
			WriteAddr2line(w, f.lookup(ParseAddr2lineAddr(a), st, false), o)
		}
		return w.Flush()
	}
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			WriteAddr2line(w, f.lookup(ParseAddr2lineAddr(line), st, false), o)
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
