package gdbstub

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"ukw/guest"
)

// ClientOptions tune a Client.
type ClientOptions struct {
	// SoftwareAsHardware sends BreakSoftware as Z1 (a debug-register
	// breakpoint): for stubs whose software breakpoints do not work, such
	// as QEMU with -accel kvm on kvm-pvm (docs/gdb.md).
	SoftwareAsHardware bool
	// NoWatchpoints refuses watchpoint kinds with guest.ErrUnsupported
	// without asking the stub (QEMU on kvm-pvm accepts them, but the #DB
	// goes to the guest).
	NoWatchpoints bool
	// Caps overrides what Caps reports (Backend "rsp" by default).
	Caps *guest.Caps
	// Timeout bounds each request/reply exchange; 0 means 10 s.
	Timeout time.Duration
}

// Client is a guest.Machine over the GDB Remote Serial Protocol: it drives
// another stub (QEMU's -gdb, a remote gdbserver-like stub, ukw's own Serve)
// as gdb would. Events come through the embedded Broadcaster: a StopEvent
// with a register snapshot after each run, an ExitEvent for ‘W’, a
// FaultEvent for ‘X’ or a lost connection while running.
type Client struct {
	guest.Broadcaster

	conn io.ReadWriteCloser
	opt  ClientOptions

	rx   chan []byte // packets from the reader goroutine
	rerr chan error  // the reader's final error
	quit chan struct{}
	wmu  sync.Mutex // serialises writes (Interrupt writes while a run owns mu)
	mu   sync.Mutex // one exchange at a time; a run holds it until its stop

	smu         sync.Mutex // guards the fields below
	state       guest.State
	stop        guest.Stop
	regsCPU     int // thread Hg last selected (-1 unknown)
	bps         map[guest.Breakpoint]bool
	interrupted bool
	closed      bool
	killing     bool
	vcont       bool // the stub answered vCont? with s and c

	layout   Layout
	ncpu     int
	features map[string]string
	noAck    bool
	phys     bool // the stub knows Qqemu.PhyMemMode
}

// Dial connects to a stub at addr (host:port) and returns a Client.
func Dial(addr string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("gdbstub: connecting to %s: %w", addr, err)
	}
	c, err := NewClient(conn, ClientOptions{})
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient runs the connection handshake over conn (qSupported, no-ack
// mode, target.xml, threads, the halt reason) and returns a Client. The
// remote target is stopped afterwards (in all-stop mode a stub reports a
// stopped target on connect).
func NewClient(conn io.ReadWriteCloser, opt ClientOptions) (*Client, error) {
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	c := &Client{
		conn: conn, opt: opt, rx: make(chan []byte, 16), rerr: make(chan error, 1), quit: make(chan struct{}),
		regsCPU: -1, bps: map[guest.Breakpoint]bool{}, layout: amd64Layout[:defaultBuiltinRegs],
		features: map[string]string{},
	}
	go c.read()
	if err := c.handshake(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) read() {
	var d Decoder
	buf := make([]byte, 8192)
	for {
		n, err := c.conn.Read(buf)
		for _, b := range buf[:n] {
			f, ok := d.Feed(b)
			if !ok {
				continue
			}
			switch f.Kind {
			case FramePacket:
				if !c.noAck {
					c.write([]byte{byteAck})
				}
				select {
				case c.rx <- f.Data:
				case <-c.quit:
					return
				}
			case FrameBad:
				if !c.noAck {
					c.write([]byte{byteNack})
				}
			}
		}
		if err != nil {
			c.rerr <- err
			close(c.rx)
			return
		}
	}
}

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(b)
	return err
}

// errConn is returned once the connection is gone.
var errConn = errors.New("gdbstub: connection to the stub closed")

// recv waits for the next packet, decoding run-length encoding.
func (c *Client) recv(timeout time.Duration) ([]byte, error) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case p, ok := <-c.rx:
		if !ok {
			return nil, errConn
		}
		if bytes.IndexByte(p, byteRLE) >= 0 {
			return DecodeRLE(p)
		}
		return p, nil
	case <-tc:
		return nil, fmt.Errorf("gdbstub: no reply from the stub within %v", timeout)
	}
}

