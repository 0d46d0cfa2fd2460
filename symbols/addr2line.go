package symbols

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
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
		d := hexVal[c]
		if d > 15 {
			return v
		}
		v = v<<4 | uint64(d)
	}
	return v
}

// fgetsChunk: addr2line reads its input with fgets into a 100-byte
// buffer (addr2line.c translate_addresses), so a line of 99 characters
// or more is read, and answered, in pieces of 99 (and a line of exactly
// a multiple of 99 is followed by an empty piece, its newline).
const fgetsChunk = 99

// answerLine answers one input line (without its newline; nl says it
// had one) the way addr2line's fgets pieces it.
func (s *symbolizer) answerLine(line []byte, nl bool) {
	for len(line) >= fgetsChunk {
		s.answer(parseAddrBytes(line[:fgetsChunk]))
		line = line[fgetsChunk:]
	}
	if len(line) > 0 || nl {
		s.answer(parseAddrBytes(line))
	}
}

// hexVal maps a byte to its hex digit value, or 0xff (an immutable
// table: a table lookup has no data-dependent branch to mispredict).
var hexVal = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c-'a') + 10
		t[c-'a'+'A'] = uint8(c-'a') + 10
	}
	return t
}()

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
	w.Write(appendAddr2line(w.AvailableBuffer(), loc, o))
}

// appendAddr2line appends WriteAddr2line's output to b.
func appendAddr2line(b []byte, loc Location, o Addr2lineOptions) []byte {
	if o.JSON {
		j := jsonLocation{Addr: fmt.Sprintf("%#x", loc.Addr), Found: loc.Found, Symbol: loc.Symbol, Offset: loc.Offset, Frames: []jsonFrame{}}
		for _, fr := range loc.Frames {
			j.Frames = append(j.Frames, jsonFrame{fr.Func, fr.File, fr.Line, fr.Column, fr.Discriminator, fr.Inlined})
		}
		js, _ := json.Marshal(j)
		b = append(b, js...)
		return append(b, '\n')
	}
	b = appendAddrPrefix(b, loc.Addr, o)
	return appendAnswer(b, loc, o)
}

// appendAddrPrefix appends what -a prints before an answer.
func appendAddrPrefix(b []byte, addr uint64, o Addr2lineOptions) []byte {
	if !o.Addresses || o.JSON {
		return b
	}
	b = append(b, "0x"...)
	const hex = "0123456789abcdef"
	for sh := 60; sh >= 0; sh -= 4 {
		b = append(b, hex[addr>>uint(sh)&0xf])
	}
	if o.Pretty {
		return append(b, ": "...)
	}
	return append(b, '\n')
}

