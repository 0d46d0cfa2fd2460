package gdbstub

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ukw/guest"
)

// handler answers one packet. A nil reply means "no reply now" (a resume,
// whose reply is the next stop; or k). An empty, non-nil reply tells gdb
// the packet is not supported (GDB manual, E.2 "Packets").
type handler func(s *server, pkt []byte) ([]byte, error)

type route struct {
	prefix string
	fn     handler
}

// routes is the dispatch table, longest prefixes first within a letter.
// Each entry names the GDB manual section it follows.
var routes = []route{
	{"qSupported", (*server).qSupported},              // E.4 General Query Packets
	{"qXfer:features:read:", (*server).qXferFeatures}, // E.4, G "Target Descriptions"
	{"qXfer:threads:read:", (*server).qXferThreads},   // E.4, "Thread List Format"
	{"QStartNoAckMode", (*server).startNoAck},         // E.11 Packet Acknowledgment
	{"qfThreadInfo", (*server).qfThreadInfo},          // E.4
	{"qsThreadInfo", constReply("l")},                 // E.4
	{"qThreadExtraInfo,", (*server).qThreadExtraInfo}, // E.4
	{"qC", (*server).qC},                              // E.4
	{"qAttached", (*server).qAttached},                // E.4
	{"qOffsets", constReply("Text=0;Data=0;Bss=0")},   // E.4
	{"qRcmd,", (*server).qRcmd},                       // E.4, monitor commands
	{"vCont?", constReply("vCont;c;C;s;S;t")},         // E.2 ‘vCont?’
	{"vCont;", (*server).vCont},                       // E.2 ‘vCont’
	{"vKill", (*server).vKill},                        // E.2 ‘vKill’
	{"?", (*server).haltReason},                       // E.2 ‘?’
	{"g", (*server).readRegs},                         // E.2 ‘g’
	{"G", (*server).writeRegs},                        // E.2 ‘G’
	{"p", (*server).readReg},                          // E.2 ‘p’
	{"P", (*server).writeReg},                         // E.2 ‘P’
	{"m", (*server).readMem},                          // E.2 ‘m’
	{"M", (*server).writeMem},                         // E.2 ‘M’
	{"X", (*server).writeMemBinary},                   // E.2 ‘X’
	{"Z", (*server).insertBreak},                      // E.2 ‘Z’
	{"z", (*server).removeBreak},                      // E.2 ‘z’
	{"c", (*server).cont},                             // E.2 ‘c’
	{"C", (*server).cont},                             // E.2 ‘C’ (the signal is dropped)
	{"s", (*server).step},                             // E.2 ‘s’
	{"S", (*server).step},                             // E.2 ‘S’
	{"H", (*server).setThread},                        // E.2 ‘H’
	{"T", (*server).threadAlive},                      // E.2 ‘T’
	{"D", (*server).detach},                           // E.2 ‘D’
	{"k", (*server).kill},                             // E.2 ‘k’
}

func constReply(r string) handler {
	return func(*server, []byte) ([]byte, error) { return []byte(r), nil }
}

// errReply is an ‘E NN’ reply (GDB manual, E.2 "Packets", standard replies).
func errReply(n int) []byte { return fmt.Appendf(nil, "E%02x", n) }

// Error numbers in E replies (errno values, as gdbserver uses them).
const (
	errPerm  = 0x01 // EPERM: refused
	errNoEnt = 0x02 // ENOENT: no such thread or annex
	errIO    = 0x05 // EIO: the machine could not do it
	errFault = 0x0e // EFAULT: memory not accessible
	errBusy  = 0x10 // EBUSY: no free slot
	errInval = 0x16 // EINVAL: malformed packet
)

func (s *server) dispatch(pkt []byte) ([]byte, error) {
	for _, r := range routes {
		if bytes.HasPrefix(pkt, []byte(r.prefix)) {
			if s.finished && !finishedOK[r.prefix] {
				return s.final, nil
			}
			return r.fn(s, pkt)
		}
	}
	return []byte{}, nil
}

