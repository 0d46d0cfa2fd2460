package gdbstub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"ukw/guest"
)

// Options tune a server session.
type Options struct {
	// ForwardConsole sends the guest's console output to gdb as 'O'
	// packets while it runs (gdb prints them). Off by default: ukw prints
	// the console itself.
	ForwardConsole bool
	// Created makes qAttached answer 0 ("the stub created the process"),
	// so that gdb's `quit` kills the guest. By default it answers 1 and a
	// `quit` detaches, leaving the guest running.
	Created bool
	// Logf, when set, receives one line per packet in each direction.
	Logf func(format string, args ...any)
}

// Serve speaks RSP with one debugger on rw until it detaches, kills the
// guest or the connection ends, and returns nil for those; an error for
// anything else. It does not close rw.
//
// On entry it stops a running machine (gdb expects a stopped target when
// it connects). On a detach or a lost connection it removes the
// breakpoints this session set; a detach also resumes the machine.
func Serve(rw io.ReadWriter, m guest.Machine) error {
	return ServeOptions(rw, m, Options{})
}

// ServeOptions is Serve with options.
func ServeOptions(rw io.ReadWriter, m guest.Machine, opt Options) error {
	s := newServer(rw, m, opt)
	defer s.close()
	return s.run()
}

// errDone ends a session without an error (detach, kill).
var errDone = errors.New("session over")

// A session has two goroutines: the one that called Serve reads the
// connection and answers each packet as soon as it is decoded, and an
// event goroutine turns the machine's events into stop replies. They share
// the session state under mu. (Packets used to travel from a reader
// goroutine to a third goroutine that selected over packets and events:
// a hand-over that cost about 13 µs a packet on kvm-pvm.)
type server struct {
	r      io.Reader
	w      io.Writer
	m      guest.Machine
	opt    Options
	layout Layout

	events  <-chan guest.Event
	cancel  func()
	evDone  chan struct{} // closed when the event goroutine has returned
	evGo    bool          // the event goroutine was started (by run)
	stopped chan struct{} // signalled (non-blocking) when a run ends

	mu        sync.Mutex // guards everything below
	closed    bool       // Serve is returning: the event goroutine writes nothing more
	lost      bool       // the connection is gone: no more writes
	quiet     bool       // cleaning up: a stop or end is recorded, not replied
	werr      error      // the first failed write of the event goroutine
	noAck     bool
	swbreak   bool
	hwbreak   bool
	running   bool   // a resume is pending: the reply is the next stop
	finished  bool   // the guest exited or faulted
	final     []byte // the W/X reply once finished
	stop      guest.Stop
	haveStop  bool
	interrupt bool // Interrupt was asked for the pending resume
	gCPU      int  // thread selected by Hg, as a CPU index (-1: the stopped one)
	cCPU      int  // thread selected by Hc
	last      []byte
	bps       map[guest.Breakpoint]bool
	out       []byte
}

func newServer(rw io.ReadWriter, m guest.Machine, opt Options) *server {
	s := &server{
		r: rw, w: rw, m: m, opt: opt, layout: amd64Layout,
		evDone: make(chan struct{}), stopped: make(chan struct{}, 1),
		gCPU: -1, cCPU: -1, bps: map[guest.Breakpoint]bool{},
	}
	s.events, s.cancel = m.Subscribe()
	return s
}

// close ends the event goroutine; nothing is written after it returns.
func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if s.evGo {
		<-s.evDone
	}
}

func (s *server) logf(format string, args ...any) {
	if s.opt.Logf != nil {
		s.opt.Logf(format, args...)
	}
}