// appendAnswer appends the text answer for loc after the -a prefix.
func appendAnswer(b []byte, loc Location, o Addr2lineOptions) []byte {
	if !loc.Found || len(loc.Frames) == 0 {
		if o.Functions {
			if o.Pretty {
				b = append(b, "?? "...)
			} else {
				b = append(b, "??\n"...)
			}
		}
		return append(b, "??:0\n"...)
	}
	n := len(loc.Frames)
	if !o.Inlines {
		n = 1
	}
	disc := loc.Frames[0].Discriminator
	for i := 0; i < n; i++ {
		fr := &loc.Frames[i]
		if i > 0 && o.Pretty {
			b = append(b, " (inlined by) "...)
		}
		if o.Functions {
			name := fr.Func
			if name == "" {
				name = "??"
			} else if o.Demangle {
				name = Demangle(name)
			}
			b = append(b, name...)
			if o.Pretty {
				b = append(b, " at "...)
			} else {
				b = append(b, '\n')
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
		b = append(b, file...)
		b = append(b, ':')
		if fr.Line != 0 {
			b = strconv.AppendInt(b, int64(fr.Line), 10)
			// addr2line keeps the first frame's discriminator for the
			// whole chain (bfd_find_inliner_info does not reset it).
			if disc != 0 {
				b = append(b, " (discriminator "...)
				b = strconv.AppendInt(b, int64(disc), 10)
				b = append(b, ')')
			}
			b = append(b, '\n')
		} else {
			b = append(b, "?\n"...)
		}
	}
	return b
}

// symbolizer is Symbolize's state: the output buffer, BFD's query state
// and the text of the last answer with the addresses it holds for.
type symbolizer struct {
	f   *File
	o   Addr2lineOptions
	st  *bfdState // nil for --json
	w   *outWriter
	buf []byte
	// held, in a speculative run: full output buffers kept back until the
	// run is known right (symbolize_split.go).
	held   [][]byte
	split  int           // answerBatch splits batches of at least split bytes (0: default)
	frames []SourceFrame // reused for every answer
	prev   []byte        // the last answer's text after the -a prefix
	hasPrv bool          // prev holds for st.ansLo..ansHi
	err    error
}

func (s *symbolizer) answer(a uint64) {
	if s.hasPrv && a >= s.st.ansLo && a < s.st.ansHi {
		// Same section, units, function segment, line row and symbol as
		// the last address: the same text (a run of nearby addresses).
		s.buf = appendAddrPrefix(s.buf, a, s.o)
		s.buf = append(s.buf, s.prev...)
	} else {
		loc := s.f.lookupInto(a, s.st, false, s.frames[:0])
		if cap(loc.Frames) > cap(s.frames) {
			s.frames = loc.Frames
		}
		if s.st == nil {
			s.buf = appendAddr2line(s.buf, loc, s.o)
		} else {
			s.buf = appendAddrPrefix(s.buf, a, s.o)
			n := len(s.buf)
			s.buf = appendAnswer(s.buf, loc, s.o)
			s.hasPrv = s.st.ansLo < s.st.ansHi
			if s.hasPrv {
				s.prev = append(s.prev[:0], s.buf[n:]...)
			}
		}
	}
	if len(s.buf) >= symbolizeOutBuf-8<<10 {
		s.flush(false)
	}
}

// flush hands the buffered output to the writer goroutine and takes an
// empty buffer; with wait it also waits until everything handed over is
// written (before Symbolize waits for input or returns).
func (s *symbolizer) flush(wait bool) {
	if s.held != nil && len(s.buf) > 0 {
		s.held = append(s.held, s.buf)
		s.buf = s.w.buffer()
		return
	}
	if len(s.buf) > 0 {
		s.w.bufs <- s.buf
		select {
		case s.buf = <-s.w.free:
		default:
			s.buf = make([]byte, 0, symbolizeOutBuf)
		}
	}
	if wait {
		s.w.bufs <- nil
		<-s.w.synced
	}
	if s.err == nil {
		s.err = s.w.error()
	}
}

// symbolizeOutBuf is the size of Symbolize's output buffers.
const symbolizeOutBuf = 64 << 10

// outWriter writes Symbolize's output buffers on its own goroutine, so
// that the answers go on while the kernel takes the previous buffer (into
// a file's page cache, at a page fault per page here).
type outWriter struct {
	out    io.Writer
	bufs   chan []byte // nil: a sync request
	free   chan []byte
	synced chan struct{}
	mu     sync.Mutex
	err    error
}

func newOutWriter(out io.Writer) *outWriter {
	w := &outWriter{out: out, bufs: make(chan []byte, 2), free: make(chan []byte, 3), synced: make(chan struct{})}
	go w.run()
	return w
}

func (w *outWriter) run() {
	for b := range w.bufs {
		if b == nil {
			w.synced <- struct{}{}
			continue
		}
		if w.error() == nil {
			if _, err := w.out.Write(b); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		select {
		case w.free <- b[:0]:
		default:
		}
	}
}

// buffer returns an empty output buffer (a written one when there is).
func (w *outWriter) buffer() []byte {
	select {
	case b := <-w.free:
		return b
	default:
		return make([]byte, 0, symbolizeOutBuf)
	}
}

func (w *outWriter) error() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// close ends the writer goroutine (after a flush with wait).
func (w *outWriter) close() { close(w.bufs) }

// Symbolize reads addresses (addr2line syntax) from args, or one per line
// from in when args is empty, and writes each with WriteAddr2line. Like
// addr2line it answers every address read from in before waiting for more
// input, so it can serve as a co-process on a pipe. While it answers the
// addresses read so far, other goroutines index the units they fall in
// (docs/symbols.md, "Speed").
func (f *File) Symbolize(out io.Writer, in io.Reader, args []string, o Addr2lineOptions) error {
	return f.symbolize(out, in, args, o, 0)
}

// symbolize is Symbolize splitting batches of at least split bytes of
// input across two goroutines (0: defaultSplit; see answerBatch).
func (f *File) symbolize(out io.Writer, in io.Reader, args []string, o Addr2lineOptions, split int) error {
	s := &symbolizer{f: f, o: o, w: newOutWriter(out), buf: make([]byte, 0, symbolizeOutBuf), frames: make([]SourceFrame, 0, 8), split: split}
	defer s.w.close()
	if !o.JSON {
		s.st = &bfdState{}
	}
	if len(args) > 0 {
		for _, a := range args {
			s.answer(ParseAddr2lineAddr(a))
		}
		s.flush(true)
		return s.err
	}
	// A large buffer: the more input is read ahead, the further ahead of
	// the answers the units get indexed.
	br := bufio.NewReaderSize(in, symbolizeReadAhead)
	w := f.startWarming()
	defer w.stop()
	for s.err == nil {
		if br.Buffered() == 0 {
			// Wait for input (everything read so far is answered and
			// written).
			if _, err := br.Peek(1); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
		}
		if n := br.Buffered(); n > 0 {
			// Answer every complete line buffered, in one pass over the
			// buffer, while the other cores index the units they need.
			b, _ := br.Peek(n)
			if end := bytes.LastIndexByte(b, '\n') + 1; end > 0 {
				b = b[:end]
				w.send(b)
				s.answerBatch(b)
				br.Discard(end)
				if br.Buffered() == 0 {
					s.flush(true)
				}
				continue
			}
		}
		// No complete line buffered: read one (it may end at EOF, or be
		// longer than the buffer).
		line, err := br.ReadSlice('\n')
		var carry []byte
		for err == bufio.ErrBufferFull {
			// Longer than the buffer: answer its whole pieces as they come.
			carry = append(carry, line...)
			n := len(carry) / fgetsChunk * fgetsChunk
			for k := 0; k < n; k += fgetsChunk {
				s.answer(parseAddrBytes(carry[k : k+fgetsChunk]))
			}
			carry = append(carry[:0], carry[n:]...)
			line, err = br.ReadSlice('\n')
		}
		if carry != nil {
			line = append(carry, line...)
		}
		nl := len(line) > 0 && line[len(line)-1] == '\n'
		if nl {
			line = line[:len(line)-1]
		}
		if len(line) > 0 || nl {
			s.answerLine(line, nl)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if br.Buffered() == 0 {
			s.flush(true)
		}
	}
	s.flush(true)
	return s.err
}

// symbolizeReadAhead is Symbolize's input buffer size.
const symbolizeReadAhead = 256 << 10

// Demangle returns name demangled for display. C names, the only ones
// ukw's images carry, are returned unchanged; Itanium C++ names (_Z...)
// are also returned unchanged (docs/symbols.md: no C++ demangler).
func Demangle(name string) string { return name }
