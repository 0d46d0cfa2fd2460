package gdbstub

import (
	"encoding/hex"
	"net"
	"testing"

	"ukw/guest"
)

// A stub that reports a stop nobody asked for (QEMU does, when a debugger
// connects to a running VM) must not shift the answers of the handshake.
func TestClientSkipsStrayStopReply(t *testing.T) {
	// TCP, not net.Pipe: a real stub writes the stray reply and the answer
	// back to back, which an unbuffered pipe would deadlock on acks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	answers := map[string]string{
		"qfThreadInfo":    "m01",
		"qsThreadInfo":    "l",
		"qqemu.sstepbits": "",
		"vCont?":          "vCont;c;C;s;S",
		"?":               "T05thread:01;",
	}
	go func() {
		var d Decoder
		buf := make([]byte, 4096)
		stray := true
		for {
			n, err := srv.Read(buf)
			if err != nil {
				return
			}
			for _, b := range buf[:n] {
				f, ok := d.Feed(b)
				if !ok || f.Kind != FramePacket {
					continue
				}
				srv.Write([]byte{'+'})
				q := string(f.Data)
				if len(q) > 11 && q[:11] == "qSupported:" {
					q = "qSupported"
				}
				reply, known := answers[q]
				if q == "qSupported" {
					reply, known = "PacketSize=1000", true
				}
				if !known {
					reply = ""
				}
				switch {
				case q[0] == 'H':
					reply = "OK"
				case q == "g":
					reply = hex.EncodeToString(Layout(amd64Layout[:defaultBuiltinRegs]).Encode(&guest.Regs{RIP: 0x100000}))
				}
				if stray && q == "vCont?" {
					srv.Write(AppendPacket(nil, []byte("T02thread:01;")))
					stray = false
				}
				srv.Write(AppendPacket(nil, []byte(reply)))
			}
		}
	}()
	c, err := NewClient(cli, ClientOptions{})
	if err != nil {
		t.Fatalf("handshake with a stray stop reply: %v", err)
	}
	defer c.conn.Close()
	if !c.vcont {
		t.Fatal("the vCont? answer was lost behind the stray stop reply")
	}
}
