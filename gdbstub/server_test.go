package gdbstub

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"ukw/guest"
)

// rawGDB speaks raw RSP to a server under test, as gdb would.
type rawGDB struct {
	t     *testing.T
	conn  net.Conn
	dec   Decoder
	frame chan Frame
	noAck bool
	done  chan error
}

func startServer(t *testing.T, m guest.Machine) *rawGDB {
	t.Helper()
	a, b := net.Pipe()
	g := &rawGDB{t: t, conn: a, frame: make(chan Frame, 64), done: make(chan error, 1)}
	go func() { g.done <- ServeOptions(b, m, Options{}) }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := a.Read(buf)
			for _, c := range buf[:n] {
				if f, ok := g.dec.Feed(c); ok {
					g.frame <- f
				}
			}
			if err != nil {
				close(g.frame)
				return
			}
		}
	}()
	t.Cleanup(func() { a.Close(); b.Close() })
	return g
}

func (g *rawGDB) next() Frame {
	g.t.Helper()
	select {
	case f, ok := <-g.frame:
		if !ok {
			g.t.Fatal("connection closed")
		}
		return f
	case <-time.After(5 * time.Second):
		g.t.Fatal("no reply within 5 s")
	}
	return Frame{}
}

// send writes a packet; in ack mode it expects the server's '+'.
func (g *rawGDB) send(p string) {
	g.t.Helper()
	if _, err := g.conn.Write(AppendPacket(nil, []byte(p))); err != nil {
		g.t.Fatal(err)
	}
	if !g.noAck {
		if f := g.next(); f.Kind != FrameAck {
			g.t.Fatalf("%q: want ack, got %v %q", p, f.Kind, f.Data)
		}
	}
}

// reply reads the next packet.
func (g *rawGDB) reply() string {
	g.t.Helper()
	f := g.next()
	if f.Kind != FramePacket {
		g.t.Fatalf("want a packet, got frame kind %v", f.Kind)
	}
	return string(f.Data)
}

func (g *rawGDB) ask(p string) string {
	g.t.Helper()
	g.send(p)
	return g.reply()
}

func (g *rawGDB) expect(p, want string) {
	g.t.Helper()
	if got := g.ask(p); got != want {
		g.t.Fatalf("%q -> %q, want %q", p, got, want)
	}
}

func (g *rawGDB) handshake() {
	g.t.Helper()
	sup := g.ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
	for _, f := range []string{"PacketSize=", "qXfer:features:read+", "qXfer:threads:read+", "swbreak+", "hwbreak+", "vContSupported+", "QStartNoAckMode+"} {
		if !strings.Contains(sup, f) {
			g.t.Fatalf("qSupported reply %q lacks %s", sup, f)
		}
	}
	g.expect("QStartNoAckMode", "OK")
	g.noAck = true
}

func TestServerHandshakeAndQueries(t *testing.T) {
	m := newFake(2)
	g := startServer(t, m)
	g.handshake()
	if got := g.ask("?"); !strings.HasPrefix(got, "T05thread:1;") {
		t.Fatalf("? -> %q", got)
	}
	g.expect("qfThreadInfo", "m1,2")
	g.expect("qsThreadInfo", "l")
	g.expect("qC", "QC1")
	g.expect("qAttached", "1")
	g.expect("qOffsets", "Text=0;Data=0;Bss=0")
	g.expect("T2", "OK")
	g.expect("T3", "E02")
	g.expect("vCont?", "vCont;c;C;s;S;t")
	g.expect("vMustReplyEmpty", "")
	g.expect("qTStatus", "")
	g.expect("Hg2", "OK")
	g.expect("Hg9", "E02")
	g.expect("Hx1", "E16")
	if got := g.ask("qThreadExtraInfo,2"); got != string(hexEncode([]byte("vCPU 1"))) {
		t.Fatalf("qThreadExtraInfo -> %q", got)
	}
	// The thread list in one packet (GDB manual E.4, "Thread List Format").
	want := "l<?xml version=\"1.0\"?>\n<threads>\n<thread id=\"1\" name=\"vCPU 0\"/>\n<thread id=\"2\" name=\"vCPU 1\"/>\n</threads>\n"
	g.expect("qXfer:threads:read::0,1000", want)
	g.expect("qXfer:threads:read::10,8", "m"+want[1+0x10:1+0x18])
	g.expect("qXfer:threads:read::1000,10", "l")
	g.expect("qXfer:threads:read:other:0,10", "E02")
	g.expect("qXfer:threads:read::zz", "E16")
}

