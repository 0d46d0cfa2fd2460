package gdbstub

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ukw/guest"
)

// stopInfo is a decoded stop reply (GDB manual, E.3 "Stop Reply Packets").
type stopInfo struct {
	kind    byte // 'T' (or 'S'), 'W', 'X'
	sig     int  // signal for T/S/X, status for W
	thread  int  // 0 when the reply names none
	watch   guest.BreakKind
	addr    uint64
	swbreak bool
	hwbreak bool
	watched bool
	regs    map[int]uint64 // expedited registers (n:value pairs) up to 64 bits
}

// parseStop decodes ‘S AA’, ‘T AA n1:r1;n2:r2;...’, ‘W AA[;process:pid]’
// and ‘X AA[;process:pid]’.
func parseStop(p []byte) (stopInfo, error) {
	var si stopInfo
	if len(p) < 3 {
		return si, fmt.Errorf("gdbstub: short stop reply %q", p)
	}
	si.kind = p[0]
	switch si.kind {
	case 'T', 'S', 'W', 'X':
	default:
		return si, fmt.Errorf("gdbstub: unexpected stop reply %q", clip(p))
	}
	v, err := strconv.ParseUint(string(p[1:3]), 16, 8)
	if err != nil {
		return si, fmt.Errorf("gdbstub: bad signal in stop reply %q", clip(p))
	}
	si.sig = int(v)
	if si.kind != 'T' {
		return si, nil
	}
	for _, pair := range bytes.Split(p[3:], []byte(";")) {
		k, val, ok := bytes.Cut(pair, []byte(":"))
		if !ok {
			continue
		}
		switch string(k) {
		case "thread":
			t := val
			if len(t) > 0 && t[0] == 'p' {
				if _, tt, ok := bytes.Cut(t, []byte(".")); ok {
					t = tt
				}
			}
			if n, err := strconv.ParseUint(string(t), 16, 32); err == nil {
				si.thread = int(n)
			}
		case "watch", "rwatch", "awatch":
			si.watched = true
			si.watch = map[string]guest.BreakKind{"watch": guest.WatchWrite, "rwatch": guest.WatchRead, "awatch": guest.WatchAccess}[string(k)]
			si.addr, _ = strconv.ParseUint(string(val), 16, 64)
		case "swbreak":
			si.swbreak = true
		case "hwbreak":
			si.hwbreak = true
		default:
			n, err := strconv.ParseUint(string(k), 16, 16)
			if err != nil || len(val) == 0 || len(val) > 16 {
				continue
			}
			if b, err := hexDecode(val); err == nil {
				if si.regs == nil {
					si.regs = map[int]uint64{}
				}
				si.regs[int(n)] = getReg(b)
			}
		}
	}
	return si, nil
}

// handleStop turns a stop reply into the machine's state and, if publish,
// an event. Callers hold c.mu; for a ‘T’ it fetches the registers.
func (c *Client) handleStop(p []byte, step, publish bool) error {
	si, err := parseStop(p)
	if err != nil {
		return err
	}
	switch si.kind {
	case 'W':
		c.finish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther, Status: si.sig}}, publish)
		return nil
	case 'X':
		if si.sig == sigKILL {
			c.finish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}}, publish)
			return nil
		}
		c.finish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1,
			Detail: fmt.Sprintf("the stub reports the target terminated by signal %d", si.sig)}}, publish)
		return nil
	}
	cpu := 0
	if si.thread > 0 && si.thread <= c.ncpu {
		cpu = si.thread - 1
	}
	if c.ncpu > 1 {
		c.regsCPU = -1 // stubs reselect the stopped thread on a stop
	}
	r, err := c.regs(cpu)
	if err != nil {
		return err
	}
	st := guest.Stop{CPU: cpu, PC: r.RIP, Regs: r}
	c.smu.Lock()
	interrupted := c.interrupted
	c.smu.Unlock()
	switch {
	case !publish:
		st.Reason = guest.StopEntry
	case si.watched:
		st.Reason, st.Addr, st.Watch = guest.StopWatchpoint, si.addr, si.watch
	case si.swbreak:
		st.Reason = guest.StopBreakpoint
	case si.hwbreak:
		st.Reason = guest.StopHWBreakpoint
	case si.sig == sigINT:
		st.Reason = guest.StopInterrupt
	case step:
		st.Reason = guest.StopStep
	default:
		st.Reason = guest.StopTrap
		if interrupted {
			st.Reason = guest.StopInterrupt
		}
		for _, bp := range c.execBreakAt(st.PC) {
			st.Reason = guest.StopBreakpoint
			if bp.Kind == guest.BreakHardware {
				st.Reason = guest.StopHWBreakpoint
			}
		}
	}
	c.smu.Lock()
	c.state, c.stop = guest.Stopped, st
	c.smu.Unlock()
	if publish {
		c.Publish(guest.StopEvent{Stop: st})
	}
	return nil
}

