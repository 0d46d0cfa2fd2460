package vmm

import (
	"encoding/binary"
	"fmt"
	"time"

	"ukw/guest"
	"ukw/vmm/kvm"
)

// Ports the VMM implements (layers/README.md, "I/O ports").
const (
	portCOM1      = 0x3f8
	portExit      = 0xf4
	portExitQEMU  = 0x501
	portPM1aCnt   = 0x604
	portKbdData   = 0x60
	portKbdCmd    = 0x64
	portPOST      = 0x80
	portRTCIndex  = 0x70
	portRTCData   = 0x71
	portPCIAddr   = 0xcf8
	portPCIReset  = 0xcf9
	portPCIData   = 0xcfc
	irqCOM1       = 4
	pm1SlpEn      = 0x2000
	kbdCmdReset   = 0xfe
	pciResetCPU   = 0x04
	mmioDataStart = kvm.RunUnion + 8 // kvm_run.mmio.data
)

// outcomeKind says what the vCPU loop does after an exit.
type outcomeKind int

const (
	outResume      outcomeKind = iota // re-enter the guest
	outExit                           // the guest ended (exit)
	outFault                          // the guest crashed (fault)
	outFrameStop                      // BREAK/DEBUG: restore frame, then stop
	outDebug                          // KVM_EXIT_DEBUG: classify against breakpoints
	outInterrupted                    // KVM_EXIT_INTR: look at the kick reasons
	outNeedRegs                       // fault that needs the vCPU's registers (fill fault.Regs)
	outWatch                          // a guest access touched a watchpoint (watch): complete the instruction, then stop
)

// outcome is what handling one exit decided. It carries no KVM handles.
type outcome struct {
	kind    outcomeKind
	exit    guest.Exit
	fault   guest.Fault
	console []byte
	logs    []string
	irq     *bool // new COM1 interrupt line level, if it changed
	trace   *guest.TraceRing
	hello   bool
	frame   Frame
	hcNr    uint16 // HcBreak or HcDebug for outFrameStop
	dr6     uint64
	debug   kvm.DebugExit
	watch   guest.Breakpoint
}

// devices is the VMM's device state; handle is a pure function of it, the
// decoded exit, the kvm_run page, guest RAM and the clock.
type devices struct {
	strict        bool
	uart          uart
	rtc           rtc
	pit           *pit                 // nil when KVM's in-kernel PIT serves ports 0x40-0x43 and 0x61
	clock         func() time.Duration // time since boot, for the PIT model
	pciAddr       uint32
	irqLevel      bool
	seenPort      map[uint16]bool
	seenMMIO      map[uint64]bool
	guestFeatures uint64
	watch         *watchSet // watchpoints on read-only pages and holes (watch.go); nil when none
}

// newDevices returns the device state. With userPIT (a VM without the
// in-kernel irqchip) the VMM models the PIT itself on clock.
func newDevices(strict, userPIT bool, clock func() time.Duration) *devices {
	d := &devices{strict: strict, clock: clock, seenPort: map[uint16]bool{}, seenMMIO: map[uint64]bool{}}
	if userPIT {
		d.pit = newPIT()
	}
	return d
}