// finishedOK lists packets still answered normally after the guest ended;
// anything else gets the exit report again.
var finishedOK = map[string]bool{
	"qSupported": true, "qXfer:features:read:": true, "qXfer:threads:read:": true, "QStartNoAckMode": true,
	"qfThreadInfo": true, "qsThreadInfo": true, "qAttached": true, "qOffsets": true,
	"vCont?": true, "vKill": true, "k": true, "D": true, "H": true, "qC": true,
	"qThreadExtraInfo,": true, "qRcmd,": true,
}

func (s *server) qSupported(pkt []byte) ([]byte, error) {
	// gdb lists its own features after ':' (GDB manual, E.4 ‘qSupported’).
	if _, feats, ok := bytes.Cut(pkt, []byte(":")); ok {
		for _, f := range bytes.Split(feats, []byte(";")) {
			switch string(f) {
			case "swbreak+":
				s.swbreak = true
			case "hwbreak+":
				s.hwbreak = true
			}
		}
	}
	return fmt.Appendf(nil, "PacketSize=%x;qXfer:features:read+;qXfer:threads:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+", MaxPacket), nil
}

func (s *server) startNoAck([]byte) ([]byte, error) {
	// The OK itself is still acknowledged; acks stop after it.
	s.out = AppendPacket(s.out, []byte("OK"))
	err := s.flush()
	s.noAck = true
	return nil, err
}

// qXferFeatures serves target.xml: ‘qXfer:features:read:annex:offset,length’,
// answered 'm' (more follows) or 'l' (last) plus binary data.
func (s *server) qXferFeatures(pkt []byte) ([]byte, error) {
	return s.qXfer(pkt[len("qXfer:features:read:"):], "target.xml", s.layout.TargetXML())
}

// qXferThreads serves the thread list (‘qXfer:threads:read::offset,length’,
// GDB manual E.4 and "Thread List Format"): gdb refreshes its thread list
// after every stop it prints, and this answers in one packet what
// qfThreadInfo and qsThreadInfo take two for.
func (s *server) qXferThreads(pkt []byte) ([]byte, error) {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<threads>\n")
	for i := 0; i < s.m.NumCPU(); i++ {
		fmt.Fprintf(&b, "<thread id=\"%x\" name=\"vCPU %d\"/>\n", i+1, i)
	}
	b.WriteString("</threads>\n")
	return s.qXfer(pkt[len("qXfer:threads:read:"):], "", b.String())
}

// qXfer answers ‘annex:offset,length’ for the one annex it serves with a
// piece of doc: 'm' (more follows) or 'l' (last) plus binary data.
func (s *server) qXfer(rest []byte, want, doc string) ([]byte, error) {
	annex, rng, ok := bytes.Cut(rest, []byte(":"))
	if !ok {
		return errReply(errInval), nil
	}
	if string(annex) != want {
		return errReply(errNoEnt), nil
	}
	off, n, err := parseAddrLen(rng, ',')
	if err != nil {
		return errReply(errInval), nil
	}
	if off >= uint64(len(doc)) {
		return []byte("l"), nil
	}
	end := off + n
	mark := byte('m')
	if end >= uint64(len(doc)) || end < off {
		end, mark = uint64(len(doc)), 'l'
	}
	return AppendEscaped([]byte{mark}, []byte(doc[off:end])), nil
}

func (s *server) qfThreadInfo([]byte) ([]byte, error) {
	b := []byte{'m'}
	for i := 0; i < s.m.NumCPU(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(i+1), 16)
	}
	return b, nil
}

func (s *server) qThreadExtraInfo(pkt []byte) ([]byte, error) {
	cpu, ok := s.parseThread(pkt[len("qThreadExtraInfo,"):])
	if !ok || cpu < 0 {
		return errReply(errNoEnt), nil
	}
	return hexEncode(fmt.Appendf(nil, "vCPU %d", cpu)), nil
}

func (s *server) qC([]byte) ([]byte, error) {
	return fmt.Appendf(nil, "QC%x", s.stop.CPU+1), nil
}

func (s *server) qAttached([]byte) ([]byte, error) {
	if s.opt.Created {
		return []byte("0"), nil
	}
	return []byte("1"), nil
}

func (s *server) haltReason([]byte) ([]byte, error) {
	if s.finished {
		return s.final, nil
	}
	if !s.haveStop {
		// Stopped before this session began (e.g. at entry): describe it.
		r, err := s.m.Regs(0)
		if err != nil {
			return errReply(errIO), nil
		}
		s.stop = guest.Stop{CPU: 0, Reason: guest.StopEntry, PC: r.RIP, Regs: r}
		s.haveStop = true
	}
	return s.stopReply(), nil
}