// exchange sends one packet and returns its reply; 'O' packets before the
// reply are collected into out (monitor output). Callers hold c.mu.
func (c *Client) exchange(payload string, out *[]byte) ([]byte, error) {
	if err := c.write(AppendPacket(nil, []byte(payload))); err != nil {
		return nil, err
	}
	for {
		p, err := c.recv(c.opt.Timeout)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", clip([]byte(payload)), err)
		}
		if len(p) > 1 && p[0] == 'O' && p[1] != 'K' && out != nil {
			if b, err := hexDecode(p[1:]); err == nil {
				*out = append(*out, b...)
				continue
			}
		}
		return p, nil
	}
}

// ask sends a query and returns its reply. A stop reply the stub sends
// unasked (QEMU reports the stop a connecting debugger caused) is not the
// answer to a query and is skipped, except for the halt-reason query "?".
func (c *Client) ask(payload string) ([]byte, error) {
	p, err := c.exchange(payload, nil)
	for err == nil && payload != "?" && isStopReply(p) {
		p, err = c.recv(c.opt.Timeout) // a stray stop reply came first; the answer follows
	}
	return p, err
}

// isStopReply reports whether p is a stop reply packet ("T05...", "S05";
// GDB manual E.3 "Stop Reply Packets"); no query reply has that shape.
func isStopReply(p []byte) bool {
	return len(p) >= 3 && (p[0] == 'T' || p[0] == 'S') && isHex(p[1]) && isHex(p[2])
}

func isHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' }

// replyErr turns an ‘E NN’ reply into an error.
func replyErr(what string, p []byte) error {
	if len(p) == 0 {
		return fmt.Errorf("gdbstub: %s: %w (empty reply)", what, guest.ErrUnsupported)
	}
	if p[0] == 'E' {
		return fmt.Errorf("gdbstub: %s: stub error %s", what, p)
	}
	return nil
}

func (c *Client) handshake() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := c.ask("qSupported:swbreak+;hwbreak+;vContSupported+;xmlRegisters=i386")
	if err != nil {
		return err
	}
	for _, f := range strings.Split(string(p), ";") {
		switch {
		case strings.HasSuffix(f, "+"):
			c.features[strings.TrimSuffix(f, "+")] = "+"
		case strings.Contains(f, "="):
			k, v, _ := strings.Cut(f, "=")
			c.features[k] = v
		}
	}
	if c.features["QStartNoAckMode"] == "+" {
		if p, err := c.ask("QStartNoAckMode"); err == nil && string(p) == "OK" {
			c.noAck = true
		}
	}
	if c.features["qXfer:features:read"] == "+" {
		if l, err := c.readLayout("target.xml", 0); err == nil && len(l) > 0 {
			c.layout = l
		} else if err != nil {
			return fmt.Errorf("gdbstub: reading the stub's target description: %w", err)
		}
	}
	if c.layout.Index(guest.RIP) < 0 || c.layout.Index(guest.RSP) < 0 {
		return errors.New("gdbstub: the stub's registers are not x86-64 (no rip/rsp in its target description)")
	}
	// Threads.
	c.ncpu = 0
	for q := "qfThreadInfo"; ; q = "qsThreadInfo" {
		p, err := c.ask(q)
		if err != nil {
			return err
		}
		if len(p) == 0 || p[0] != 'm' {
			break
		}
		c.ncpu += len(bytes.Split(p[1:], []byte(",")))
	}
	if c.ncpu == 0 {
		c.ncpu = 1
	}
	if p, err := c.ask("qqemu.sstepbits"); err == nil && len(p) > 0 {
		c.phys = true // QEMU's stub: it also knows Qqemu.PhyMemMode
	}
	if p, err := c.ask("vCont?"); err == nil && bytes.Contains(p, []byte(";s")) && bytes.Contains(p, []byte(";c")) {
		c.vcont = true
	}
	p, err = c.ask("?")
	if err != nil {
		return err
	}
	return c.handleStop(p, false, false)
}

// readLayout fetches a target description annex and returns its registers
// in register-number order, following xi:include.
func (c *Client) readLayout(annex string, depth int) (Layout, error) {
	if depth > 4 {
		return nil, errors.New("target description includes nest too deep")
	}
	doc, err := c.xferRead("features", annex)
	if err != nil {
		return nil, err
	}
	return parseTargetXML(doc, func(name string) ([]byte, error) {
		return c.xferRead("features", name)
	})
}