// finish records the end of the target and publishes e once.
func (c *Client) finish(e guest.Event, publish bool) {
	c.smu.Lock()
	done := c.state == guest.Finished
	c.state = guest.Finished
	c.smu.Unlock()
	if !done && publish {
		c.Publish(e)
	}
}

// resumePacket is the packet that steps or continues cpu.
func (c *Client) resumePacket(cpu int, step bool) []string {
	switch {
	case c.vcont && step:
		return []string{fmt.Sprintf("vCont;s:%x", cpu+1)}
	case c.vcont:
		return []string{"vCont;c"}
	case step:
		return []string{fmt.Sprintf("Hc%x", cpu+1), "s"}
	}
	return []string{"c"}
}

// send starts a run: everything but the last packet is an exchange.
func (c *Client) sendResume(cpu int, step bool) error {
	pk := c.resumePacket(cpu, step)
	for _, q := range pk[:len(pk)-1] {
		if p, err := c.ask(q); err != nil {
			return err
		} else if string(p) != "OK" {
			return fmt.Errorf("gdbstub: %s: stub replied %q", q, p)
		}
	}
	return c.write(AppendPacket(nil, []byte(pk[len(pk)-1])))
}

// waitReply waits (without a time limit) for a run's stop reply, turning
// 'O' packets into console events.
func (c *Client) waitReply() ([]byte, error) {
	for {
		p, err := c.recv(0)
		if err != nil {
			return nil, err
		}
		if len(p) > 1 && p[0] == 'O' && p[1] != 'K' {
			if b, err := hexDecode(p[1:]); err == nil {
				c.Publish(guest.ConsoleEvent{Data: b})
				continue
			}
		}
		return p, nil
	}
}

// stepOver steps cpu off the execution breakpoints at pc with them
// removed, so that a run from a breakpoint does not hit it again. It
// reports whether the target still runs normally (a plain step stop).
// Callers hold c.mu.
func (c *Client) stepOver(cpu int, pc uint64) (ok bool, err error) {
	bps := c.execBreakAt(pc)
	if len(bps) == 0 {
		return true, nil
	}
	for _, bp := range bps {
		if err := c.zpacket('z', bp); err != nil {
			return false, err
		}
	}
	if err := c.sendResume(cpu, true); err != nil {
		return false, err
	}
	p, err := c.waitReply()
	if err != nil {
		return false, err
	}
	for _, bp := range bps {
		if p[0] == 'T' || p[0] == 'S' {
			if err := c.zpacket('Z', bp); err != nil {
				return false, err
			}
		}
	}
	si, err := parseStop(p)
	if err != nil {
		return false, err
	}
	ended := si.kind != 'T' && si.kind != 'S' || si.watched || si.swbreak || si.hwbreak
	if !ended {
		// Landing on another breakpoint is hitting it.
		newPC, ok := si.regs[c.layout.Index(guest.RIP)]
		if !ok {
			r, err := c.regs(cpu)
			if err != nil {
				return false, err
			}
			newPC = r.RIP
		}
		ended = len(c.execBreakAt(newPC)) > 0
	}
	if ended {
		// The step itself ended the run (a breakpoint, an exit, a watchpoint).
		c.smu.Lock()
		c.state = guest.Running
		c.smu.Unlock()
		return false, c.handleStop(p, false, true)
	}
	return true, nil
}

func (c *Client) run(cpu int, step bool) error {
	if err := c.checkCPU(cpu); err != nil {
		return err
	}
	if err := c.lockStopped(); err != nil {
		return err
	}
	c.smu.Lock()
	pc, stopCPU := c.stop.PC, c.stop.CPU
	c.interrupted = false
	c.smu.Unlock()
	if !step {
		cpu = stopCPU
	}
	var err error
	if step {
		// Step with the breakpoints at pc out of the way; they go back
		// when the step's stop arrives.
		bps := c.execBreakAt(pc)
		for _, bp := range bps {
			if err = c.zpacket('z', bp); err != nil {
				break
			}
		}
		if err == nil {
			err = c.sendResume(cpu, true)
		}
		if err != nil {
			c.mu.Unlock()
			return err
		}
		c.setRunning()
		go c.waitRun(true, bps)
		return nil
	}
	ok, err := c.stepOver(cpu, pc)
	if err != nil || !ok {
		c.mu.Unlock()
		return err
	}
	if err := c.sendResume(cpu, false); err != nil {
		c.mu.Unlock()
		return err
	}
	c.setRunning()
	go c.waitRun(false, nil)
	return nil
}

func (c *Client) setRunning() {
	c.smu.Lock()
	c.state = guest.Running
	c.smu.Unlock()
}