func TestServerTargetXMLInChunks(t *testing.T) {
	g := startServer(t, newFake(1))
	g.handshake()
	var doc []byte
	for {
		p := g.ask(fmt.Sprintf("qXfer:features:read:target.xml:%x,%x", len(doc), 100))
		data, err := Unescape([]byte(p[1:]))
		if err != nil {
			t.Fatal(err)
		}
		doc = append(doc, data...)
		if p[0] == 'l' {
			break
		}
		if p[0] != 'm' {
			t.Fatalf("bad chunk %q", p)
		}
	}
	if string(doc) != AMD64().TargetXML() {
		t.Fatal("target.xml read in chunks differs from the layout's")
	}
	l, err := parseTargetXML(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != len(amd64Layout) || l.Index(guest.RIP) != 16 || l.Index(guest.EFER) != len(l)-1 {
		t.Fatalf("parsed layout: %d regs, rip %d", len(l), l.Index(guest.RIP))
	}
	g.expect("qXfer:features:read:other.xml:0,100", "E02")
	g.expect("qXfer:features:read:target.xml:zz", "E16")
}

func TestServerRegisters(t *testing.T) {
	m := newFake(2)
	g := startServer(t, m)
	g.handshake()
	g.expect("Hg2", "OK")
	raw, err := hexDecode([]byte(g.ask("g")))
	if err != nil || len(raw) != AMD64().Size() {
		t.Fatalf("g: %d bytes, %v", len(raw), err)
	}
	var r guest.Regs
	AMD64().Decode(raw, &r)
	if r.RAX != 1 || r.RIP != memBase || r.CS.Selector != 8 || r.FS.Base != 0xf5 {
		t.Fatalf("g decoded to rax %d rip %#x cs %#x fs_base %#x", r.RAX, r.RIP, r.CS.Selector, r.FS.Base)
	}
	// P rax (0), P rip (0x10), p back; P on an x87 register is accepted and dropped.
	g.expect("P0=efbeadde00000000", "OK")
	g.expect("P10=3412000000000000", "OK")
	g.expect("p0", "efbeadde00000000")
	g.expect("p10", "3412000000000000")
	g.expect("p11", "00000000") // eflags, 32 bits
	g.expect("p18", "00000000000000000000")
	g.expect(fmt.Sprintf("p%x", AMD64().Index(guest.CR3)), "0000000000000000")
	g.expect(fmt.Sprintf("P%x=00000000000000000000", 24), "OK")
	g.expect("p999", "E16")
	g.expect("P0=12", "E16")
	if m.regs[1].RAX != 0xdeadbeef || m.regs[1].RIP != 0x1234 || m.regs[0].RAX != 0 {
		t.Fatalf("P went to the wrong vCPU: %+v", m.regs)
	}
	// G writes back what g read, with rbx changed.
	r.RBX = 0x55
	g.expect("G"+string(hexEncode(AMD64().Encode(&r))), "OK")
	if m.regs[1].RBX != 0x55 || m.regs[1].CS.Base != 0 {
		t.Fatal("G did not write rbx")
	}
	g.expect("Gzz", "E16")
}

func TestServerMemory(t *testing.T) {
	m := newFake(1)
	g := startServer(t, m)
	g.handshake()
	g.expect("m1000,4", "00010203")
	g.expect("M1000,2:abcd", "OK")
	g.expect("m1000,2", "abcd")
	// X with escaped bytes: '}' 0x5d is '}', '}' 0x03 is '#'.
	g.send("X1002,3:}]}\x03a")
	if got := g.reply(); got != "OK" {
		t.Fatalf("X -> %q", got)
	}
	if !bytes.Equal(m.mem[2:5], []byte("}#a")) {
		t.Fatalf("X wrote %q", m.mem[2:5])
	}
	g.expect("X1000,0:", "OK")
	g.expect("m1ffe,4", "feff") // partial read: what could be read
	g.expect("m5000,4", "E0e")
	g.expect("M5000,1:00", "E0e")
	g.expect("M1000,2:00", "E16")
	g.expect("mzz", "E16")
}

func TestServerBreakpointsAndRuns(t *testing.T) {
	m := newFake(1)
	g := startServer(t, m)
	g.handshake()
	g.expect("Z0,1010,1", "OK")
	g.expect("Z0,1010,1", "OK") // idempotent
	g.expect("Z1,1020,1", "OK")
	g.send("c")
	if got := g.reply(); !strings.HasPrefix(got, "T05thread:1;swbreak:;") || !strings.Contains(got, "10:1010000000000000;") {
		t.Fatalf("continue to sw breakpoint -> %q", got)
	}
	g.send("vCont;c")
	if got := g.reply(); !strings.HasPrefix(got, "T05thread:1;hwbreak:;") {
		t.Fatalf("continue to hw breakpoint -> %q", got)
	}
	g.send("vCont;s:1;c")
	if got := g.reply(); !strings.HasPrefix(got, "T05thread:1;") || !strings.Contains(got, "10:2110000000000000") {
		t.Fatalf("vCont step -> %q", got)
	}
	g.send("s")
	if got := g.reply(); !strings.Contains(got, "10:2210000000000000") {
		t.Fatalf("s -> %q", got)
	}
	g.expect("z0,1010,1", "OK")
	g.expect("z1,1020,1", "OK")
	if n := m.numBreaks(); n != 0 {
		t.Fatalf("%d breakpoints left", n)
	}
	// Hardware slots run out: E, so gdb reports it; watch kinds the
	// backend cannot do at all: empty, so gdb knows.
	for i := 0; i < 4; i++ {
		g.expect(fmt.Sprintf("Z2,%x,4", 0x1100+4*i), "OK")
	}
	g.expect("Z2,1200,4", "E10")
	m.noWatch = true
	g.expect("Z3,1300,4", "")
	g.expect("Z9,1300,4", "E16")
	g.expect("Z0,zz,1", "E16")
	g.expect("vCont;x", "")
	g.expect("vCont;s:7", "E02")
}

func TestServerInterruptAndExit(t *testing.T) {
	m := newFake(1)
	m.runDelay = time.Millisecond
	g := startServer(t, m)
	g.handshake()
	g.send("c")
	time.Sleep(20 * time.Millisecond)
	g.conn.Write([]byte{byteInterrupt})
	if got := g.reply(); !strings.HasPrefix(got, "T02thread:1;") {
		t.Fatalf("Ctrl-C -> %q", got)
	}
	m.runDelay = 0
	g.send("c")
	if got := g.reply(); got != "W03" {
		t.Fatalf("run to exit -> %q", got)
	}
	g.expect("?", "W03")
	g.expect("g", "W03")
	g.send("k")
	if err := <-g.done; err != nil {
		t.Fatal(err)
	}
}

func TestServerDetachResumesAndClears(t *testing.T) {
	m := newFake(1)
	m.runDelay = time.Millisecond
	g := startServer(t, m)
	g.handshake()
	g.expect("Z0,1100,1", "OK")
	g.expect("D;1", "OK")
	if err := <-g.done; err != nil {
		t.Fatal(err)
	}
	if m.numBreaks() != 0 {
		t.Fatal("detach left breakpoints behind")
	}
	if m.State() != guest.Running {
		t.Fatalf("after detach the machine is %v, want running", m.State())
	}
	// A second session on the same machine stops it again.
	g2 := startServer(t, m)
	g2.handshake()
	if got := g2.ask("?"); !strings.HasPrefix(got, "T02") {
		t.Fatalf("second session ? -> %q", got)
	}
	if m.State() != guest.Stopped {
		t.Fatal("second session did not stop the machine")
	}
	g2.send("k")
	if err := <-g2.done; err != nil || !m.killed {
		t.Fatalf("k: err %v, killed %v", err, m.killed)
	}
}

func TestServerAcksAndResend(t *testing.T) {
	g := startServer(t, newFake(1))
	// A corrupt packet gets '-'.
	g.conn.Write([]byte("$qC#00"))
	if f := g.next(); f.Kind != FrameNack {
		t.Fatalf("bad checksum -> %v", f.Kind)
	}
	if got := g.ask("qC"); got != "QC1" {
		t.Fatalf("qC -> %q", got)
	}
	// '-' from gdb: the last reply again.
	g.conn.Write([]byte{byteNack})
	if got := g.reply(); got != "QC1" {
		t.Fatalf("resend -> %q", got)
	}
}

func TestServerMonitor(t *testing.T) {
	g := startServer(t, newFake(1))
	g.handshake()
	mon := func(cmd string) string {
		g.send("qRcmd," + string(hexEncode([]byte(cmd))))
		var out []byte
		for {
			p := g.reply()
			if p == "OK" {
				return string(out)
			}
			if p[0] != 'O' {
				t.Fatalf("monitor %s: %q", cmd, p)
			}
			b, err := hexDecode([]byte(p[1:]))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
	}
	if out := mon("regs"); !strings.Contains(out, "rip      0x0000000000001000") {
		t.Fatalf("monitor regs:\n%s", out)
	}
	if out := mon("caps"); !strings.Contains(out, "backend:          fake") {
		t.Fatalf("monitor caps:\n%s", out)
	}
	if out := mon("vga"); !strings.Contains(out, "cannot read the VGA screen") {
		t.Fatalf("monitor vga:\n%s", out)
	}
	if out := mon("info mtree"); out != "fake monitor: info mtree\n" {
		t.Fatalf("forwarded monitor command:\n%s", out)
	}
	if out := mon("help"); !strings.Contains(out, "reboot") {
		t.Fatalf("help:\n%s", out)
	}
}

// FuzzDispatch feeds arbitrary packets to a server over a fake machine:
// every one gets a reply or none (a resume), never a panic or a hang.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{"g", "G00", "p10", "P10=00", "m1000,10", "M1000,1:00", "X1000,1:a", "Z0,1000,1",
		"z2,1000,4", "vCont;s:1", "vCont;c", "Hg1", "T1", "qXfer:features:read:target.xml:0,10", "qXfer:threads:read::0,10", "qRcmd,7265677",
		"qSupported:swbreak+", "s", "c1234", "C05;1000", "qThreadExtraInfo,p1.1", "D", "k", "?", "H", "p", "P", "Z", "m"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		m := newFake(2)
		s := newServer(bytes.NewBuffer(nil), m, Options{})
		defer s.close()
		s.noAck = true
		reply, _ := s.dispatch(pkt)
		if reply == nil && s.running {
			// A resume: the fake produces its stop or exit promptly.
			for s.running {
				select {
				case e := <-s.events:
					s.event(e)
				case <-time.After(5 * time.Second):
					m.Interrupt()
				}
			}
		}
	})
}

