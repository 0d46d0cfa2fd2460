package session

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"

	"ukw/guest"
)

// memHistory keeps the bytes each memory-pane read saw at the previous
// stop, so changes can be highlighted.
type memHistory struct {
	prev, cur map[memKey][]byte
}

type memKey struct {
	addr uint64
	n    int
}

func (h *memHistory) newStop() {
	if h.cur != nil {
		h.prev = h.cur
	}
	h.cur = map[memKey][]byte{}
}

func (h *memHistory) record(k memKey, data []byte) []byte {
	if h.cur == nil {
		h.cur = map[memKey][]byte{}
	}
	h.cur[k] = data
	return h.prev[k]
}

// maxMemoryRead bounds one memory-pane read.
const maxMemoryRead = 64 << 10

// readMemory answers ReadMemory.
func (l *loop) readMemory(expr string, n int) {
	if n <= 0 || n > maxMemoryRead {
		n = 256
	}
	v, err := l.eval(expr)
	if err != nil {
		l.emit(MemoryEvent{Err: err.Error()})
		return
	}
	addr := v.v
	if v.addr != 0 && !strings.HasPrefix(strings.TrimSpace(expr), "*") {
		addr = v.addr // a variable: show its memory
	}
	data := make([]byte, n)
	if err := l.m.ReadMemory(0, guest.Virtual, addr, data); err != nil {
		l.emit(MemoryEvent{Addr: addr, Err: err.Error()})
		return
	}
	ev := MemoryEvent{Addr: addr, Data: data, Prev: l.mem.record(memKey{addr, n}, data)}
	for off := 0; off+8 <= n; off += 8 {
		w := binary.LittleEndian.Uint64(data[off:])
		if a := l.annotate(w); a != "" {
			if ev.Symbols == nil {
				ev.Symbols = map[uint64]string{}
			}
			ev.Symbols[addr+uint64(off)] = strings.Trim(a, " <>")
		}
	}
	l.emit(ev)
}

// examine answers x/NFU like gdb.
func (l *loop) examine(e Examine) {
	v, err := l.eval(e.Expr)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
	addr := v.v
	if e.Format == 'i' {
		l.s.outf("%s", strings.Join(l.disasmText(addr, e.Count), "\n"))
		return
	}
	if e.Format == 's' {
		buf := make([]byte, 256)
		_ = l.m.ReadMemory(0, guest.Virtual, addr, buf)
		if i := strings.IndexByte(string(buf), 0); i >= 0 {
			buf = buf[:i]
		}
		l.s.outf("%#x%s:\t%q", addr, l.annotate(addr), string(buf))
		return
	}
	size := map[byte]int{'b': 1, 'h': 2, 'w': 4, 'g': 8}[e.Size]
	if e.Format == 'c' {
		size = 1
	}
	if e.Format == 'a' {
		size = 8
	}
	perLine := map[int]int{1: 8, 2: 8, 4: 4, 8: 2}[size]
	data := make([]byte, size*e.Count)
	if err := l.m.ReadMemory(0, guest.Virtual, addr, data); err != nil {
		l.s.errorf("%v", err)
		return
	}
	var b strings.Builder
	for i := 0; i < e.Count; i++ {
		a := addr + uint64(i*size)
		if i%perLine == 0 {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%#x%s:", a, l.annotate(a))
		}
		var w [8]byte
		copy(w[:], data[i*size:(i+1)*size])
		u := binary.LittleEndian.Uint64(w[:])
		b.WriteByte('\t')
		switch e.Format {
		case 'x':
			fmt.Fprintf(&b, "0x%0*x", size*2, u)
		case 'd':
			fmt.Fprintf(&b, "%d", signExtend(u, size))
		case 'u':
			fmt.Fprintf(&b, "%d", u)
		case 'o':
			fmt.Fprintf(&b, "0%o", u)
		case 't':
			fmt.Fprintf(&b, "%0*b", size*8, u)
		case 'c':
			fmt.Fprintf(&b, "%d %q", int8(u), rune(byte(u)))
		case 'a':
			fmt.Fprintf(&b, "%#x%s", u, l.annotate(u))
		}
	}
	l.s.outf("%s", b.String())
}

// disasm decodes count instructions from addr into AsmLines.
func (l *loop) disasm(addr uint64, count int) ([]AsmLine, error) {
	if count <= 0 || count > 1000 {
		count = 32
	}
	buf := make([]byte, count*15)
	n := len(buf)
	for n > 0 {
		if err := l.m.ReadMemory(0, guest.Virtual, addr, buf[:n]); err == nil {
			break
		}
		n /= 2
	}
	if n == 0 {
		return nil, fmt.Errorf("cannot read memory at %#x", addr)
	}
	buf = buf[:n]
	symname := func(a uint64) (string, uint64) {
		if l.sym == nil {
			return "", 0
		}
		s, _, ok := l.sym.SymbolAt(a)
		if !ok {
			return "", 0
		}
		return s.Name, s.Addr
	}
	var out []AsmLine
	for off := 0; off < len(buf) && len(out) < count; {
		pc := addr + uint64(off)
		in, err := x86asm.Decode(buf[off:], 64)
		line := AsmLine{Addr: pc}
		if err != nil {
			line.Bytes = buf[off : off+1]
			line.Text = fmt.Sprintf(".byte %#x", buf[off])
			off++
		} else {
			line.Bytes = buf[off : off+in.Len]
			line.Text = x86asm.GNUSyntax(in, pc, symname)
			off += in.Len
		}
		if l.sym != nil {
			loc := l.sym.LookupGDB(pc)
			line.Function, line.Offset = loc.Symbol, loc.Offset
			if len(loc.Frames) > 0 {
				line.File, line.Line = loc.Frames[0].File, loc.Frames[0].Line
			}
		}
		out = append(out, line)
	}
	return out, nil
}

func (l *loop) disasmText(addr uint64, count int) []string {
	lines, err := l.disasm(addr, count)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, a := range lines {
		mark := "  "
		if l.stop != nil && a.Addr == l.stop.regs.RIP {
			mark = "=>"
		}
		out = append(out, fmt.Sprintf("%s %#x%s:\t%s", mark, a.Addr, l.annotate(a.Addr), a.Text))
	}
	return out
}