func (c *Client) xferRead(object, annex string) ([]byte, error) {
	var doc []byte
	for {
		p, err := c.ask(fmt.Sprintf("qXfer:%s:read:%s:%x,%x", object, annex, len(doc), 4000))
		if err != nil {
			return nil, err
		}
		if err := replyErr("qXfer "+annex, p); err != nil {
			return nil, err
		}
		data, err := Unescape(p[1:])
		if err != nil {
			return nil, err
		}
		doc = append(doc, data...)
		if p[0] == 'l' {
			return doc, nil
		}
		if p[0] != 'm' || len(data) == 0 {
			return nil, fmt.Errorf("bad qXfer reply %q", clip(p))
		}
	}
}

// Caps reports what the stub can do, as far as RSP tells.
func (c *Client) Caps() guest.Caps {
	if c.opt.Caps != nil {
		return *c.opt.Caps
	}
	return guest.Caps{
		Backend: "rsp", Hypervisor: "remote stub", HWBreakpoints: 4,
		SWBreakpoints: true, SWBreakStrategy: "rsp",
		Watchpoints: !c.opt.NoWatchpoints, WatchStrategy: "rsp", SingleStep: true,
	}
}

// NumCPU reports how many threads the stub listed.
func (c *Client) NumCPU() int { return c.ncpu }

// State reports stopped, running or finished.
func (c *Client) State() guest.State {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.state
}

// Layout returns the register layout the stub described.
func (c *Client) Layout() Layout { return append(Layout(nil), c.layout...) }

// lockStopped takes the exchange lock for a request that needs a stopped target.
func (c *Client) lockStopped() error {
	switch c.State() {
	case guest.Running:
		return guest.ErrRunning
	case guest.Finished:
		return guest.ErrFinished
	}
	c.mu.Lock()
	if s := c.State(); s != guest.Stopped {
		c.mu.Unlock()
		if s == guest.Running {
			return guest.ErrRunning
		}
		return guest.ErrFinished
	}
	return nil
}

func (c *Client) checkCPU(cpu int) error {
	if cpu < 0 || cpu >= c.ncpu {
		return fmt.Errorf("gdbstub: cpu %d: %w", cpu, guest.ErrBadCPU)
	}
	return nil
}

// selectThread sends Hg for cpu unless it is selected. Callers hold c.mu.
func (c *Client) selectThread(cpu int) error {
	if c.regsCPU == cpu {
		return nil
	}
	p, err := c.ask(fmt.Sprintf("Hg%x", cpu+1))
	if err != nil {
		return err
	}
	if string(p) != "OK" {
		return fmt.Errorf("gdbstub: selecting thread %d: %s", cpu+1, p)
	}
	c.regsCPU = cpu
	return nil
}

func (c *Client) regs(cpu int) (guest.Regs, error) {
	var r guest.Regs
	if err := c.selectThread(cpu); err != nil {
		return r, err
	}
	p, err := c.ask("g")
	if err != nil {
		return r, err
	}
	if err := replyErr("g", p); err != nil {
		return r, err
	}
	data, err := hexDecode(bytes.ReplaceAll(p, []byte("xx"), []byte("00")))
	if err != nil {
		return r, fmt.Errorf("gdbstub: g reply: %w", err)
	}
	c.layout.Decode(data, &r)
	return r, nil
}

// Regs reads the registers of cpu with ‘g’ (registers the layout lacks,
// such as the descriptor tables, stay zero).
func (c *Client) Regs(cpu int) (guest.Regs, error) {
	if err := c.checkCPU(cpu); err != nil {
		return guest.Regs{}, err
	}
	if err := c.lockStopped(); err != nil {
		return guest.Regs{}, err
	}
	defer c.mu.Unlock()
	return c.regs(cpu)
}

