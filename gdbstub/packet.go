package gdbstub

import (
	"errors"
	"fmt"
)

// The framing of the GDB Remote Serial Protocol (GDB manual, E.1 "Overview"):
// a packet is '$' data '#' two hex digits of checksum (the sum of the data
// bytes modulo 256); the receiver answers '+' (good) or '-' (resend) unless
// QStartNoAckMode is in effect (E.11 "Packet Acknowledgment"); a bare 0x03
// byte is an interrupt request (E.9 "Interrupts"); '%' starts a
// notification packet (E.10), framed like '$'.

// Special bytes of the protocol.
const (
	byteStart     = '$'
	byteNotify    = '%'
	byteEnd       = '#'
	byteEscape    = '}'
	byteRLE       = '*'
	byteAck       = '+'
	byteNack      = '-'
	byteInterrupt = 0x03
)

// MaxPacket is the largest packet payload the decoder accepts; a longer
// packet is dropped and reported as bad. It is also the PacketSize the
// server announces in qSupported.
const MaxPacket = 64 << 10

// FrameKind says what the decoder found.
type FrameKind int

// Kinds of frames.
const (
	FramePacket    FrameKind = iota // a '$' packet with a good checksum
	FrameNotify                     // a '%' notification packet with a good checksum
	FrameBad                        // a packet whose checksum was wrong or which was too long: answer '-'
	FrameAck                        // '+'
	FrameNack                       // '-': resend the last packet
	FrameInterrupt                  // 0x03
)

// Frame is one unit the decoder produced. For packets, Data is the payload
// exactly as transmitted: escapes and run-length encoding are still in it,
// because whether they apply depends on the packet (see Unescape, DecodeRLE).
type Frame struct {
	Kind FrameKind
	Data []byte
}

type decState int

const (
	stIdle decState = iota
	stData
	stSum1
	stSum2
)

// Decoder is the byte-fed state machine that splits an RSP byte stream into
// frames. Bytes outside packets other than '+', '-' and 0x03 are ignored,
// as gdb does with line noise. The zero value is ready to use.
type Decoder struct {
	state  decState
	notify bool
	buf    []byte
	sum    byte
	want   byte
	over   bool
}

// Feed consumes one byte and returns a frame when one is complete.
func (d *Decoder) Feed(b byte) (Frame, bool) {
	switch d.state {
	case stIdle:
		switch b {
		case byteStart, byteNotify:
			d.begin(b == byteNotify)
		case byteAck:
			return Frame{Kind: FrameAck}, true
		case byteNack:
			return Frame{Kind: FrameNack}, true
		case byteInterrupt:
			return Frame{Kind: FrameInterrupt}, true
		}
	case stData:
		switch b {
		case byteEnd:
			d.state = stSum1
		case byteStart:
			// A '$' never occurs unescaped inside a packet: the sender
			// gave up on the previous one and starts again.
			d.begin(false)
		default:
			d.sum += b
			if len(d.buf) >= MaxPacket {
				d.over = true
			} else {
				d.buf = append(d.buf, b)
			}
		}
	case stSum1:
		v, ok := unhex(b)
		if !ok {
			d.state = stIdle
			return Frame{Kind: FrameBad}, true
		}
		d.want = v << 4
		d.state = stSum2
	case stSum2:
		d.state = stIdle
		v, ok := unhex(b)
		if !ok || d.want|v != d.sum || d.over {
			return Frame{Kind: FrameBad}, true
		}
		k := FramePacket
		if d.notify {
			k = FrameNotify
		}
		data := make([]byte, len(d.buf))
		copy(data, d.buf)
		return Frame{Kind: k, Data: data}, true
	}
	return Frame{}, false
}

func (d *Decoder) begin(notify bool) {
	d.state = stData
	d.notify = notify
	d.buf = d.buf[:0]
	d.sum = 0
	d.over = false
}

// AppendPacket appends payload framed as '$payload#cs' to dst. The payload
// is sent as is: callers escape binary data with AppendEscaped first.
func AppendPacket(dst, payload []byte) []byte {
	dst = append(dst, byteStart)
	var sum byte
	for _, b := range payload {
		sum += b
	}
	dst = append(dst, payload...)
	return append(dst, byteEnd, hexDigits[sum>>4], hexDigits[sum&15])
}

// needsEscape reports whether b must be escaped in binary data: '#', '$',
// '}' always, and '*' because it would read as run-length encoding
// (GDB manual, E.1 "Overview", binary data).
func needsEscape(b byte) bool {
	return b == byteEnd || b == byteStart || b == byteEscape || b == byteRLE
}

// AppendEscaped appends data to dst with the binary escapes: '}' then the
// byte XOR 0x20.
func AppendEscaped(dst, data []byte) []byte {
	for _, b := range data {
		if needsEscape(b) {
			dst = append(dst, byteEscape, b^0x20)
		} else {
			dst = append(dst, b)
		}
	}
	return dst
}

// ErrBadEscape reports binary data ending in a lone escape byte.
var ErrBadEscape = errors.New("gdbstub: binary data ends in an escape byte")

// Unescape decodes binary data ('}' x → x XOR 0x20).
func Unescape(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		b := data[i]
		if b == byteEscape {
			i++
			if i == len(data) {
				return nil, ErrBadEscape
			}
			b = data[i] ^ 0x20
		}
		out = append(out, b)
	}
	return out, nil
}

// DecodeRLE expands run-length encoding in a reply: "c*n" stands for c
// followed by n-29 more copies, n a printable byte from ' ' (3 copies) to
// '~' (GDB manual, E.1 "Overview", run-length encoding). Only stubs send it,
// in replies, so only the client decodes it. When the repeated unit is an
// escape pair ('}' x) the pair is repeated, so Unescape still applies after.
func DecodeRLE(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	unit := 0 // length of the last unit in out: 1, or 2 for an escape pair
	for i := 0; i < len(data); i++ {
		b := data[i]
		if b != byteRLE {
			out = append(out, b)
			unit = 1
			if b == byteEscape && i+1 < len(data) {
				i++
				out = append(out, data[i])
				unit = 2
			}
			continue
		}
		if unit == 0 || i+1 == len(data) {
			return nil, fmt.Errorf("gdbstub: run-length marker at offset %d has no byte to repeat or no count", i)
		}
		i++
		n := int(data[i]) - 29
		if n < 3 || n > 97 {
			return nil, fmt.Errorf("gdbstub: bad run-length count %q at offset %d", data[i], i)
		}
		last := out[len(out)-unit:]
		for ; n > 0; n-- {
			out = append(out, last...)
		}
		unit = 0 // a count cannot follow a count
	}
	return out, nil
}

const hexDigits = "0123456789abcdef"

func unhex(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}