// handle processes one exit. run is the kvm_run page (IN and MMIO read
// data are written back into it); mem is guest RAM.
func (d *devices) handle(e kvm.Exit, run, mem []byte) outcome {
	var o outcome
	switch e.Reason {
	case kvm.KVM_EXIT_IO:
		data, err := kvm.IOData(run, e.IO)
		if err != nil {
			return faultOutcome(guest.FaultInternalError, err.Error())
		}
		for i := 0; i < e.IO.Count && o.kind == outResume; i++ {
			chunk := data[i*e.IO.Size : (i+1)*e.IO.Size]
			if e.IO.Out {
				d.out(&o, e.IO.Port, e.IO.Size, getLE(chunk), mem)
			} else {
				putLE(chunk, d.in(&o, e.IO.Port, e.IO.Size))
			}
		}
		if lvl := d.uart.irq(); lvl != d.irqLevel {
			d.irqLevel = lvl
			o.irq = &lvl
		}
	case kvm.KVM_EXIT_MMIO:
		m := e.MMIO
		if m.Len < 1 || m.Len > 8 {
			return faultOutcome(guest.FaultInternalError, fmt.Sprintf("MMIO exit with length %d", m.Len))
		}
		if d.watch.covers(m.Addr) {
			hit, err := d.watch.access(m, run, mem)
			if err != nil {
				return faultOutcome(guest.FaultInternalError, err.Error())
			}
			if hit != nil {
				o.kind, o.watch = outWatch, *hit
			}
			return o
		}
		dir := "read"
		if m.IsWrite {
			dir = "write"
		} else {
			for i := 0; i < m.Len; i++ {
				run[mmioDataStart+i] = 0xff
			}
		}
		msg := fmt.Sprintf("unknown MMIO %s of %d bytes at %#x", dir, m.Len, m.Addr)
		if d.strict {
			return faultOutcome(guest.FaultIO, msg)
		}
		if !d.seenMMIO[m.Addr] {
			d.seenMMIO[m.Addr] = true
			o.logs = append(o.logs, msg+" (ignored; reads return all ones; logged once)")
		}
	case kvm.KVM_EXIT_HLT:
		// Only without the in-kernel irqchip (the probe VM): nothing can wake it.
		o.kind, o.exit = outExit, guest.Exit{How: guest.ExitHalted}
	case kvm.KVM_EXIT_SHUTDOWN:
		o = faultOutcome(guest.FaultTripleFault, "the vCPU shut down (triple fault: an exception while delivering a double fault, or no usable IDT)")
	case kvm.KVM_EXIT_INTERNAL_ERROR:
		if isInt3Emulation(e.Internal) {
			// kvm-pvm cannot emulate int3 in the instructions it emulates
			// after a privileged one: the int3 did not run, rip is at it.
			// Treat it as the #BP it would have been (classifyDebug).
			o.kind, o.debug = outDebug, kvm.DebugExit{Exception: vectorBreak}
			return o
		}
		o = faultOutcome(guest.FaultInternalError, internalDetail(e.Internal))
	case kvm.KVM_EXIT_FAIL_ENTRY:
		o = faultOutcome(guest.FaultInternalError, fmt.Sprintf("VM entry failed (hardware reason %#x): invalid guest state", e.Hardware))
	case kvm.KVM_EXIT_UNKNOWN:
		o = faultOutcome(guest.FaultInternalError, fmt.Sprintf("KVM_EXIT_UNKNOWN (hardware exit reason %#x)", e.Hardware))
	case kvm.KVM_EXIT_DEBUG:
		o.kind, o.debug = outDebug, e.Debug
	case kvm.KVM_EXIT_INTR:
		o.kind = outInterrupted
	case kvm.KVM_EXIT_SYSTEM_EVENT:
		switch e.EventType {
		case kvm.KVM_SYSTEM_EVENT_SHUTDOWN:
			o.kind, o.exit = outExit, guest.Exit{How: guest.ExitPowerOff}
		case kvm.KVM_SYSTEM_EVENT_RESET:
			o.kind, o.exit = outExit, guest.Exit{How: guest.ExitReset}
		default:
			o = faultOutcome(guest.FaultInternalError, fmt.Sprintf("KVM system event %d", e.EventType))
		}
	default:
		o = faultOutcome(guest.FaultInternalError, "unexpected "+kvm.ExitName(e.Reason))
	}
	return o
}

func faultOutcome(k guest.FaultKind, detail string) outcome {
	return outcome{kind: outNeedRegs, fault: guest.Fault{Kind: k, Vector: -1, Detail: detail}}
}

