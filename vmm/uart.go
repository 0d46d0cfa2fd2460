package vmm

// uart models a 16550A UART (National Semiconductor PC16550D data sheet;
// register map as in Linux's include/uapi/linux/serial_reg.h). The
// transmitter is always ready: a byte written to THR leaves at once, so LSR
// always reports THRE and TEMT (layers/README.md). The model is pure: the
// caller forwards output bytes and the interrupt line level.
type uart struct {
	ier, lcr, mcr, scr, fcr uint8
	dll, dlm                uint8
	rx                      []byte
	thre                    bool // THR-empty interrupt pending (16550: set when THR empties)
}

// UART register offsets from the base port (0x3f8 for COM1).
const (
	uartRBR = 0 // receive buffer (read), THR (write), DLL when LCR.DLAB
	uartIER = 1 // interrupt enable, DLM when LCR.DLAB
	uartIIR = 2 // interrupt identification (read), FCR (write)
	uartLCR = 3
	uartMCR = 4
	uartLSR = 5
	uartMSR = 6
	uartSCR = 7

	lcrDLAB    = 0x80
	mcrLoop    = 0x10
	ierRDI     = 0x01
	ierTHRI    = 0x02
	lsrDR      = 0x01
	lsrTHRE    = 0x20
	lsrTEMT    = 0x40
	iirNone    = 0x01
	iirTHRI    = 0x02
	iirRDI     = 0x04
	iirFIFO    = 0xc0
	fcrEnable  = 0x01
	fcrClearRx = 0x02

	// uartRxMax bounds the receive buffer fed by WriteConsole.
	uartRxMax = 4096
)

// write handles an out to base+off. It returns the byte to transmit, if any.
func (u *uart) write(off uint16, v uint8) (tx byte, ok bool) {
	switch off {
	case uartRBR:
		if u.lcr&lcrDLAB != 0 {
			u.dll = v
			return 0, false
		}
		u.thre = true
		if u.mcr&mcrLoop != 0 {
			u.push(v)
			return 0, false
		}
		return v, true
	case uartIER:
		if u.lcr&lcrDLAB != 0 {
			u.dlm = v
			return 0, false
		}
		if v&ierTHRI != 0 && u.ier&ierTHRI == 0 {
			u.thre = true // enabling THRI with THR empty raises it at once
		}
		u.ier = v & 0x0f
	case uartIIR:
		u.fcr = v
		if v&fcrClearRx != 0 {
			u.rx = u.rx[:0]
		}
	case uartLCR:
		u.lcr = v
	case uartMCR:
		u.mcr = v & 0x1f
	case uartSCR:
		u.scr = v
	}
	return 0, false
}

// read handles an in from base+off.
func (u *uart) read(off uint16) uint8 {
	switch off {
	case uartRBR:
		if u.lcr&lcrDLAB != 0 {
			return u.dll
		}
		if len(u.rx) == 0 {
			return 0
		}
		b := u.rx[0]
		u.rx = u.rx[1:]
		return b
	case uartIER:
		if u.lcr&lcrDLAB != 0 {
			return u.dlm
		}
		return u.ier
	case uartIIR:
		id := u.iir()
		if id == iirTHRI {
			u.thre = false // reading IIR clears a THRE interrupt
		}
		if u.fcr&fcrEnable != 0 {
			id |= iirFIFO
		}
		return id
	case uartLCR:
		return u.lcr
	case uartMCR:
		return u.mcr
	case uartLSR:
		l := uint8(lsrTHRE | lsrTEMT)
		if len(u.rx) > 0 {
			l |= lsrDR
		}
		return l
	case uartMSR:
		if u.mcr&mcrLoop != 0 {
			// Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
			m := u.mcr
			return (m&0x01)<<5 | (m&0x02)<<3 | (m&0x04)<<4 | (m&0x08)<<4
		}
		return 0xb0 // DCD, DSR, CTS
	case uartSCR:
		return u.scr
	}
	return 0xff
}

// iir returns the highest-priority pending interrupt (data sheet table 4).
func (u *uart) iir() uint8 {
	if u.ier&ierRDI != 0 && len(u.rx) > 0 {
		return iirRDI
	}
	if u.ier&ierTHRI != 0 && u.thre {
		return iirTHRI
	}
	return iirNone
}

// irq reports the interrupt line level (IRQ 4 for COM1).
func (u *uart) irq() bool { return u.iir() != iirNone }

// push queues received bytes; it returns how many fit.
func (u *uart) push(p ...byte) int {
	n := uartRxMax - len(u.rx)
	if n > len(p) {
		n = len(p)
	}
	if n > 0 {
		u.rx = append(u.rx, p[:n]...)
	}
	return n
}