// cpuFor resolves a thread selection (-1: the thread that stopped).
func (s *server) cpuFor(sel int) int {
	if sel < 0 || sel >= s.m.NumCPU() {
		return s.stop.CPU
	}
	return sel
}

// parseThread parses a thread id: hex n (vCPU n-1), 0 (any) or -1 (all).
// It returns the CPU index, -1 for any/all.
func (s *server) parseThread(b []byte) (int, bool) {
	if string(b) == "-1" || string(b) == "0" {
		return -1, true
	}
	// Multiprocess syntax ‘p1.2’ is accepted too.
	if len(b) > 0 && b[0] == 'p' {
		_, t, ok := bytes.Cut(b[1:], []byte("."))
		if !ok {
			return -1, true
		}
		return s.parseThread(t)
	}
	v, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil || v == 0 || int(v) > s.m.NumCPU() {
		return 0, false
	}
	return int(v) - 1, true
}

func (s *server) setThread(pkt []byte) ([]byte, error) {
	if len(pkt) < 2 {
		return errReply(errInval), nil
	}
	cpu, ok := s.parseThread(pkt[2:])
	if !ok {
		return errReply(errNoEnt), nil
	}
	switch pkt[1] {
	case 'g':
		s.gCPU = cpu
	case 'c':
		s.cCPU = cpu
	default:
		return errReply(errInval), nil
	}
	return []byte("OK"), nil
}

func (s *server) threadAlive(pkt []byte) ([]byte, error) {
	if cpu, ok := s.parseThread(pkt[1:]); ok && cpu >= 0 {
		return []byte("OK"), nil
	}
	return errReply(errNoEnt), nil
}

func (s *server) readRegs([]byte) ([]byte, error) {
	r, err := s.m.Regs(s.cpuFor(s.gCPU))
	if err != nil {
		return errReply(errIO), nil
	}
	return hexEncode(s.layout.Encode(&r)), nil
}

func (s *server) writeRegs(pkt []byte) ([]byte, error) {
	data, err := hexDecode(pkt[1:])
	if err != nil {
		return errReply(errInval), nil
	}
	cpu := s.cpuFor(s.gCPU)
	r, err := s.m.Regs(cpu)
	if err != nil {
		return errReply(errIO), nil
	}
	s.layout.Decode(data, &r)
	if err := s.m.SetRegs(cpu, &r); err != nil {
		return errReply(errIO), nil
	}
	return []byte("OK"), nil
}

func (s *server) readReg(pkt []byte) ([]byte, error) {
	n, err := strconv.ParseUint(string(pkt[1:]), 16, 16)
	if err != nil || int(n) >= len(s.layout) {
		return errReply(errInval), nil
	}
	r, err := s.m.Regs(s.cpuFor(s.gCPU))
	if err != nil {
		return errReply(errIO), nil
	}
	ri := s.layout[n]
	v := ri.Default
	if ri.Reg != noReg {
		v = r.Get(ri.Reg)
	}
	b := make([]byte, ri.Bits/8)
	putReg(b, v)
	return hexEncode(b), nil
}

func (s *server) writeReg(pkt []byte) ([]byte, error) {
	num, val, ok := bytes.Cut(pkt[1:], []byte("="))
	n, err := strconv.ParseUint(string(num), 16, 16)
	if !ok || err != nil || int(n) >= len(s.layout) {
		return errReply(errInval), nil
	}
	data, err := hexDecode(val)
	if err != nil || len(data) != s.layout[n].Bits/8 {
		return errReply(errInval), nil
	}
	ri := s.layout[n]
	if ri.Reg == noReg {
		return []byte("OK"), nil // a register the backend does not have: dropped
	}
	cpu := s.cpuFor(s.gCPU)
	r, err := s.m.Regs(cpu)
	if err != nil {
		return errReply(errIO), nil
	}
	r.Set(ri.Reg, getReg(data))
	if err := s.m.SetRegs(cpu, &r); err != nil {
		return errReply(errIO), nil
	}
	return []byte("OK"), nil
}

