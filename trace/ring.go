package trace

import (
	"encoding/binary"
	"fmt"
)

// The trace ring's layout (layers/README.md, "Trace ring"; the guest side
// is layers/lib/trace/include/ukw/trace.h).
const (
	// RingMagic is the header's first word, "UKWT" in memory.
	RingMagic = 0x54574b55
	// RingVersion is the layout version this package reads.
	RingVersion = 1
	// HeaderSize and RecordSize are the only sizes version 1 has.
	HeaderSize = 64
	RecordSize = 64
	// MaxArgs is the number of argument words in a record.
	MaxArgs = 4
	// MaxRecords bounds nrecs (lib/trace's ring_kib 65536).
	MaxRecords = 1 << 20

	// RingSymbol is the ELF symbol of the ring in lib/trace.
	RingSymbol = "ukw_trace_ring"
	// TracepointSection holds one struct ukw_tracepoint per UKW_TRACE site.
	TracepointSection = "ukw_tracepoints"
	// TracepointSize is sizeof(struct ukw_tracepoint).
	TracepointSize = 32

	// Header field offsets.
	offHead    = 16
	offTail    = 24
	offDropped = 32
)

// RecordType says what a record is.
type RecordType uint16

// Record types.
const (
	RecPoint RecordType = 1 // a tracepoint: ID is its struct ukw_tracepoint
	RecEnter RecordType = 2 // function entry: ID is the function, Args[0] the call site
	RecExit  RecordType = 3 // function exit: ID is the function, Args[0] the call site
)

func (t RecordType) String() string {
	switch t {
	case RecPoint:
		return "point"
	case RecEnter:
		return "enter"
	case RecExit:
		return "exit"
	}
	return fmt.Sprintf("type%d", uint16(t))
}

// Header is the ring header (64 bytes).
type Header struct {
	Magic   uint32
	Version uint16
	HdrSize uint16
	RecSize uint32
	NRecs   uint32
	// Head counts records the guest reserved; Tail those the reader
	// consumed; Dropped those lost because the ring was full.
	Head, Tail, Dropped uint64
	Flags               uint64
	// TSCHz is the TSC frequency the guest knows, 0 when it does not.
	TSCHz uint64
}

// ParseHeader decodes and checks a ring header. A header whose magic is
// still 0 belongs to a ring the guest has not set up yet: ErrNotReady.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("trace ring header is %d bytes, want %d", len(b), HeaderSize)
	}
	le := binary.LittleEndian
	h := Header{
		Magic: le.Uint32(b), Version: le.Uint16(b[4:]), HdrSize: le.Uint16(b[6:]),
		RecSize: le.Uint32(b[8:]), NRecs: le.Uint32(b[12:]),
		Head: le.Uint64(b[offHead:]), Tail: le.Uint64(b[offTail:]), Dropped: le.Uint64(b[offDropped:]),
		Flags: le.Uint64(b[40:]), TSCHz: le.Uint64(b[48:]),
	}
	switch {
	case h.Magic == 0:
		return h, ErrNotReady
	case h.Magic != RingMagic:
		return h, fmt.Errorf("trace ring magic %#x, want %#x", h.Magic, RingMagic)
	case h.Version != RingVersion:
		return h, fmt.Errorf("trace ring version %d, this ukw reads %d", h.Version, RingVersion)
	case h.HdrSize != HeaderSize || h.RecSize != RecordSize:
		return h, fmt.Errorf("trace ring header/record sizes %d/%d, want %d/%d", h.HdrSize, h.RecSize, HeaderSize, RecordSize)
	case h.NRecs == 0 || h.NRecs > MaxRecords || h.NRecs&(h.NRecs-1) != 0:
		return h, fmt.Errorf("trace ring nrecs %d is not a power of two in 1..%d", h.NRecs, MaxRecords)
	case h.Head-h.Tail > uint64(h.NRecs):
		return h, fmt.Errorf("trace ring head %d is more than %d records past tail %d", h.Head, h.NRecs, h.Tail)
	}
	return h, nil
}

// Bytes is the ring's size in guest memory, header included.
func (h Header) Bytes() uint64 { return HeaderSize + uint64(h.NRecs)*RecordSize }

// Record is one decoded trace record.
type Record struct {
	// Seq is the record's index + 1 (the guest's commit word).
	Seq   uint64
	TSC   uint64
	Type  RecordType
	NArgs int
	ID    uint64
	Args  [MaxArgs]uint64
}

// Index is the record's position in the guest's stream (0-based).
func (r Record) Index() uint64 { return r.Seq - 1 }

// DecodeRecord decodes one 64-byte record (it does not check Seq).
func DecodeRecord(b []byte) (Record, error) {
	if len(b) < RecordSize {
		return Record{}, fmt.Errorf("trace record is %d bytes, want %d", len(b), RecordSize)
	}
	le := binary.LittleEndian
	r := Record{Seq: le.Uint64(b), TSC: le.Uint64(b[8:]), Type: RecordType(le.Uint16(b[16:])),
		NArgs: int(le.Uint16(b[18:])), ID: le.Uint64(b[24:])}
	if r.NArgs > MaxArgs {
		return r, fmt.Errorf("trace record %d has %d arguments, at most %d", r.Seq, r.NArgs, MaxArgs)
	}
	for i := range r.Args {
		r.Args[i] = le.Uint64(b[32+8*i:])
	}
	return r, nil
}

// EncodeHeader is ParseHeader's inverse, for tests and tools that build rings.
func EncodeHeader(h Header) []byte {
	b := make([]byte, HeaderSize)
	le := binary.LittleEndian
	le.PutUint32(b, h.Magic)
	le.PutUint16(b[4:], h.Version)
	le.PutUint16(b[6:], h.HdrSize)
	le.PutUint32(b[8:], h.RecSize)
	le.PutUint32(b[12:], h.NRecs)
	le.PutUint64(b[offHead:], h.Head)
	le.PutUint64(b[offTail:], h.Tail)
	le.PutUint64(b[offDropped:], h.Dropped)
	le.PutUint64(b[40:], h.Flags)
	le.PutUint64(b[48:], h.TSCHz)
	return b
}

// EncodeRecord is DecodeRecord's inverse.
func EncodeRecord(r Record) []byte {
	b := make([]byte, RecordSize)
	le := binary.LittleEndian
	le.PutUint64(b, r.Seq)
	le.PutUint64(b[8:], r.TSC)
	le.PutUint16(b[16:], uint16(r.Type))
	le.PutUint16(b[18:], uint16(r.NArgs))
	le.PutUint64(b[24:], r.ID)
	for i, a := range r.Args {
		le.PutUint64(b[32+8*i:], a)
	}
	return b
}
