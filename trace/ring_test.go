package trace

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// fakeRAM is guest-physical memory for the reader tests: a ring is built
// in it byte for byte, the way lib/trace writes one (layers/README.md).
type fakeRAM struct {
	b     []byte
	reads int
}

func (m *fakeRAM) ReadPhysical(addr uint64, buf []byte) error {
	m.reads++
	if addr+uint64(len(buf)) > uint64(len(m.b)) {
		return errors.New("outside RAM")
	}
	copy(buf, m.b[addr:])
	return nil
}

type writableRAM struct{ *fakeRAM }

func (m writableRAM) WritePhysical(addr uint64, data []byte) error {
	if addr+uint64(len(data)) > uint64(len(m.b)) {
		return errors.New("outside RAM")
	}
	copy(m.b[addr:], data)
	return nil
}

const ringAt = 0x1000

// guestRing plays lib/trace's part: it reserves, fills and commits slots
// following trace.c, including its full-ring rule.
type guestRing struct {
	ram   *fakeRAM
	nrecs uint32
}

func newGuestRing(nrecs uint32) *guestRing {
	ram := &fakeRAM{b: make([]byte, ringAt+HeaderSize+int(nrecs)*RecordSize+64)}
	copy(ram.b[ringAt:], EncodeHeader(Header{Magic: RingMagic, Version: RingVersion, HdrSize: HeaderSize, RecSize: RecordSize, NRecs: nrecs}))
	return &guestRing{ram: ram, nrecs: nrecs}
}

func (g *guestRing) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(g.ram.b[ringAt+off:]) }
func (g *guestRing) put(off, v uint64)     { binary.LittleEndian.PutUint64(g.ram.b[ringAt+off:], v) }

// reserve claims the next slot; ok is false when the ring is full (the
// record is counted as dropped).
func (g *guestRing) reserve() (uint64, bool) {
	head, tail := g.u64(offHead), g.u64(offTail)
	if head-tail >= uint64(g.nrecs) {
		g.put(offDropped, g.u64(offDropped)+1)
		return 0, false
	}
	g.put(offHead, head+1)
	return head, true
}

func (g *guestRing) fill(i uint64, r Record, commit bool) {
	r.Seq = 0
	b := EncodeRecord(r)
	if commit {
		binary.LittleEndian.PutUint64(b, i+1)
	} else {
		binary.LittleEndian.PutUint64(b, g.u64(HeaderSize+(i%uint64(g.nrecs))*RecordSize)) // old seq stays
	}
	copy(g.ram.b[ringAt+HeaderSize+(i%uint64(g.nrecs))*RecordSize:], b)
}

func (g *guestRing) write(r Record) bool {
	i, ok := g.reserve()
	if ok {
		g.fill(i, r, true)
	}
	return ok
}

func point(tsc, id uint64, args ...uint64) Record {
	r := Record{TSC: tsc, Type: RecPoint, NArgs: len(args), ID: id}
	copy(r.Args[:], args)
	return r
}

func TestRecordRoundTrip(t *testing.T) {
	r := Record{Seq: 9, TSC: 1 << 40, Type: RecExit, NArgs: 1, ID: 0x100200, Args: [4]uint64{0x100300, 2, 3, 4}}
	got, err := DecodeRecord(EncodeRecord(r))
	if err != nil || got != r {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, r)
	}
	h := Header{Magic: RingMagic, Version: 1, HdrSize: 64, RecSize: 64, NRecs: 128, Head: 300, Tail: 200, Dropped: 5, TSCHz: 2e9}
	gh, err := ParseHeader(EncodeHeader(h))
	if err != nil || gh != h {
		t.Fatalf("header round trip: %+v, %v", gh, err)
	}
	if h.Bytes() != 64+128*64 {
		t.Fatalf("Bytes %d", h.Bytes())
	}
}