// maxMem bounds one m reply: two hex digits per byte must fit PacketSize.
const maxMem = MaxPacket/2 - 16

func (s *server) readMem(pkt []byte) ([]byte, error) {
	addr, n, err := parseAddrLen(pkt[1:], ',')
	if err != nil {
		return errReply(errInval), nil
	}
	if n > maxMem {
		n = maxMem
	}
	buf := make([]byte, n)
	err = s.m.ReadMemory(s.cpuFor(s.gCPU), guest.Virtual, addr, buf)
	var me *guest.MemError
	if errors.As(err, &me) && me.Addr > addr && me.Addr-addr < n {
		// A partial read returns what could be read (E.2 ‘m’).
		return hexEncode(buf[:me.Addr-addr]), nil
	}
	if err != nil {
		return errReply(errFault), nil
	}
	return hexEncode(buf), nil
}

// writeMem is ‘M addr,length:XX…’ (hex data).
func (s *server) writeMem(pkt []byte) ([]byte, error) { return s.writeMemWith(pkt, hexDecode) }

// writeMemBinary is ‘X addr,length:XX…’ (binary data, escaped).
func (s *server) writeMemBinary(pkt []byte) ([]byte, error) { return s.writeMemWith(pkt, Unescape) }

func (s *server) writeMemWith(pkt []byte, decode func([]byte) ([]byte, error)) ([]byte, error) {
	hdr, val, ok := bytes.Cut(pkt[1:], []byte(":"))
	if !ok {
		return errReply(errInval), nil
	}
	addr, n, err := parseAddrLen(hdr, ',')
	if err != nil {
		return errReply(errInval), nil
	}
	data, err := decode(val)
	if err != nil || uint64(len(data)) != n {
		return errReply(errInval), nil
	}
	return s.writeMemData(addr, data), nil
}

func (s *server) writeMemData(addr uint64, data []byte) []byte {
	if len(data) == 0 {
		return []byte("OK") // gdb probes X support with an empty write
	}
	if err := s.m.WriteMemory(s.cpuFor(s.gCPU), guest.Virtual, addr, data); err != nil {
		return errReply(errFault)
	}
	return []byte("OK")
}

// parseBreak parses ‘Z type,addr,kind’ (conditions after ';' are ignored:
// we do not announce ConditionalBreakpoints).
func parseBreak(pkt []byte) (guest.Breakpoint, error) {
	body, _, _ := bytes.Cut(pkt[1:], []byte(";"))
	parts := strings.Split(string(body), ",")
	if len(parts) != 3 {
		return guest.Breakpoint{}, errors.New("want type,addr,kind")
	}
	typ, err1 := strconv.ParseUint(parts[0], 16, 8)
	addr, err2 := strconv.ParseUint(parts[1], 16, 64)
	kind, err3 := strconv.ParseUint(parts[2], 16, 16)
	if err1 != nil || err2 != nil || err3 != nil || typ > 4 {
		return guest.Breakpoint{}, errors.New("bad number")
	}
	return guest.Breakpoint{Kind: guest.BreakKind(typ), Addr: addr, Len: int(kind)}, nil
}

func (s *server) insertBreak(pkt []byte) ([]byte, error) {
	bp, err := parseBreak(pkt)
	if err != nil {
		return errReply(errInval), nil
	}
	if s.bps[bp] {
		return []byte("OK"), nil // Z is idempotent (E.2 ‘z’/‘Z’)
	}
	if err := s.m.SetBreakpoint(bp); err != nil {
		return breakError(err), nil
	}
	s.bps[bp] = true
	return []byte("OK"), nil
}

func (s *server) removeBreak(pkt []byte) ([]byte, error) {
	bp, err := parseBreak(pkt)
	if err != nil {
		return errReply(errInval), nil
	}
	if !s.bps[bp] {
		return []byte("OK"), nil
	}
	if err := s.m.ClearBreakpoint(bp); err != nil {
		return breakError(err), nil
	}
	delete(s.bps, bp)
	return []byte("OK"), nil
}