func TestFinalReplies(t *testing.T) {
	for _, c := range []struct {
		e    guest.Event
		want string
	}{
		{guest.ExitEvent{Exit: guest.Exit{How: guest.ExitPort, Status: 37}}, "W25"},
		{guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}}, "X09"},
		{guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultException, Vector: 6}}, "X04guest fault: #UD"},
		{guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultException, Vector: 0}}, "X08"},
		{guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultException, Vector: 14}}, "X0bguest fault: #PF"},
		{guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultTimeout}}, "X0e"},
		{guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultTripleFault}}, "X06"},
	} {
		if got := string(finalReply(c.e)); !strings.HasPrefix(got, c.want) {
			t.Errorf("%#v -> %q, want prefix %q", c.e, got, c.want)
		}
	}
}

func TestServerReportsFaultWhileRunning(t *testing.T) {
	m := newFake(1)
	m.runDelay = time.Millisecond
	g := startServer(t, m)
	g.handshake()
	g.send("c")
	time.Sleep(5 * time.Millisecond)
	m.Publish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultException, Vector: 13, Regs: guest.Regs{RIP: 0x1234}}})
	o := g.reply()
	text, err := hexDecode([]byte(o[1:]))
	if o[0] != 'O' || err != nil || !strings.Contains(string(text), "#GP general protection") {
		t.Fatalf("fault notice %q (%s)", o, text)
	}
	if got := g.reply(); got != "X0b" {
		t.Fatalf("fault -> %q, want X0b", got)
	}
	m.Interrupt()
}

func TestServerLostConnectionWhileRunningLiftsBreakpoints(t *testing.T) {
	m := newFake(1)
	m.runDelay = time.Millisecond
	g := startServer(t, m)
	g.handshake()
	g.expect("Z0,1e00,1", "OK")
	g.send("c")
	time.Sleep(10 * time.Millisecond)
	g.conn.Close()
	if err := <-g.done; err != nil {
		t.Fatal(err)
	}
	if m.numBreaks() != 0 {
		t.Fatal("breakpoints left after the debugger vanished")
	}
	if m.State() != guest.Running {
		t.Fatalf("machine %v, want it running on", m.State())
	}
	m.Interrupt()
}