// waitRun owns c.mu while the target runs and releases it at the stop.
func (c *Client) waitRun(step bool, reinsert []guest.Breakpoint) {
	defer c.mu.Unlock()
	p, err := c.waitReply()
	c.smu.Lock()
	killing, closed := c.killing, c.closed
	c.smu.Unlock()
	if killing || closed {
		return
	}
	if err == nil && (p[0] == 'T' || p[0] == 'S') {
		for _, bp := range reinsert {
			if zerr := c.zpacket('Z', bp); zerr != nil {
				c.Publish(guest.LogEvent{Msg: fmt.Sprintf("re-inserting %v at %#x after a step: %v", bp.Kind, bp.Addr, zerr)})
			}
		}
	}
	if err == nil {
		err = c.handleStop(p, step, true)
	}
	if err != nil {
		c.finish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1,
			Detail: "lost the stub while the target ran: " + err.Error()}}, true)
	}
}

// Continue resumes the target (stepping off a breakpoint at the PC first).
func (c *Client) Continue() error { return c.run(0, false) }

// Step executes one instruction on cpu.
func (c *Client) Step(cpu int) error { return c.run(cpu, true) }

// Interrupt sends 0x03 to a running target (GDB manual, E.9 "Interrupts").
func (c *Client) Interrupt() error {
	c.smu.Lock()
	running := c.state == guest.Running
	if running {
		c.interrupted = true
	}
	c.smu.Unlock()
	if !running {
		return nil
	}
	return c.write([]byte{byteInterrupt})
}

// LastStop returns the most recent stop.
func (c *Client) LastStop() guest.Stop {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.stop
}

// Kill sends ‘k’ and closes the connection. Subscribers see ExitKilled.
func (c *Client) Kill() error {
	c.smu.Lock()
	if c.state == guest.Finished || c.closed {
		c.smu.Unlock()
		c.shutdown()
		return nil
	}
	c.killing = true
	c.smu.Unlock()
	err := c.write(AppendPacket(nil, []byte("k")))
	c.finish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}}, true)
	c.shutdown()
	return err
}

func (c *Client) shutdown() {
	c.smu.Lock()
	already := c.closed
	c.closed = true
	c.smu.Unlock()
	if already {
		return
	}
	close(c.quit)
	c.conn.Close()
	c.Broadcaster.Close()
}

// Close detaches (‘D’): the target keeps running without breakpoints.
// It is idempotent.
func (c *Client) Close() error {
	c.smu.Lock()
	if c.closed {
		c.smu.Unlock()
		return nil
	}
	st := c.state
	c.smu.Unlock()
	var err error
	if st == guest.Running {
		c.Interrupt()
		c.mu.Lock() // the run ends with its stop
		c.mu.Unlock()
		st = c.State()
	}
	if st == guest.Stopped {
		c.mu.Lock()
		c.smu.Lock()
		bps := make([]guest.Breakpoint, 0, len(c.bps))
		for bp := range c.bps {
			bps = append(bps, bp)
		}
		c.smu.Unlock()
		for _, bp := range bps {
			c.zpacket('z', bp)
		}
		p, derr := c.ask("D")
		if derr == nil && string(p) != "OK" {
			derr = fmt.Errorf("gdbstub: detach: stub replied %q", p)
		}
		err = derr
		c.mu.Unlock()
	}
	c.shutdown()
	if errors.Is(err, errConn) {
		err = nil
	}
	return err
}

// Monitor runs a command in the stub's monitor (‘qRcmd’, gdb's `monitor`).
func (c *Client) Monitor(cmd string) (string, error) {
	if err := c.lockStopped(); err != nil {
		return "", err
	}
	defer c.mu.Unlock()
	var out []byte
	p, err := c.exchange("qRcmd,"+string(hexEncode([]byte(cmd))), &out)
	if err != nil {
		return string(out), err
	}
	if string(p) != "OK" {
		if len(p) == 0 {
			return string(out), fmt.Errorf("gdbstub: monitor: %w", guest.ErrUnsupported)
		}
		if p[0] == 'E' {
			return string(out), fmt.Errorf("gdbstub: monitor %q: stub replied %s", cmd, p)
		}
		// Some stubs answer with the output itself, hex-encoded.
		if b, err := hexDecode(p); err == nil {
			out = append(out, b...)
		}
	}
	return string(out), nil
}

// VGAText reads the 80x25 VGA text screen at physical 0xB8000 (virtual
// when the stub cannot address physical memory).
func (c *Client) VGAText() ([]string, error) {
	buf := make([]byte, 80*25*2)
	space := guest.Physical
	if !c.phys {
		space = guest.Virtual
	}
	cpu := c.LastStop().CPU
	if err := c.ReadMemory(cpu, space, 0xb8000, buf); err != nil {
		return nil, err
	}
	return VGALines(buf), nil
}

// VGALines converts VGA text memory (character, attribute pairs) to lines
// without trailing blanks.
func VGALines(buf []byte) []string {
	var lines []string
	for row := 0; row+160 <= len(buf); row += 160 {
		var b strings.Builder
		for i := row; i < row+160; i += 2 {
			ch := buf[i]
			if ch < 0x20 || ch > 0x7e {
				ch = ' '
			}
			b.WriteByte(ch)
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return lines
}
