package gdbstub

import (
	"bytes"
	"testing"
)

func feedAll(d *Decoder, in []byte) []Frame {
	var out []Frame
	for _, b := range in {
		if f, ok := d.Feed(b); ok {
			out = append(out, f)
		}
	}
	return out
}

func TestDecoderFrames(t *testing.T) {
	var d Decoder
	in := []byte("+$g#67-\x03junk" + string(AppendPacket(nil, []byte("m1000,4"))) + "%Stop:T05#00$bad#00$qC#b4")
	got := feedAll(&d, in)
	want := []Frame{
		{Kind: FrameAck}, {Kind: FramePacket, Data: []byte("g")}, {Kind: FrameNack},
		{Kind: FrameInterrupt}, {Kind: FramePacket, Data: []byte("m1000,4")},
		{Kind: FrameBad}, {Kind: FrameBad}, {Kind: FramePacket, Data: []byte("qC")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("frame %d = %v %q, want %v %q", i, got[i].Kind, got[i].Data, want[i].Kind, want[i].Data)
		}
	}
}

func TestDecoderNotificationAndRestart(t *testing.T) {
	var d Decoder
	n := AppendPacket(nil, []byte("Stop:T05"))
	n[0] = '%'
	got := feedAll(&d, append(n, AppendPacket(nil, []byte("OK"))...))
	if len(got) != 2 || got[0].Kind != FrameNotify || string(got[0].Data) != "Stop:T05" || string(got[1].Data) != "OK" {
		t.Fatalf("got %+v", got)
	}
	// '$' inside a packet restarts it.
	got = feedAll(&d, []byte("$gar$"+string(AppendPacket(nil, []byte("g"))[1:])))
	if len(got) != 1 || string(got[0].Data) != "g" {
		t.Fatalf("restart: got %+v", got)
	}
}

func TestDecoderRejectsOversizedPacket(t *testing.T) {
	var d Decoder
	big := bytes.Repeat([]byte("a"), MaxPacket+10)
	got := feedAll(&d, AppendPacket(nil, big))
	if len(got) != 1 || got[0].Kind != FrameBad {
		t.Fatalf("oversized packet: got %d frames, kind %v", len(got), got[0].Kind)
	}
	got = feedAll(&d, AppendPacket(nil, []byte("OK")))
	if len(got) != 1 || string(got[0].Data) != "OK" {
		t.Fatal("decoder did not recover after an oversized packet")
	}
}

func TestAppendPacketChecksum(t *testing.T) {
	// Known values, as gdb computes them (e.g. its "$g#67").
	for in, want := range map[string]string{"g": "$g#67", "qC": "$qC#b4", "": "$#00", "OK": "$OK#9a"} {
		if got := string(AppendPacket(nil, []byte(in))); got != want {
			t.Errorf("AppendPacket(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	data := []byte{'$', '#', '}', '*', 0, 0xff, 'a', 0x03}
	esc := AppendEscaped(nil, data)
	if bytes.ContainsAny(esc, "$#*") {
		t.Fatalf("escaped data %q still has special bytes", esc)
	}
	back, err := Unescape(esc)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("Unescape = %q, %v", back, err)
	}
	if _, err := Unescape([]byte("ab}")); err == nil {
		t.Fatal("a trailing escape must be an error")
	}
	// An escaped packet survives framing.
	var d Decoder
	got := feedAll(&d, AppendPacket(nil, append([]byte("X1000,8:"), esc...)))
	if len(got) != 1 || got[0].Kind != FramePacket {
		t.Fatalf("escaped packet framing: %+v", got)
	}
}

func TestDecodeRLE(t *testing.T) {
	for in, want := range map[string]string{
		"0* ":   "0000",       // the GDB manual's example
		"a*\"b": "aaaaaab",    // '"' = 34: 5 more
		"xy":    "xy",         // nothing to expand
		"}]*!":  "}]}]}]}]}]", // an escape pair is repeated whole
		"00*~":  "00" + repeat('0', 97),
	} {
		got, err := DecodeRLE([]byte(in))
		if want == "" {
			if err == nil {
				t.Errorf("DecodeRLE(%q) = %q, want error", in, got)
			}
			continue
		}
		if err != nil || string(got) != want {
			t.Errorf("DecodeRLE(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"*a", "a*", "a*\x01"} {
		if _, err := DecodeRLE([]byte(bad)); err == nil {
			t.Errorf("DecodeRLE(%q) must fail", bad)
		}
	}
}

func repeat(c byte, n int) string { return string(bytes.Repeat([]byte{c}, n)) }

// FuzzDecoder: any byte stream decodes without panic, every packet frame
// re-encodes to bytes that decode to the same frame, and escape/RLE
// decoding of arbitrary payloads never panics.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{"$g#67", "+-\x03", "$X1000,2:}]}\x03#00", "%Stop:T05#aa", "$0* #00", "$}#00", "$" + repeat('a', 100) + "#ff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var d Decoder
		for _, fr := range feedAll(&d, in) {
			if fr.Kind != FramePacket {
				continue
			}
			var d2 Decoder
			again := feedAll(&d2, AppendPacket(nil, fr.Data))
			if len(again) != 1 || !bytes.Equal(again[0].Data, fr.Data) {
				t.Fatalf("re-encoding %q gave %+v", fr.Data, again)
			}
			DecodeRLE(fr.Data)
			Unescape(fr.Data)
		}
		if esc, err := Unescape(AppendEscaped(nil, in)); err != nil || !bytes.Equal(esc, in) {
			t.Fatalf("escape round trip of %q: %q, %v", in, esc, err)
		}
	})
}
