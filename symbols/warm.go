package symbols

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
)

// warmer indexes, on other goroutines, the units of the addresses
// Symbolize has read but not answered yet: Symbolize samples each batch
// of buffered input, a dispatcher queues each new unit's function index
// and line table, in the order the answers will need them, for
// GOMAXPROCS workers. A lookup that reaches a unit first builds it itself
// or waits for the worker building it (both go through the unit's
// sync.Once); a worker skips what a lookup has started.
type warmer struct {
	f       *File
	batches chan []uint64
	free    chan []uint64 // batch buffers the dispatcher is done with
	jobs    chan warmJob
	stopped atomic.Bool
	wg      sync.WaitGroup
}

// warmStride is how many bytes of input are skipped after each address
// sampled for the dispatcher.
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
	w := &warmer{f: f, batches: make(chan []uint64, 4), free: make(chan []uint64, 5), jobs: make(chan warmJob, 2*len(f.units))}
	n := max(1, runtime.GOMAXPROCS(0))
	w.wg.Add(n + 1)
	go w.dispatch()
	for i := 0; i < n; i++ {
		go w.work()
	}
	return w
}

// send hands the dispatcher a sample of the addresses of b (complete
// lines of input): one in about every warmStride bytes. It drops the
// batch when the dispatcher is still busy with earlier ones.
func (w *warmer) send(b []byte) {
	if w == nil || len(w.batches) == cap(w.batches) {
		return
	}
	var addrs []uint64
	select {
	case addrs = <-w.free:
	default:
	}
	addrs = addrs[:0]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		addrs = append(addrs, parseAddrBytes(b[:i]))
		skip := min(i+1+warmStride, len(b))
		j := bytes.IndexByte(b[skip:], '\n')
		if j < 0 {
			break
		}
		b = b[skip+j+1:]
	}
	w.batches <- addrs
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
		for _, a := range batch {
			if w.stopped.Load() {
				break
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
			if !j.u.lineStarted.Load() {
				w.f.lineTable(j.u)
			}
		} else if !j.u.funcStarted.Load() {
			w.f.functions(j.u)
		}
	}
}
