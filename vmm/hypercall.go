package vmm

import (
	"encoding/binary"
	"fmt"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// The ukw hypercall ABI (layers/README.md, "Hypercalls").
const (
	HypercallPort    = 0x0ec0
	HypercallMagic   = 0x48574b55 // "UKWH"
	HypercallVersion = 1
	hcHeader         = 16
	hcMaxSize        = 64 << 10

	HcHello     = 1
	HcCrash     = 2
	HcBreak     = 3
	HcDebug     = 4
	HcTraceRing = 5
	HcConsole   = 6

	hcStatusOK         = 0
	hcStatusUnknown    = 1
	hcStatusBadPayload = 2

	// GuestFeatureBreak etc. are HELLO guest_features bits.
	GuestFeatureBreak = 1 << 0
	GuestFeatureDebug = 1 << 1
	GuestFeatureCrash = 1 << 2
	// HostFeatureUARTReady etc. are HELLO host_features bits.
	HostFeatureUARTReady = 1 << 0
	HostFeatureBreak     = 1 << 1
	HostFeatureConsole   = 1 << 2 // the CONSOLE hypercall writes a buffer in one exit
	// ConsoleMax is the most bytes one CONSOLE hypercall carries.
	ConsoleMax = 64 << 10

	frameSize     = 176
	crashSize     = 224
	crashMaxStack = 512
)

// hypercall is a decoded, validated hypercall block.
type hypercall struct {
	addr uint64
	nr   uint16
	size uint32
	body []byte // the whole block, header included, inside guest RAM
}

// hcError is a block the VMM refused; strict says whether it is the
// guest's fault in a way that --strict-io turns into a FaultHypercall.
type hcError struct{ msg string }

func (e *hcError) Error() string { return e.msg }

// parseHypercall validates the block at addr in mem: 8-byte aligned,
// below 4 GiB, header and size inside guest RAM, size at most 64 KiB,
// magic and version right.
func parseHypercall(mem []byte, addr uint64) (*hypercall, error) {
	le := binary.LittleEndian
	ram := uint64(len(mem))
	switch {
	case addr%8 != 0:
		return nil, &hcError{fmt.Sprintf("hypercall block %#x is not 8-byte aligned", addr)}
	case addr >= 1<<32:
		return nil, &hcError{fmt.Sprintf("hypercall block %#x is above 4 GiB", addr)}
	case addr+hcHeader > ram:
		return nil, &hcError{fmt.Sprintf("hypercall block %#x lies outside guest RAM (%d MiB)", addr, ram>>20)}
	}
	h := mem[addr:]
	if m := le.Uint32(h); m != HypercallMagic {
		return nil, &hcError{fmt.Sprintf("hypercall block %#x has magic %#x, want %#x", addr, m, HypercallMagic)}
	}
	if v := le.Uint16(h[6:]); v != HypercallVersion {
		return nil, &hcError{fmt.Sprintf("hypercall block %#x has version %d, want %d", addr, v, HypercallVersion)}
	}
	size := le.Uint32(h[8:])
	if size < hcHeader || size > hcMaxSize {
		return nil, &hcError{fmt.Sprintf("hypercall block %#x has size %d, want %d..%d", addr, size, hcHeader, hcMaxSize)}
	}
	if addr+uint64(size) > ram {
		return nil, &hcError{fmt.Sprintf("hypercall block [%#x,+%d) runs past guest RAM", addr, size)}
	}
	return &hypercall{addr: addr, nr: le.Uint16(h[4:]), size: size, body: mem[addr : addr+uint64(size)]}, nil
}

func (h *hypercall) setStatus(s uint32) { binary.LittleEndian.PutUint32(h.body[12:], s) }

// payload returns the payload if it holds at least n bytes.
func (h *hypercall) payload(n int) ([]byte, bool) {
	p := h.body[hcHeader:]
	if len(p) < n {
		return nil, false
	}
	return p, true
}

// Frame is struct ukw_frame (layers/README.md): the registers an exception
// stub saved, at these byte offsets.
type Frame struct {
	Regs      kvm.Regs
	Vector    uint64
	ErrorCode uint64
	CS, SS    uint64
}

// frameOffsets maps struct ukw_frame offsets to kvm.Regs fields.
func decodeFrame(b []byte) Frame {
	le := binary.LittleEndian
	q := func(off int) uint64 { return le.Uint64(b[off:]) }
	var f Frame
	r := &f.Regs
	r.R15, r.R14, r.R13, r.R12 = q(0), q(8), q(16), q(24)
	r.R11, r.R10, r.R9, r.R8 = q(32), q(40), q(48), q(56)
	r.RBP, r.RDI, r.RSI, r.RDX = q(64), q(72), q(80), q(88)
	r.RCX, r.RBX, r.RAX = q(96), q(104), q(112)
	f.Vector, f.ErrorCode = q(120), q(128)
	r.RIP, f.CS, r.RFLAGS, r.RSP, f.SS = q(136), q(144), q(152), q(160), q(168)
	return f
}

// crashFault turns a CRASH payload (struct ukw_crash) into a Fault.
func crashFault(p []byte) (guest.Fault, error) {
	if len(p) < crashSize {
		return guest.Fault{}, fmt.Errorf("CRASH payload is %d bytes, struct ukw_crash needs %d", len(p), crashSize)
	}
	le := binary.LittleEndian
	fr := decodeFrame(p)
	stackAddr := le.Uint64(p[208:])
	stackLen := le.Uint32(p[216:])
	if stackLen > crashMaxStack {
		return guest.Fault{}, fmt.Errorf("CRASH stack_len %d exceeds %d", stackLen, crashMaxStack)
	}
	if crashSize+int(stackLen) > len(p) {
		return guest.Fault{}, fmt.Errorf("CRASH stack_len %d runs past the %d-byte payload", stackLen, len(p))
	}
	if fr.Vector > 255 {
		return guest.Fault{}, fmt.Errorf("CRASH vector %d is not an x86 vector", fr.Vector)
	}
	f := guest.Fault{
		Kind:      guest.FaultException,
		Vector:    int(fr.Vector),
		ErrorCode: fr.ErrorCode,
		Regs:      regsFromKVM(&fr.Regs),
		StackAddr: stackAddr,
		Stack:     append([]byte(nil), p[crashSize:crashSize+int(stackLen)]...),
	}
	f.Regs.CS.Selector, f.Regs.SS.Selector = uint16(fr.CS), uint16(fr.SS)
	f.Regs.CR0, f.Regs.CR2, f.Regs.CR3, f.Regs.CR4 = le.Uint64(p[176:]), le.Uint64(p[184:]), le.Uint64(p[192:]), le.Uint64(p[200:])
	f.Detail = "reported by the guest's exception handler"
	return f, nil
}

// traceRing decodes a TRACE_RING payload and checks the ring lies in RAM.
func traceRing(p []byte, ram uint64) (guest.TraceRing, error) {
	if len(p) < 24 {
		return guest.TraceRing{}, fmt.Errorf("TRACE_RING payload is %d bytes, need 24", len(p))
	}
	le := binary.LittleEndian
	r := guest.TraceRing{Addr: le.Uint64(p), Size: le.Uint64(p[8:]), Flags: le.Uint64(p[16:])}
	if r.Size == 0 || r.Addr > ram || r.Size > ram-r.Addr {
		return guest.TraceRing{}, fmt.Errorf("TRACE_RING [%#x,+%#x) is not inside guest RAM", r.Addr, r.Size)
	}
	return r, nil
}

// consoleBytes returns the len bytes at phys addr that a CONSOLE hypercall
// names, checked to lie inside guest RAM and within ConsoleMax.
func consoleBytes(mem []byte, addr, n uint64) ([]byte, error) {
	if n > ConsoleMax {
		return nil, fmt.Errorf("CONSOLE of %d bytes, at most %d", n, ConsoleMax)
	}
	if addr > uint64(len(mem)) || n > uint64(len(mem))-addr {
		return nil, fmt.Errorf("CONSOLE buffer [%#x,+%d) is not inside guest RAM", addr, n)
	}
	return mem[addr : addr+n], nil
}