// SetRegs writes every register of the layout with ‘G’.
func (c *Client) SetRegs(cpu int, r *guest.Regs) error {
	if err := c.checkCPU(cpu); err != nil {
		return err
	}
	if err := c.lockStopped(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := c.selectThread(cpu); err != nil {
		return err
	}
	cur, err := c.ask("g")
	if err != nil {
		return err
	}
	if err := replyErr("g", cur); err != nil {
		return err
	}
	data, err := hexDecode(bytes.ReplaceAll(cur, []byte("xx"), []byte("00")))
	if err != nil {
		return err
	}
	// Keep what Regs does not hold (x87, SSE) as the stub has it.
	off := 0
	for _, ri := range c.layout {
		n := ri.Bits / 8
		if off+n > len(data) {
			break
		}
		if ri.Reg != noReg {
			putReg(data[off:off+n], r.Get(ri.Reg))
		}
		off += n
	}
	p, err := c.ask("G" + string(hexEncode(data)))
	if err != nil {
		return err
	}
	if err := replyErr("G", p); err != nil {
		return err
	}
	c.smu.Lock()
	if c.stop.CPU == cpu {
		c.stop.Regs = *r
		c.stop.PC = r.RIP
	}
	c.smu.Unlock()
	return nil
}

// physMode switches QEMU's stub between virtual and physical memory access.
func (c *Client) physMode(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	p, err := c.ask("Qqemu.PhyMemMode:" + v)
	if err != nil {
		return err
	}
	return replyErr("Qqemu.PhyMemMode", p)
}

func (c *Client) memAccess(cpu int, space guest.AddrSpace, fn func() error) error {
	if err := c.checkCPU(cpu); err != nil {
		return err
	}
	if err := c.lockStopped(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := c.selectThread(cpu); err != nil {
		return err
	}
	if space == guest.Physical {
		if !c.phys {
			return fmt.Errorf("gdbstub: physical addresses: %w by this stub", guest.ErrUnsupported)
		}
		if err := c.physMode(true); err != nil {
			return err
		}
		defer c.physMode(false)
	}
	return fn()
}

// memChunk bounds one m/X request by the stub's PacketSize.
func (c *Client) memChunk() int {
	n := 4096
	if ps, err := strconv.ParseUint(c.features["PacketSize"], 16, 32); err == nil && ps > 64 {
		n = int(ps-32) / 2
	}
	return min(n, maxMem)
}

// ReadMemory reads with ‘m’, in chunks the stub's PacketSize allows.
func (c *Client) ReadMemory(cpu int, space guest.AddrSpace, addr uint64, buf []byte) error {
	return c.memAccess(cpu, space, func() error {
		chunk := c.memChunk()
		for done := 0; done < len(buf); {
			n := min(chunk, len(buf)-done)
			a := addr + uint64(done)
			p, err := c.ask(fmt.Sprintf("m%x,%x", a, n))
			if err != nil {
				return err
			}
			if len(p) == 0 || p[0] == 'E' {
				return &guest.MemError{Addr: a, Space: space, Why: fmt.Sprintf("stub replied %q", p)}
			}
			data, err := hexDecode(p)
			if err != nil {
				return fmt.Errorf("gdbstub: m reply: %w", err)
			}
			copy(buf[done:], data)
			done += len(data)
			if len(data) < n {
				return &guest.MemError{Addr: addr + uint64(done), Space: space, Why: "stub returned a partial read"}
			}
		}
		return nil
	})
}

// WriteMemory writes with ‘M’.
func (c *Client) WriteMemory(cpu int, space guest.AddrSpace, addr uint64, data []byte) error {
	return c.memAccess(cpu, space, func() error {
		chunk := c.memChunk()
		for done := 0; done < len(data); {
			n := min(chunk, len(data)-done)
			a := addr + uint64(done)
			p, err := c.ask(fmt.Sprintf("M%x,%x:%s", a, n, hexEncode(data[done:done+n])))
			if err != nil {
				return err
			}
			if string(p) != "OK" {
				return &guest.MemError{Addr: a, Space: space, Why: fmt.Sprintf("stub replied %q", p)}
			}
			done += n
		}
		return nil
	})
}

func (c *Client) wireKind(bp guest.Breakpoint) guest.BreakKind {
	if bp.Kind == guest.BreakSoftware && c.opt.SoftwareAsHardware {
		return guest.BreakHardware
	}
	return bp.Kind
}

func (c *Client) zpacket(op byte, bp guest.Breakpoint) error {
	n := bp.Len
	if n <= 0 {
		n = 1
	}
	p, err := c.ask(fmt.Sprintf("%c%d,%x,%x", op, c.wireKind(bp), bp.Addr, n))
	if err != nil {
		return err
	}
	if len(p) == 0 {
		return fmt.Errorf("gdbstub: %v: %w", bp.Kind, guest.ErrUnsupported)
	}
	if string(p) != "OK" {
		if bp.Kind != guest.BreakSoftware {
			return fmt.Errorf("gdbstub: %v at %#x: stub replied %s: %w", bp.Kind, bp.Addr, p, guest.ErrNoSlots)
		}
		return fmt.Errorf("gdbstub: %v at %#x: stub replied %s", bp.Kind, bp.Addr, p)
	}
	return nil
}

// SetBreakpoint inserts a breakpoint or watchpoint with ‘Z’.
func (c *Client) SetBreakpoint(bp guest.Breakpoint) error {
	if bp.Kind.IsWatch() && c.opt.NoWatchpoints {
		return fmt.Errorf("gdbstub: %v: %w", bp.Kind, guest.ErrUnsupported)
	}
	if bp.Kind < guest.BreakSoftware || bp.Kind > guest.WatchAccess {
		return fmt.Errorf("gdbstub: breakpoint kind %d: %w", bp.Kind, guest.ErrUnsupported)
	}
	if err := c.lockStopped(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := c.zpacket('Z', bp); err != nil {
		return err
	}
	c.smu.Lock()
	c.bps[bp] = true
	c.smu.Unlock()
	return nil
}

// ClearBreakpoint removes one with ‘z’.
func (c *Client) ClearBreakpoint(bp guest.Breakpoint) error {
	if err := c.lockStopped(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := c.zpacket('z', bp); err != nil {
		return err
	}
	c.smu.Lock()
	delete(c.bps, bp)
	c.smu.Unlock()
	return nil
}

// execBreakAt returns the execution breakpoints set at pc.
func (c *Client) execBreakAt(pc uint64) []guest.Breakpoint {
	c.smu.Lock()
	defer c.smu.Unlock()
	var out []guest.Breakpoint
	for bp := range c.bps {
		if bp.Addr == pc && !bp.Kind.IsWatch() {
			out = append(out, bp)
		}
	}
	return out
}

// parseTargetXML reads the registers of a target description (GDB manual,
// G.2 "Target Description Format"), following xi:include through fetch.
// Register numbers follow document order unless a reg has regnum.
func parseTargetXML(doc []byte, fetch func(string) ([]byte, error)) (Layout, error) {
	var regs []RegInfo
	next := 0
	var walk func(doc []byte, depth int) error
	walk = func(doc []byte, depth int) error {
		if depth > 4 {
			return errors.New("xi:include nests too deep")
		}
		d := xml.NewDecoder(bytes.NewReader(doc))
		d.Strict = false
		feature := ""
		for {
			tok, err := d.Token()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("target description: %w", err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			attr := func(name string) string {
				for _, a := range se.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch se.Name.Local {
			case "feature":
				feature = attr("name")
			case "include":
				sub, err := fetch(attr("href"))
				if err != nil {
					return fmt.Errorf("including %s: %w", attr("href"), err)
				}
				if err := walk(sub, depth+1); err != nil {
					return err
				}
			case "reg":
				bits, err := strconv.Atoi(attr("bitsize"))
				if err != nil || bits <= 0 || bits%8 != 0 || bits > 4096 {
					return fmt.Errorf("register %q: bad bitsize %q", attr("name"), attr("bitsize"))
				}
				num := next
				if rn := attr("regnum"); rn != "" {
					if num, err = strconv.Atoi(rn); err != nil || num < 0 || num > 4096 {
						return fmt.Errorf("register %q: bad regnum %q", attr("name"), rn)
					}
				}
				next = num + 1
				name := attr("name")
				reg, ok := guest.RegByName(name)
				if !ok {
					reg = noReg
				}
				for len(regs) <= num {
					regs = append(regs, RegInfo{Reg: noReg})
				}
				regs[num] = RegInfo{Name: name, Bits: bits, Type: attr("type"), Group: attr("group"), Feature: feature, Reg: reg}
			}
		}
	}
	if err := walk(doc, 0); err != nil {
		return nil, err
	}
	for i, r := range regs {
		if r.Bits == 0 {
			return nil, fmt.Errorf("target description: register number %d missing", i)
		}
	}
	return regs, nil
}