func TestParseHeaderRejects(t *testing.T) {
	good := Header{Magic: RingMagic, Version: 1, HdrSize: 64, RecSize: 64, NRecs: 64}
	for _, c := range []struct {
		name string
		mod  func(*Header)
		want string
	}{
		{"magic", func(h *Header) { h.Magic = 0x1234 }, "magic"},
		{"version", func(h *Header) { h.Version = 2 }, "version"},
		{"recsize", func(h *Header) { h.RecSize = 32 }, "sizes"},
		{"nrecs zero", func(h *Header) { h.NRecs = 0 }, "power of two"},
		{"nrecs odd", func(h *Header) { h.NRecs = 100 }, "power of two"},
		{"nrecs huge", func(h *Header) { h.NRecs = 1 << 30 }, "power of two"},
		{"head past tail", func(h *Header) { h.Head, h.Tail = 200, 100 }, "past tail"},
	} {
		h := good
		c.mod(&h)
		if _, err := ParseHeader(EncodeHeader(h)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := ParseHeader(make([]byte, 64)); !errors.Is(err, ErrNotReady) {
		t.Errorf("zero header: %v, want ErrNotReady", err)
	}
	if _, err := ParseHeader(make([]byte, 10)); err == nil {
		t.Error("short header accepted")
	}
	b := EncodeRecord(Record{Seq: 1, Type: RecPoint, NArgs: 5})
	if _, err := DecodeRecord(b); err == nil {
		t.Error("record with 5 args accepted")
	}
}

func TestReaderIncrementalWithTailHandoff(t *testing.T) {
	for _, live := range []bool{true, false} {
		g := newGuestRing(8)
		rd := NewReader(writableRAM{g.ram}, ringAt, live)
		next := uint64(0)
		// 5 rounds of 6 records through an 8-slot ring: it wraps, and
		// only the tail the reader writes back keeps the guest writing.
		for round := 0; round < 5; round++ {
			for k := 0; k < 6; k++ {
				if !g.write(point(1000+next, 0x42, next)) {
					t.Fatalf("live=%v: ring full at record %d although the reader consumes", live, next)
				}
				next++
			}
			recs, err := rd.Poll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 6 {
				t.Fatalf("live=%v round %d: %d records, want 6", live, round, len(recs))
			}
			for k, r := range recs {
				want := uint64(round*6 + k)
				if r.Index() != want || r.Args[0] != want || r.TSC != 1000+want || r.Type != RecPoint || r.ID != 0x42 {
					t.Fatalf("live=%v: record %+v, want index %d", live, r, want)
				}
			}
			if tail := g.u64(offTail); tail != next {
				t.Fatalf("tail %d after reading %d records", tail, next)
			}
		}
		if rd.Dropped() != 0 {
			t.Fatalf("dropped %d", rd.Dropped())
		}
	}
}

func TestReaderWithoutWriteBackCountsGuestDrops(t *testing.T) {
	g := newGuestRing(4)
	rd := NewReader(g.ram, ringAt, true) // read-only: the tail never moves
	for i := 0; i < 10; i++ {
		g.write(point(uint64(i+1), 7, uint64(i)))
	}
	recs, err := rd.Poll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v; want the first 4", len(recs), err)
	}
	if recs[3].Args[0] != 3 {
		t.Fatalf("last record %+v", recs[3])
	}
	if rd.Dropped() != 6 {
		t.Fatalf("dropped %d, want 6", rd.Dropped())
	}
}

func TestReaderStopsAtUncommittedSlot(t *testing.T) {
	g := newGuestRing(16)
	rd := NewReader(writableRAM{g.ram}, ringAt, true)
	g.write(point(1, 1))
	i, _ := g.reserve() // interrupted between reserve and commit...
	g.fill(i, point(2, 2), false)
	g.write(point(3, 3)) // ...by a handler that writes one of its own
	recs, err := rd.Poll()
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records, %v; want 1 (stop at the uncommitted slot)", len(recs), err)
	}
	g.fill(i, point(2, 2), true) // the interrupted write completes
	recs, _ = rd.Poll()
	if len(recs) != 2 || recs[0].ID != 2 || recs[1].ID != 3 {
		t.Fatalf("after commit: %+v", recs)
	}
	// A slot that never commits holds back nothing at the end.
	j, _ := g.reserve()
	g.fill(j, point(4, 4), false)
	g.write(point(5, 5))
	if recs, _ := rd.Poll(); len(recs) != 0 {
		t.Fatalf("uncommitted slot returned: %+v", recs)
	}
	recs, err = rd.PollFinal()
	if err != nil || len(recs) != 1 || recs[0].ID != 5 || rd.Dropped() != 1 {
		t.Fatalf("final: %+v, %v, dropped %d; want record 5, 1 dropped", recs, err, rd.Dropped())
	}
}

