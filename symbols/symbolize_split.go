package symbols

import (
	"bytes"
	"runtime"
)

// Symbolize answers a large batch of input lines on two cores: this
// goroutine answers the first half and another answers the second half
// speculatively, from a fresh BFD query state, into held-back buffers.
//
// Only one part of that state changes answers: BFD's symbol cache
// (bfdState.sym, see symbolFor), which answers an address inside the
// last symbol chosen with that symbol. The rest are caches of
// order-independent answers. A speculative run starts with no cached
// symbol; it logs each consultation of the cache until it first holds a
// symbol. Once the first half is done, its final state replays the log
// (verifySpec): when every logged consultation would have had the same
// result, and from the first one that set the cache on the states are
// equal, the speculative output is exactly the sequential output and is
// written after the first half's; otherwise the second half is answered
// again, sequentially. TestAddr2lineShuffled compares the output with
// addr2line's with batches split every few lines.

// defaultSplit is the smallest batch answerBatch splits: below it the
// second goroutine costs more than it saves.
const defaultSplit = 32 << 10

// maxSpecLog bounds a speculative run's log; past it the run is redone.
const maxSpecLog = 64

// specCall is one consultation of the symbol cache in a speculative run.
type specCall struct {
	addr   uint64
	secIdx int
	sym    *Symbol
	ok     bool
}

// specLog is a speculative run's log (see bfdState.spec).
type specLog struct {
	calls []specCall
	full  bool
}

func (l *specLog) record(c specCall) {
	if len(l.calls) == maxSpecLog {
		l.full = true
		return
	}
	l.calls = append(l.calls, c)
}

// symCache is the part of bfdState that answers depend on.
type symCache struct {
	sym    *Symbol
	secIdx int
	size   uint64
}

// verifySpec replays a speculative run's log on the true starting state
// from. ok reports that every consultation gets the result the run got
// and the states agree from the first that set the cache; then the run's
// final cache (specEnd) is the true final one, or from when the run never
// set it.
func verifySpec(from symCache, log *specLog, specEnd symCache) (symCache, bool) {
	if log.full {
		return symCache{}, false
	}
	for _, c := range log.calls {
		hit := from.sym != nil && from.secIdx == c.secIdx && c.addr >= from.sym.Addr && c.addr < from.sym.Addr+from.size
		if hit {
			// The true run answers from.sym; so must the speculative one,
			// which then holds the same symbol.
			if !c.ok || c.sym != from.sym {
				return symCache{}, false
			}
			return specEnd, true
		}
		if c.ok {
			// Both looked the symbol up and cached it: equal from here.
			return specEnd, true
		}
		// Not found in either run; the true run keeps from.
	}
	if specEnd.sym != nil {
		return symCache{}, false // unreachable: setting the cache is logged
	}
	return from, true
}

// answerBatch answers the complete lines of b.
func (s *symbolizer) answerBatch(b []byte) {
	split := s.split
	if split == 0 {
		split = defaultSplit
	}
	if s.st == nil || s.held != nil || len(b) < split || runtime.GOMAXPROCS(0) < 2 {
		s.answerLines(b)
		return
	}
	mid := len(b) / 2
	mid += bytes.IndexByte(b[mid:], '\n') + 1
	first, second := b[:mid], b[mid:]
	if len(second) == 0 {
		s.answerLines(b)
		return
	}
	sp := &symbolizer{f: s.f, o: s.o, st: &bfdState{spec: &specLog{}}, w: s.w, buf: s.w.buffer(),
		held: [][]byte{}, frames: make([]SourceFrame, 0, 8)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sp.answerLines(second)
	}()
	s.answerLines(first)
	<-done
	from := symCache{s.st.sym, s.st.secIdx, s.st.size}
	end, ok := verifySpec(from, sp.st.spec, symCache{sp.st.sym, sp.st.secIdx, sp.st.size})
	if !ok {
		for _, h := range sp.held {
			select {
			case s.w.free <- h[:0]:
			default:
			}
		}
		s.answerLines(second)
		return
	}
	// The speculative output follows this one's; its state goes on.
	s.flush(false)
	for _, h := range sp.held {
		s.w.bufs <- h
	}
	s.buf = append(s.buf, sp.buf...)
	sp.st.spec = nil
	sp.st.sym, sp.st.secIdx, sp.st.size = end.sym, end.secIdx, end.size
	s.st = sp.st
	s.prev, s.hasPrv = append(s.prev[:0], sp.prev...), sp.hasPrv
	if cap(sp.frames) > cap(s.frames) {
		s.frames = sp.frames
	}
}

// answerLines answers the complete lines of b on this goroutine.
func (s *symbolizer) answerLines(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < fgetsChunk {
			s.answer(parseAddrBytes(b[:i]))
		} else {
			s.answerLine(b[:i], true)
		}
		b = b[i+1:]
	}
}