// breakError maps a backend's refusal to the reply that makes gdb fall
// back: empty for a kind this backend cannot do at all (gdb then stops
// trying that Z type, e.g. uses single-step software watchpoints once told
// `set can-use-hw-watchpoints 0`, or its own memory breakpoints for Z0), E
// for a temporary failure such as all debug registers being in use.
func breakError(err error) []byte {
	switch {
	case errors.Is(err, guest.ErrUnsupported):
		return []byte{}
	case errors.Is(err, guest.ErrNoSlots):
		return errReply(errBusy)
	}
	return errReply(errIO)
}

// resume starts a run; its reply is the next stop.
func (s *server) resume(cpu int, step bool, addr []byte) ([]byte, error) {
	if len(addr) > 0 {
		pc, err := strconv.ParseUint(string(addr), 16, 64)
		if err != nil {
			return errReply(errInval), nil
		}
		r, err := s.m.Regs(cpu)
		if err != nil {
			return errReply(errIO), nil
		}
		r.RIP = pc
		if err := s.m.SetRegs(cpu, &r); err != nil {
			return errReply(errIO), nil
		}
	}
	s.running, s.interrupt = true, false
	var err error
	if step {
		err = s.m.Step(cpu)
	} else {
		err = s.m.Continue()
	}
	if err != nil {
		s.running = false
		if errors.Is(err, guest.ErrFinished) && s.finished {
			return s.final, nil
		}
		return errReply(errIO), nil
	}
	return nil, nil
}

func (s *server) cont(pkt []byte) ([]byte, error) {
	return s.resume(s.cpuFor(s.cCPU), false, resumeAddr(pkt))
}

func (s *server) step(pkt []byte) ([]byte, error) {
	return s.resume(s.cpuFor(s.cCPU), true, resumeAddr(pkt))
}

// resumeAddr returns the optional address of ‘c addr’/‘s addr’ (after a
// signal number in ‘C sig;addr’).
func resumeAddr(pkt []byte) []byte {
	if pkt[0] == 'C' || pkt[0] == 'S' {
		_, a, _ := bytes.Cut(pkt, []byte(";"))
		return a
	}
	return pkt[1:]
}

// vCont runs ‘vCont;action[:thread]...’. In all-stop mode the first action
// that applies to a thread decides it; a step wins over a continue, and the
// Machine steps that vCPU alone.
func (s *server) vCont(pkt []byte) ([]byte, error) {
	stepCPU, cont := -2, false
	for _, act := range bytes.Split(pkt[len("vCont;"):], []byte(";")) {
		a, tid, hasTid := bytes.Cut(act, []byte(":"))
		if len(a) == 0 {
			return errReply(errInval), nil
		}
		cpu := -1
		if hasTid {
			c, ok := s.parseThread(tid)
			if !ok {
				return errReply(errNoEnt), nil
			}
			cpu = c
		}
		switch a[0] {
		case 's', 'S':
			if stepCPU == -2 {
				stepCPU = s.cpuFor(cpu)
			}
		case 'c', 'C':
			cont = true
		case 't':
		default:
			return []byte{}, nil
		}
	}
	switch {
	case stepCPU >= 0:
		return s.resume(stepCPU, true, nil)
	case cont:
		return s.resume(s.stop.CPU, false, nil)
	}
	return errReply(errInval), nil
}

func (s *server) detach([]byte) ([]byte, error) {
	s.disconnect()
	if !s.finished && s.m.State() == guest.Stopped {
		if err := s.m.Continue(); err != nil {
			s.logf("resuming on detach: %v", err)
		}
	}
	return []byte("OK"), errDone
}

func (s *server) kill([]byte) ([]byte, error) {
	if !s.finished {
		if err := s.m.Kill(); err != nil {
			s.logf("kill: %v", err)
		}
	}
	return nil, errDone
}

func (s *server) vKill([]byte) ([]byte, error) {
	if !s.finished {
		if err := s.m.Kill(); err != nil {
			return errReply(errIO), nil
		}
	}
	return []byte("OK"), errDone
}

// parseAddrLen parses "addr<sep>len" in hex.
func parseAddrLen(b []byte, sep byte) (uint64, uint64, error) {
	a, l, ok := bytes.Cut(b, []byte{sep})
	if !ok {
		return 0, 0, errors.New("missing separator")
	}
	addr, err := strconv.ParseUint(string(a), 16, 64)
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.ParseUint(string(l), 16, 64)
	if err != nil {
		return 0, 0, err
	}
	return addr, n, nil
}
