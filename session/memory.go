package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"ukw/guest"
	"ukw/symbols"
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
	addr := v.Addr // a variable: show its memory
	if !v.Lvalue || strings.HasPrefix(strings.TrimSpace(expr), "*") {
		if addr, err = address(v); err != nil {
			l.emit(MemoryEvent{Err: err.Error()})
			return
		}
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
	addr, err := address(v)
	if err != nil {
		l.s.errorf("%v", err)
		return
	}
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

// disasm decodes count instructions from addr into AsmLines
// (symbols.Disassemble: AT&T syntax, branch targets as <func+off>).
func (l *loop) disasm(addr uint64, count int) ([]AsmLine, error) {
	if count <= 0 || count > 1000 {
		count = 32
	}
	if l.sym == nil {
		return nil, errors.New("no symbols loaded")
	}
	insns, err := l.sym.Disassemble(addr, addr+uint64(count)*15, l.memReader(), symbols.ATT)
	if err != nil && len(insns) == 0 {
		return nil, err
	}
	var out []AsmLine
	for _, in := range insns {
		if len(out) == count {
			break
		}
		line := AsmLine{Addr: in.Addr, Bytes: in.Bytes, Text: in.Text}
		if s, off, ok := l.sym.SymbolAt(in.Addr); ok {
			line.Function, line.Offset = s.Name, off
		}
		if li, ok := l.sym.LineAt(in.Addr); ok {
			line.File, line.Line = li.File, li.Line
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