func (s *server) run() error {
	if err := s.attach(); err != nil {
		return err
	}
	s.evGo = true
	go s.watchEvents()
	var d Decoder
	buf := make([]byte, 4096)
	for {
		n, rerr := s.r.Read(buf)
		for _, b := range buf[:n] {
			f, ok := d.Feed(b)
			if !ok {
				continue
			}
			s.mu.Lock()
			err := s.frame(f)
			s.mu.Unlock()
			if errors.Is(err, errDone) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if rerr != nil {
			s.mu.Lock()
			s.lost = true
			werr := s.werr
			s.disconnect()
			s.mu.Unlock()
			if werr != nil {
				return werr
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrClosedPipe) || isClosed(rerr) {
				return nil
			}
			return rerr
		}
	}
}

// watchEvents is the event goroutine.
func (s *server) watchEvents() {
	defer close(s.evDone)
	for {
		e, ok := <-s.events
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		var err error
		if !ok {
			if !s.finished {
				err = s.finish([]byte("X09")) // the machine went away: report it killed
			}
		} else {
			err = s.event(e)
		}
		if err != nil && s.werr == nil {
			s.werr = err
		}
		if !s.running {
			select {
			case s.stopped <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
		if !ok {
			return
		}
	}
}

func isClosed(err error) bool {
	return strings.Contains(err.Error(), "use of closed network connection") ||
		strings.Contains(err.Error(), "connection reset")
}

// attach brings the machine to a stop, as gdb expects on connect.
func (s *server) attach() error {
	switch s.m.State() {
	case guest.Running:
		s.running, s.interrupt = true, true
		if err := s.m.Interrupt(); err != nil {
			return fmt.Errorf("gdbstub: stopping the machine for the debugger: %w", err)
		}
		for s.running {
			e, ok := <-s.events
			if !ok {
				return errors.New("gdbstub: machine closed while stopping it")
			}
			switch ev := e.(type) {
			case guest.StopEvent:
				s.running = false
				s.stop, s.haveStop = ev.Stop, true
			case guest.ExitEvent, guest.FaultEvent:
				s.running = false
				s.finished = true
				s.final = finalReply(e)
			}
		}
	case guest.Finished:
		s.finished = true
		s.final = []byte("W00")
	}
	return nil
}

func (s *server) frame(f Frame) error {
	switch f.Kind {
	case FrameAck:
		return nil
	case FrameNack:
		if s.last != nil {
			return s.write(s.last)
		}
		return nil
	case FrameBad:
		if !s.noAck {
			return s.write([]byte{byteNack})
		}
		return nil
	case FrameInterrupt:
		if s.running && !s.interrupt {
			s.interrupt = true
			if err := s.m.Interrupt(); err != nil {
				s.logf("interrupt: %v", err)
			}
		}
		return nil
	case FrameNotify:
		return nil
	}
	s.logf("<- %s", f.Data)
	s.out = s.out[:0]
	if !s.noAck {
		s.out = append(s.out, byteAck)
	}
	reply, err := s.dispatch(f.Data)
	if reply == nil && (err == nil || errors.Is(err, errDone)) {
		// No reply (a resume, or k): only the ack goes out.
		if len(s.out) > 0 {
			if werr := s.flush(); werr != nil {
				return werr
			}
		}
		return err
	}
	if err != nil && !errors.Is(err, errDone) {
		return err
	}
	if werr := s.send(reply); werr != nil {
		return werr
	}
	return err
}

// send frames payload (after any pending ack) and writes it.
func (s *server) send(payload []byte) error {
	s.logf("-> %s", payload)
	start := len(s.out)
	s.out = AppendPacket(s.out, payload)
	s.last = append(s.last[:0], s.out[start:]...)
	return s.flush()
}

func (s *server) flush() error {
	err := s.write(s.out)
	s.out = s.out[:0]
	return err
}

func (s *server) write(b []byte) error {
	if s.lost {
		return nil
	}
	_, err := s.w.Write(b)
	return err
}

// event handles what the machine reports.
func (s *server) event(e guest.Event) error {
	switch ev := e.(type) {
	case guest.ConsoleEvent:
		if s.running && s.opt.ForwardConsole {
			return s.send(append([]byte{'O'}, hexEncode(ev.Data)...))
		}
	case guest.StopEvent:
		s.stop, s.haveStop = ev.Stop, true
		if s.running {
			s.running = false
			if s.quiet {
				return nil
			}
			return s.send(s.stopReply())
		}
	case guest.ExitEvent, guest.FaultEvent:
		return s.finish(finalReply(e))
	}
	return nil
}

func (s *server) finish(reply []byte) error {
	s.finished = true
	s.final = reply
	if !s.running {
		return nil
	}
	s.running = false
	if s.quiet {
		return nil
	}
	if reply[0] == 'X' && len(reply) > 3 {
		// A fault: say what happened before gdb prints the signal.
		if err := s.send(append([]byte{'O'}, hexEncode(reply[3:])...)); err != nil {
			return err
		}
		reply = reply[:3]
	}
	return s.send(reply)
}

// finalReply is the W/X packet for a final event (GDB manual, E.3 "Stop
// Reply Packets": ‘W AA’ exited with status AA, ‘X AA’ terminated by signal
// AA). For an X reply, the fault summary follows the three bytes (split off
// by finish into an 'O' packet).
func finalReply(e guest.Event) []byte {
	switch ev := e.(type) {
	case guest.ExitEvent:
		if ev.Exit.How == guest.ExitKilled {
			return []byte("X09")
		}
		return fmt.Appendf(nil, "W%02x", ev.Exit.Status&0xff)
	case guest.FaultEvent:
		sig := sigSEGV
		switch {
		case ev.Fault.Kind == guest.FaultTimeout:
			sig = sigALRM
		case ev.Fault.Kind == guest.FaultException && ev.Fault.Vector == 0:
			sig = sigFPE
		case ev.Fault.Kind == guest.FaultException && ev.Fault.Vector == 6:
			sig = sigILL
		case ev.Fault.Kind == guest.FaultTripleFault || ev.Fault.Kind == guest.FaultInternalError:
			sig = sigABRT
		}
		return fmt.Appendf(nil, "X%02xguest fault: %s\n", sig, ev.Fault.Summary())
	}
	return []byte("X09")
}

// GDB's signal numbers (gdb/include/gdb/signals.def), used in stop replies.
const (
	sigINT  = 2
	sigILL  = 4
	sigTRAP = 5
	sigABRT = 6
	sigFPE  = 8
	sigKILL = 9
	sigSEGV = 11
	sigALRM = 14
)

// stopReply renders the last stop as a ‘T’ packet (GDB manual, E.3 "Stop
// Reply Packets"): signal, thread, the stop reason gdb asked for in
// qSupported (swbreak/hwbreak) or the watchpoint, and the registers gdb
// needs first (rbp, rsp, rip) so that a step costs no extra round trip.
func (s *server) stopReply() []byte {
	if s.finished {
		return s.final
	}
	st := s.stop
	sig := sigTRAP
	if st.Reason == guest.StopInterrupt {
		sig = sigINT
	}
	b := fmt.Appendf(nil, "T%02xthread:%x;", sig, st.CPU+1)
	switch st.Reason {
	case guest.StopBreakpoint:
		if s.swbreak {
			b = append(b, "swbreak:;"...)
		}
	case guest.StopHWBreakpoint:
		if s.hwbreak {
			b = append(b, "hwbreak:;"...)
		}
	case guest.StopWatchpoint:
		name := "watch"
		switch st.Watch {
		case guest.WatchRead:
			name = "rwatch"
		case guest.WatchAccess:
			name = "awatch"
		}
		b = fmt.Appendf(b, "%s:%x;", name, st.Addr)
	}
	if st.Regs.RIP == st.PC && st.PC != 0 {
		for _, r := range []guest.Reg{guest.RBP, guest.RSP, guest.RIP} {
			i := s.layout.Index(r)
			var v [8]byte
			putReg(v[:], st.Regs.Get(r))
			b = fmt.Appendf(b, "%02x:%s;", i, hexEncode(v[:]))
		}
	}
	return b
}

// disconnect cleans up after a lost connection: the breakpoints this
// session set go; the machine stays as it is (gdb's `disconnect`).
func (s *server) disconnect() {
	if len(s.bps) == 0 {
		return
	}
	resume := false
	if s.running && !s.finished {
		// Lost while the guest ran: stop it to lift the breakpoints, then
		// let it run on as it was.
		resume = s.stopForCleanup()
	}
	for bp := range s.bps {
		if err := s.m.ClearBreakpoint(bp); err != nil {
			s.logf("clearing %v at %#x: %v", bp.Kind, bp.Addr, err)
		}
	}
	clear(s.bps)
	if resume {
		if err := s.m.Continue(); err != nil {
			s.logf("resuming after cleanup: %v", err)
		}
	}
}

// stopForCleanup interrupts the running machine and waits (briefly) for
// its stop, which the event goroutine records; it reports whether the
// machine stopped and should be resumed. Callers hold s.mu.
func (s *server) stopForCleanup() bool {
	if err := s.m.Interrupt(); err != nil {
		return false
	}
	s.interrupt, s.quiet = true, true
	defer func() { s.quiet = false }()
	timeout := time.After(5 * time.Second)
	for s.running {
		s.mu.Unlock()
		select {
		case <-s.stopped:
		case <-s.evDone:
			s.mu.Lock()
			return false
		case <-timeout:
			s.mu.Lock()
			return false
		}
		s.mu.Lock()
	}
	return !s.finished
}

func hexEncode(b []byte) []byte {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = hexDigits[c>>4]
		out[2*i+1] = hexDigits[c&15]
	}
	return out
}

func hexDecode(s []byte) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd-length hex %q", clip(s))
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		h, ok1 := unhex(s[2*i])
		l, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bad hex %q", clip(s))
		}
		out[i] = h<<4 | l
	}
	return out, nil
}

func clip(b []byte) []byte {
	if len(b) > 32 {
		return append(bytes.Clone(b[:32]), "..."...)
	}
	return b
}