func internalDetail(in kvm.InternalExit) string {
	s := fmt.Sprintf("KVM_EXIT_INTERNAL_ERROR suberror %d", in.Suberror)
	switch in.Suberror {
	case kvm.KVM_INTERNAL_ERROR_EMULATION:
		s += " (instruction emulation failed; on kvm-pvm: SSE, ldmxcsr, xgetbv or int3 without a handler)"
	case kvm.KVM_INTERNAL_ERROR_SIMUL_EX:
		s += " (exception while delivering an exception)"
	case kvm.KVM_INTERNAL_ERROR_DELIVERY_EV:
		s += " (exit while delivering an event)"
	}
	if b := emulationBytes(in); b != nil {
		s += fmt.Sprintf(", instruction bytes % x", b)
	} else if len(in.Data) > 0 {
		s += fmt.Sprintf(", data %#x", in.Data)
	}
	return s
}

// emulationBytes returns the instruction bytes of an emulation failure
// (struct emulation_failure: flags, then insn_size and insn_bytes[15]).
func emulationBytes(in kvm.InternalExit) []byte {
	if in.Suberror != kvm.KVM_INTERNAL_ERROR_EMULATION || len(in.Data) < 3 || in.Data[0]&1 == 0 {
		return nil
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], in.Data[1])
	binary.LittleEndian.PutUint64(b[8:], in.Data[2])
	n := min(int(b[0]), 15)
	return append([]byte(nil), b[1:1+n]...)
}

func isInt3Emulation(in kvm.InternalExit) bool {
	b := emulationBytes(in)
	return len(b) > 0 && b[0] == int3
}

func getLE(b []byte) uint32 {
	switch len(b) {
	case 1:
		return uint32(b[0])
	case 2:
		return uint32(binary.LittleEndian.Uint16(b))
	}
	return binary.LittleEndian.Uint32(b)
}

func putLE(b []byte, v uint32) {
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	default:
		binary.LittleEndian.PutUint32(b, v)
	}
}

func (d *devices) unknown(o *outcome, what string, port uint16) {
	msg := fmt.Sprintf("unknown I/O port %#x (%s)", port, what)
	if d.strict {
		*o = faultOutcome(guest.FaultIO, msg)
		return
	}
	if !d.seenPort[port] {
		d.seenPort[port] = true
		o.logs = append(o.logs, msg+": ignored, reads return all ones (logged once)")
	}
}

func (d *devices) out(o *outcome, port uint16, size int, v uint32, mem []byte) {
	switch {
	case port >= portCOM1 && port < portCOM1+8:
		if b, ok := d.uart.write(port-portCOM1, uint8(v)); ok {
			o.console = append(o.console, b)
		}
	case port == portExit || port == portExitQEMU:
		o.kind, o.exit = outExit, guest.Exit{How: guest.ExitPort, Status: int(v), Port: port}
	case port == portPM1aCnt:
		if v&pm1SlpEn != 0 {
			o.kind, o.exit = outExit, guest.Exit{How: guest.ExitPowerOff, Port: port}
		}
	case port == portKbdCmd:
		if uint8(v) == kbdCmdReset {
			o.kind, o.exit = outExit, guest.Exit{How: guest.ExitReset, Port: port}
		}
	case port == portPCIReset && size == 1:
		if v&pciResetCPU != 0 {
			o.kind, o.exit = outExit, guest.Exit{How: guest.ExitReset, Port: port}
		}
	case port == portPCIAddr && size == 4:
		d.pciAddr = v
	case port >= portPCIAddr && port < portPCIData+4, port == portPOST, port == portKbdData, port == portRTCData:
		// PCI config with no devices, POST codes, keyboard data, CMOS writes: ignored.
	case port == portRTCIndex:
		d.rtc.index = uint8(v)
	case d.pit != nil && (port >= portPIT0 && port <= portPITCtl || port == portSysCtlB):
		d.pit.write(port, uint8(v), d.clock())
	case port == HypercallPort:
		if size != 4 {
			d.badHypercall(o, fmt.Sprintf("hypercall port written with a %d-byte out, want a 4-byte outl", size))
			return
		}
		d.hypercall(o, uint64(v), mem)
	default:
		d.unknown(o, fmt.Sprintf("out%s %#x", sizeSuffix(size), v), port)
	}
}

