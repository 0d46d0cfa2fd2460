package trace

import (
	"encoding/binary"
	"errors"
	"fmt"

	"ukw/guest"
)

// ErrNotReady means the ring's header is still zero: the guest has not
// written its first record yet.
var ErrNotReady = errors.New("trace ring not set up yet")

// Memory reads guest-physical memory. guest.PhysMemory satisfies it; a
// Memory that also has WritePhysical lets the Reader hand consumed slots
// back to the guest (the header's tail), so the ring never fills.
type Memory interface {
	ReadPhysical(addr uint64, buf []byte) error
}

// readBatch is the most records read into one buffer (1 MiB).
const readBatch = 1 << 14

type memWriter interface {
	WritePhysical(addr uint64, data []byte) error
}

// Reader reads a trace ring incrementally: each Poll returns the records
// committed since the previous one, in order.
//
// On a running guest (live) it reads each slot's commit word before the
// rest of the slot: the guest writes the record and then its seq, and x86
// keeps stores in order, so a slot whose seq is its index + 1 is complete.
// On a stopped guest it reads the whole range at once.
type Reader struct {
	mem     Memory
	addr    uint64
	live    bool
	started bool
	next    uint64 // index of the next record to return
	hdr     Header
	lost    uint64 // records skipped by the reader (never committed, or consumed elsewhere)
}

// NewReader reads the ring whose header is at guest-physical addr. live
// says whether the guest may be running during Poll.
func NewReader(mem Memory, addr uint64, live bool) *Reader {
	return &Reader{mem: mem, addr: addr, live: live}
}

// Addr is the ring's guest-physical address.
func (r *Reader) Addr() uint64 { return r.addr }

// SetLive switches between the running-guest and stopped-guest read modes.
func (r *Reader) SetLive(live bool) { r.live = live }

// Header is the header as the last Poll saw it.
func (r *Reader) Header() Header { return r.hdr }

// Dropped is the number of records the guest could not write (ring full)
// plus those the reader had to skip.
func (r *Reader) Dropped() uint64 { return r.hdr.Dropped + r.lost }

// Poll returns the records committed since the last call. A ring the
// guest has not set up yet yields no records and no error.
func (r *Reader) Poll() ([]Record, error) { return r.poll(false) }

// PollFinal is Poll for a guest that will not run again: a slot that was
// reserved but never committed (the guest ended inside the tracer) is
// skipped and counted as dropped instead of holding back later records.
func (r *Reader) PollFinal() ([]Record, error) { return r.poll(true) }

func (r *Reader) poll(final bool) ([]Record, error) {
	hb := make([]byte, HeaderSize)
	if err := r.mem.ReadPhysical(r.addr, hb); err != nil {
		return nil, fmt.Errorf("trace ring header at %#x: %w", r.addr, err)
	}
	h, err := ParseHeader(hb)
	if errors.Is(err, ErrNotReady) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !r.started || h.Head < r.next || h.Head-r.next > uint64(h.NRecs) {
		// First look, or the ring was reset (reboot) or consumed by
		// another reader: start at the guest's tail.
		if r.started && h.Tail > r.next {
			r.lost += h.Tail - r.next
		}
		r.started, r.next = true, h.Tail
	}
	r.hdr = h
	var recs []Record
	// In batches, so that a ring of any size costs a bounded buffer.
	for r.next < h.Head {
		n, before := min(h.Head-r.next, readBatch), r.next
		var got []Record
		if r.live {
			got, err = r.readLive(h, n, final)
		} else {
			got, err = r.readBulk(h, n, final)
		}
		recs = append(recs, got...)
		if err != nil {
			return recs, err
		}
		if r.next-before < n {
			break // stopped at an uncommitted slot
		}
	}
	if w, ok := r.mem.(memWriter); ok && (len(recs) > 0 || final) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.next)
		if err := w.WritePhysical(r.addr+offTail, b[:]); err != nil {
			return recs, fmt.Errorf("trace ring tail: %w", err)
		}
	}
	return recs, nil
}

func (r *Reader) slotAddr(h Header, i uint64) uint64 {
	return r.addr + HeaderSize + (i&uint64(h.NRecs-1))*RecordSize
}

// readLive reads n slots one by one, commit word first.
func (r *Reader) readLive(h Header, n uint64, final bool) ([]Record, error) {
	var recs []Record
	var seq [8]byte
	slot := make([]byte, RecordSize)
	for k := uint64(0); k < n; k++ {
		i := r.next
		if err := r.mem.ReadPhysical(r.slotAddr(h, i), seq[:]); err != nil {
			return recs, err
		}
		if binary.LittleEndian.Uint64(seq[:]) != i+1 {
			if final {
				r.next++
				r.lost++
				continue
			}
			break
		}
		if err := r.mem.ReadPhysical(r.slotAddr(h, i), slot); err != nil {
			return recs, err
		}
		rec, err := r.decode(slot, i)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
		r.next++
	}
	return recs, nil
}

// readBulk reads the n slots in at most two reads (the ring wraps once).
func (r *Reader) readBulk(h Header, n uint64, final bool) ([]Record, error) {
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, n*RecordSize)
	first := min(n, uint64(h.NRecs)-(r.next&uint64(h.NRecs-1)))
	if err := r.mem.ReadPhysical(r.slotAddr(h, r.next), buf[:first*RecordSize]); err != nil {
		return nil, err
	}
	if first < n {
		if err := r.mem.ReadPhysical(r.addr+HeaderSize, buf[first*RecordSize:]); err != nil {
			return nil, err
		}
	}
	var recs []Record
	for k := uint64(0); k < n; k++ {
		i := r.next
		slot := buf[k*RecordSize : (k+1)*RecordSize]
		if binary.LittleEndian.Uint64(slot) != i+1 {
			if final {
				r.next++
				r.lost++
				continue
			}
			break
		}
		rec, err := r.decode(slot, i)
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
		r.next++
	}
	return recs, nil
}

func (r *Reader) decode(slot []byte, i uint64) (Record, error) {
	rec, err := DecodeRecord(slot)
	if err != nil {
		return rec, err
	}
	if rec.Type < RecPoint || rec.Type > RecExit {
		return rec, fmt.Errorf("trace record %d has unknown type %d", i, rec.Type)
	}
	return rec, nil
}

// MachineMemory reads guest-physical memory through m.ReadMemory (and
// writes through WriteMemory): any backend, but only while it is stopped.
func MachineMemory(m guest.Machine) guest.PhysMemory { return machineMem{m} }

type machineMem struct{ m guest.Machine }

func (mm machineMem) ReadPhysical(addr uint64, buf []byte) error {
	return mm.m.ReadMemory(0, guest.Physical, addr, buf)
}

func (mm machineMem) WritePhysical(addr uint64, data []byte) error {
	return mm.m.WriteMemory(0, guest.Physical, addr, data)
}