func TestReaderNotReadyThenReady(t *testing.T) {
	ram := &fakeRAM{b: make([]byte, ringAt+HeaderSize+8*RecordSize)}
	rd := NewReader(ram, ringAt, true)
	if recs, err := rd.Poll(); err != nil || recs != nil {
		t.Fatalf("zero ring: %v, %v", recs, err)
	}
	copy(ram.b[ringAt:], EncodeHeader(Header{Magic: RingMagic, Version: 1, HdrSize: 64, RecSize: 64, NRecs: 8}))
	g := &guestRing{ram: ram, nrecs: 8}
	g.write(point(1, 9))
	if recs, err := rd.Poll(); err != nil || len(recs) != 1 {
		t.Fatalf("after set-up: %v, %v", recs, err)
	}
}

func TestReaderErrors(t *testing.T) {
	g := newGuestRing(8)
	copy(g.ram.b[ringAt:], []byte{1, 2, 3, 4})
	if _, err := NewReader(g.ram, ringAt, true).Poll(); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Fatalf("bad magic: %v", err)
	}
	if _, err := NewReader(g.ram, uint64(len(g.ram.b)), true).Poll(); err == nil {
		t.Fatal("ring outside RAM accepted")
	}
	g = newGuestRing(8)
	g.write(Record{TSC: 1, Type: 9})
	if _, err := NewReader(g.ram, ringAt, false).Poll(); err == nil || !strings.Contains(err.Error(), "unknown type") {
		t.Fatalf("bad record type: %v", err)
	}
}

func TestReaderBulkWrapsInTwoReads(t *testing.T) {
	g := newGuestRing(8)
	rd := NewReader(writableRAM{g.ram}, ringAt, false)
	for i := 0; i < 6; i++ {
		g.write(point(uint64(i), 1, uint64(i)))
	}
	rd.Poll()
	for i := 6; i < 13; i++ { // slots 6, 7, then 0..4
		g.write(point(uint64(i), 1, uint64(i)))
	}
	g.ram.reads = 0
	recs, err := rd.Poll()
	if err != nil || len(recs) != 7 || recs[6].Args[0] != 12 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if g.ram.reads != 3 { // header, two ranges
		t.Fatalf("%d reads, want 3", g.ram.reads)
	}
}

func FuzzReader(f *testing.F) {
	g := newGuestRing(4)
	g.write(point(1, 2, 3))
	g.write(Record{TSC: 2, Type: RecEnter, NArgs: 1, ID: 0x100000})
	f.Add(g.ram.b[ringAt:], true)
	f.Add(g.ram.b[ringAt:], false)
	f.Add(make([]byte, 64), true)
	f.Fuzz(func(t *testing.T, data []byte, live bool) {
		ram := &fakeRAM{b: append(make([]byte, ringAt), data...)}
		rd := NewReader(writableRAM{ram}, ringAt, live)
		for i := 0; i < 3; i++ {
			recs, err := rd.Poll()
			if err != nil {
				return
			}
			NewTrace(mapSym{}).Add(recs)
		}
		rd.PollFinal()
	})
}

func TestReaderReadsLargeRingsInBatches(t *testing.T) {
	for _, live := range []bool{false, true} {
		g := newGuestRing(1 << 15)
		n := readBatch + readBatch/2
		for i := 0; i < n; i++ {
			g.write(point(uint64(i), 1, uint64(i)))
		}
		g.ram.reads = 0
		recs, err := NewReader(writableRAM{g.ram}, ringAt, live).Poll()
		if err != nil || len(recs) != n || recs[n-1].Args[0] != uint64(n-1) {
			t.Fatalf("live=%v: %d records, %v", live, len(recs), err)
		}
		if !live && g.ram.reads != 3 { // header, then one read per batch
			t.Fatalf("%d reads, want 3", g.ram.reads)
		}
	}
}