func (d *devices) in(o *outcome, port uint16, size int) uint32 {
	switch {
	case port >= portCOM1 && port < portCOM1+8:
		return uint32(d.uart.read(port - portCOM1))
	case port == portPCIAddr && size == 4:
		return d.pciAddr
	case port >= portPCIAddr && port < portPCIData+4:
		return 0xffffffff // no PCI devices
	case port == portKbdCmd, port == portKbdData:
		return 0 // keyboard controller: nothing to read, ready for commands
	case port == portRTCIndex:
		return uint32(d.rtc.index)
	case port == portRTCData:
		return uint32(d.rtc.read())
	case d.pit != nil && (port >= portPIT0 && port <= portPITCtl || port == portSysCtlB):
		return uint32(d.pit.read(port, d.clock()))
	case port == portPM1aCnt:
		return 0
	case port == portPOST, port == portExit, port == portExitQEMU, port == HypercallPort:
		return 0xffffffff
	}
	d.unknown(o, "in"+sizeSuffix(size), port)
	return 0xffffffff
}

func sizeSuffix(size int) string {
	switch size {
	case 2:
		return "w"
	case 4:
		return "l"
	}
	return "b"
}

func (d *devices) badHypercall(o *outcome, msg string) {
	if d.strict {
		*o = faultOutcome(guest.FaultHypercall, msg)
		return
	}
	o.logs = append(o.logs, "bad hypercall refused: "+msg)
}

// hypercall runs the block at addr (layers/README.md, "Hypercalls").
func (d *devices) hypercall(o *outcome, addr uint64, mem []byte) {
	hc, err := parseHypercall(mem, addr)
	if err != nil {
		d.badHypercall(o, err.Error())
		return
	}
	le := binary.LittleEndian
	bad := func(msg string) {
		hc.setStatus(hcStatusBadPayload)
		d.badHypercall(o, msg)
	}
	switch hc.nr {
	case HcHello:
		p, ok := hc.payload(16)
		if !ok {
			bad(fmt.Sprintf("HELLO block of %d bytes, need %d", hc.size, hcHeader+16))
			return
		}
		d.guestFeatures = le.Uint64(p)
		le.PutUint64(p[8:], HostFeatureUARTReady|HostFeatureBreak|HostFeatureConsole)
		hc.setStatus(hcStatusOK)
		o.hello = true
	case HcCrash:
		p, _ := hc.payload(0)
		f, err := crashFault(p)
		if err != nil {
			bad(err.Error())
			return
		}
		hc.setStatus(hcStatusOK)
		o.kind, o.fault = outFault, f
	case HcBreak, HcDebug:
		need := frameSize
		if hc.nr == HcDebug {
			need += 8
		}
		p, ok := hc.payload(need)
		if !ok {
			bad(fmt.Sprintf("%s block of %d bytes, need %d", map[uint16]string{HcBreak: "BREAK", HcDebug: "DEBUG"}[hc.nr], hc.size, hcHeader+need))
			return
		}
		hc.setStatus(hcStatusOK)
		o.kind, o.frame, o.hcNr = outFrameStop, decodeFrame(p), hc.nr
		if hc.nr == HcDebug {
			o.dr6 = le.Uint64(p[frameSize:])
		}
	case HcConsole:
		p, ok := hc.payload(16)
		if !ok {
			bad(fmt.Sprintf("CONSOLE block of %d bytes, need %d", hc.size, hcHeader+16))
			return
		}
		b, err := consoleBytes(mem, le.Uint64(p), le.Uint64(p[8:]))
		if err != nil {
			bad(err.Error())
			return
		}
		hc.setStatus(hcStatusOK)
		o.console = append(o.console, b...)
	case HcTraceRing:
		p, _ := hc.payload(0)
		r, err := traceRing(p, uint64(len(mem)))
		if err != nil {
			bad(err.Error())
			return
		}
		hc.setStatus(hcStatusOK)
		o.trace = &r
	default:
		hc.setStatus(hcStatusUnknown)
		o.logs = append(o.logs, fmt.Sprintf("unknown hypercall nr %d at %#x (status 1)", hc.nr, addr))
	}
}
