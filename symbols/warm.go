package symbols

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
)

// warmer indexes, on other goroutines, the units of the addresses
// Symbolize has read but not answered yet: a dispatcher parses each batch
// of input and queues each new unit's function index and line table, in
// the order the answers will need them, for GOMAXPROCS workers. A lookup
// that reaches a unit first builds it itself or waits for the worker
// building it (both go through the unit's sync.Once).
type warmer struct {
	f       *File
	batches chan []byte
	free    chan []byte // batch buffers the dispatcher is done with
	jobs    chan warmJob
	stopped atomic.Bool
	wg      sync.WaitGroup
}

// warmStride is how many bytes of input the dispatcher skips after each
// address it looks at.
const warmStride = 56

type warmJob struct {
	u     *unit
	lines bool // the line table, else the function index
}

// startWarming starts the dispatcher and the workers (nil when the image
// has no DWARF units: there is nothing to index).
func (f *File) startWarming() *warmer {
	if !f.hasDW || len(f.units) == 0 {
		return nil
	}
	w := &warmer{f: f, batches: make(chan []byte, 4), free: make(chan []byte, 5), jobs: make(chan warmJob, 2*len(f.units))}
	n := max(1, runtime.GOMAXPROCS(0))
	w.wg.Add(n + 1)
	go w.dispatch()
	for i := 0; i < n; i++ {
		go w.work()
	}
	return w
}

// send hands the dispatcher a copy of b (complete lines of input), unless
// it is still busy with earlier batches. The copies' buffers are reused.
func (w *warmer) send(b []byte) {
	if w == nil || len(w.batches) == cap(w.batches) {
		return
	}
	var c []byte
	select {
	case c = <-w.free:
	default:
	}
	w.batches <- append(c[:0], b...)
}

// stop ends the dispatcher and the workers (queued jobs are dropped) and
// waits for them.
func (w *warmer) stop() {
	if w == nil {
		return
	}
	w.stopped.Store(true)
	close(w.batches)
	w.wg.Wait()
}

func (w *warmer) dispatch() {
	defer w.wg.Done()
	defer close(w.jobs)
	queued := make([]bool, len(w.f.units))
	var last *unit
	var lo, hi uint64 // the addresses unitsRange answered last for
	for batch := range w.batches {
		b := batch
		for len(b) > 0 && !w.stopped.Load() {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				break
			}
			a := parseAddrBytes(b[:i])
			// Sample the input: one address in about every 64 bytes (a
			// unit the samples miss is built by the lookup itself).
			if j := bytes.IndexByte(b[min(i+1+warmStride, len(b)):], '\n'); j >= 0 {
				b = b[min(i+1+warmStride, len(b))+j+1:]
			} else {
				b = b[i+1:]
			}
			if a >= lo && a < hi {
				continue
			}
			var us []*unit
			us, lo, hi = w.f.unitsRange(a)
			if len(us) == 0 || us[0] == last {
				continue
			}
			last = us[0]
			if !queued[last.idx] {
				queued[last.idx] = true
				w.jobs <- warmJob{last, false}
				w.jobs <- warmJob{last, true}
			}
		}
		select {
		case w.free <- batch:
		default:
		}
	}
}

func (w *warmer) work() {
	defer w.wg.Done()
	for j := range w.jobs {
		if w.stopped.Load() {
			continue
		}
		if j.lines {
			w.f.lineTable(j.u)
		} else {
			w.f.functions(j.u)
		}
	}
}
