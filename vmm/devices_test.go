package vmm

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"ukw/guest"
	"ukw/vmm/kvm"
)

func TestUARTRegisters(t *testing.T) {
	var u uart
	// Transmit: THR out, LSR always THRE|TEMT.
	if b, ok := u.write(uartRBR, 'x'); !ok || b != 'x' {
		t.Fatal("THR write did not transmit")
	}
	if l := u.read(uartLSR); l != lsrTHRE|lsrTEMT {
		t.Fatalf("LSR %#x", l)
	}
	// DLAB: offsets 0 and 1 become the divisor latch.
	u.write(uartLCR, 0x83)
	if _, ok := u.write(uartRBR, 0x01); ok {
		t.Fatal("DLL write transmitted")
	}
	u.write(uartIER, 0x02)
	if u.read(uartRBR) != 0x01 || u.read(uartIER) != 0x02 || u.dll != 1 || u.dlm != 2 {
		t.Fatal("divisor latch")
	}
	u.write(uartLCR, 0x03)
	if u.read(uartLCR) != 0x03 || u.read(uartIER) != 0 {
		t.Fatal("LCR/IER after DLAB")
	}
	// Interrupts: enabling THRI raises a THRE interrupt; reading IIR clears it.
	if u.irq() || u.read(uartIIR) != iirNone {
		t.Fatal("interrupt without IER")
	}
	u.write(uartIER, ierTHRI)
	if !u.irq() || u.read(uartIIR) != iirTHRI {
		t.Fatal("no THRE interrupt after enabling THRI")
	}
	if u.irq() || u.read(uartIIR) != iirNone {
		t.Fatal("THRE interrupt not cleared by reading IIR")
	}
	u.write(uartRBR, 'y')
	if !u.irq() {
		t.Fatal("no THRE interrupt after a transmit")
	}
	// Receive: data ready and RDI has priority over THRE.
	u.write(uartIER, ierRDI|ierTHRI)
	u.push('a', 'b')
	if u.read(uartLSR)&lsrDR == 0 || u.read(uartIIR) != iirRDI {
		t.Fatal("receive interrupt")
	}
	if u.read(uartRBR) != 'a' || u.read(uartRBR) != 'b' || u.read(uartLSR)&lsrDR != 0 {
		t.Fatal("receive order")
	}
	// FIFO: FCR enable shows in IIR bits 6-7; clear empties the receiver.
	u.push('z')
	u.write(uartIIR, fcrEnable|fcrClearRx)
	if u.read(uartLSR)&lsrDR != 0 || u.read(uartIIR)&iirFIFO != iirFIFO {
		t.Fatal("FCR")
	}
	// Loopback (Linux 8250 probing): THR comes back on RBR; MSR mirrors MCR.
	u.write(uartMCR, mcrLoop|0x0a) // RTS, OUT2
	if _, ok := u.write(uartRBR, 'L'); ok {
		t.Fatal("loopback byte reached the console")
	}
	if u.read(uartRBR) != 'L' {
		t.Fatal("loopback")
	}
	if m := u.read(uartMSR); m != 0x90 { // CTS, DCD
		t.Fatalf("loopback MSR %#x", m)
	}
	u.write(uartMCR, 0)
	if u.read(uartMSR) != 0xb0 {
		t.Fatal("MSR")
	}
	u.write(uartSCR, 0x5a)
	if u.read(uartSCR) != 0x5a {
		t.Fatal("scratch")
	}
	if n := u.push(make([]byte, uartRxMax*2)...); n != uartRxMax {
		t.Fatalf("receiver took %d bytes", n)
	}
}

func TestRTC(t *testing.T) {
	r := rtc{now: func() time.Time { return time.Date(2026, 11, 28, 17, 45, 59, 0, time.UTC) }}
	for idx, want := range map[uint8]uint8{0: 0x59, 2: 0x45, 4: 0x17, 7: 0x28, 8: 0x11, 9: 0x26, 0x32: 0x20, 0x0a: 0x26, 0x0b: 0x02, 0x0d: 0x80} {
		r.index = idx
		if got := r.read(); got != want {
			t.Errorf("CMOS %#x = %#x, want %#x", idx, got, want)
		}
	}
}

// ioExit builds a kvm_run page holding an IO exit with data at 0x100.
func ioExit(out bool, port uint16, size int, data []byte) (kvm.Exit, []byte) {
	run := make([]byte, 4096)
	copy(run[0x100:], data)
	count := len(data) / size
	if count == 0 {
		count = 1
	}
	return kvm.Exit{Reason: kvm.KVM_EXIT_IO, IO: kvm.IOExit{Out: out, Size: size, Port: port, Count: count, DataOffset: 0x100}}, run
}

func TestHandleIO(t *testing.T) {
	mem := make([]byte, 4<<20)
	d := newDevices(false, false, nil)
	e, run := ioExit(true, 0x3f8, 1, []byte("hi!"))
	if o := d.handle(e, run, mem); o.kind != outResume || string(o.console) != "hi!" {
		t.Fatalf("rep outsb to COM1: %+v", o)
	}
	for _, c := range []struct {
		port uint16
		size int
		data []byte
		how  guest.ExitHow
		st   int
	}{
		{0xf4, 1, []byte{7}, guest.ExitPort, 7},
		{0xf4, 4, u32(0x1234), guest.ExitPort, 0x1234},
		{0x501, 2, []byte{3, 0}, guest.ExitPort, 3},
		{0x604, 2, []byte{0x00, 0x20}, guest.ExitPowerOff, 0},
		{0x64, 1, []byte{0xfe}, guest.ExitReset, 0},
		{0xcf9, 1, []byte{0x06}, guest.ExitReset, 0},
	} {
		e, run := ioExit(true, c.port, c.size, c.data)
		o := d.handle(e, run, mem)
		if o.kind != outExit || o.exit.How != c.how || o.exit.Status != c.st {
			t.Errorf("out %#x: %+v", c.port, o)
		}
	}
	// PCI: the address latch reads back, data reads all ones.
	e, run = ioExit(true, 0xcf8, 4, u32(0x80000000))
	d.handle(e, run, mem)
	e, run = ioExit(false, 0xcf8, 4, make([]byte, 4))
	d.handle(e, run, mem)
	if binary.LittleEndian.Uint32(run[0x100:]) != 0x80000000 {
		t.Fatal("PCI address latch")
	}
	e, run = ioExit(false, 0xcfc, 4, make([]byte, 4))
	d.handle(e, run, mem)
	if binary.LittleEndian.Uint32(run[0x100:]) != 0xffffffff {
		t.Fatal("PCI data")
	}
	// Unknown port: all ones, logged once.
	e, run = ioExit(false, 0x1234, 2, make([]byte, 2))
	o := d.handle(e, run, mem)
	if run[0x100] != 0xff || run[0x101] != 0xff || len(o.logs) != 1 {
		t.Fatalf("unknown in: % x, logs %q", run[0x100:0x102], o.logs)
	}
	if o := d.handle(e, run, mem); len(o.logs) != 0 {
		t.Fatal("unknown port logged twice")
	}
	strict := newDevices(true, false, nil)
	if o := strict.handle(e, run, mem); o.kind != outNeedRegs || o.fault.Kind != guest.FaultIO {
		t.Fatalf("strict unknown port: %+v", o)
	}
	// COM1 interrupt line follows IER and THR.
	e, run = ioExit(true, 0x3f9, 1, []byte{ierTHRI})
	if o := d.handle(e, run, mem); o.irq == nil || !*o.irq {
		t.Fatal("IRQ 4 not raised")
	}
	e, run = ioExit(false, 0x3fa, 1, []byte{0})
	if o := d.handle(e, run, mem); o.irq == nil || *o.irq || run[0x100] != iirTHRI {
		t.Fatalf("IRQ 4 not lowered by reading IIR (%#x)", run[0x100])
	}
	// A bad data offset is an internal error, not a panic.
	e, run = ioExit(true, 0xf4, 4, u32(1))
	e.IO.DataOffset = 1 << 40
	if o := d.handle(e, run, mem); o.fault.Kind != guest.FaultInternalError {
		t.Fatalf("bad data offset: %+v", o)
	}
}

func TestHandleOtherExits(t *testing.T) {
	mem := make([]byte, 4<<20)
	run := make([]byte, 4096)
	d := newDevices(false, false, nil)
	o := d.handle(kvm.Exit{Reason: kvm.KVM_EXIT_MMIO, MMIO: kvm.MMIOExit{Addr: 0xd0000000, Len: 4}}, run, mem)
	if o.kind != outResume || len(o.logs) != 1 || run[mmioDataStart] != 0xff || run[mmioDataStart+3] != 0xff || run[mmioDataStart+4] != 0 {
		t.Fatalf("MMIO read: %+v % x", o, run[mmioDataStart:mmioDataStart+8])
	}
	for _, c := range []struct {
		e    kvm.Exit
		kind outcomeKind
		f    guest.FaultKind
		want string
	}{
		{kvm.Exit{Reason: kvm.KVM_EXIT_SHUTDOWN}, outNeedRegs, guest.FaultTripleFault, "triple fault"},
		{kvm.Exit{Reason: kvm.KVM_EXIT_FAIL_ENTRY, Hardware: 33}, outNeedRegs, guest.FaultInternalError, "0x21"},
		{kvm.Exit{Reason: kvm.KVM_EXIT_INTERNAL_ERROR, Internal: kvm.InternalExit{Suberror: 1, Data: []uint64{1, 0xe0df02, 0}}}, outNeedRegs, guest.FaultInternalError, "instruction bytes df e0"},
		{kvm.Exit{Reason: kvm.KVM_EXIT_MMIO, MMIO: kvm.MMIOExit{Len: 9}}, outNeedRegs, guest.FaultInternalError, "length 9"},
		{kvm.Exit{Reason: 99}, outNeedRegs, guest.FaultInternalError, "KVM_EXIT_99"},
	} {
		o := d.handle(c.e, run, mem)
		if o.kind != c.kind || o.fault.Kind != c.f || !strings.Contains(o.fault.Detail, c.want) {
			t.Errorf("%s: %+v", kvm.ExitName(c.e.Reason), o)
		}
	}
	// int3 the emulator could not run is a #BP, not a fault.
	o = d.handle(kvm.Exit{Reason: kvm.KVM_EXIT_INTERNAL_ERROR, Internal: kvm.InternalExit{Suberror: 1, Data: []uint64{1, 0xcc01, 0}}}, run, mem)
	if o.kind != outDebug || o.debug.Exception != 3 {
		t.Fatalf("int3 emulation failure: %+v", o)
	}
	o = d.handle(kvm.Exit{Reason: kvm.KVM_EXIT_DEBUG, Debug: kvm.DebugExit{Exception: 1, DR6: 0x4000}}, run, mem)
	if o.kind != outDebug || o.debug.DR6 != 0x4000 {
		t.Fatalf("debug exit: %+v", o)
	}
}

// hcBlock writes a hypercall block at addr and returns its outl exit.
func hcBlock(mem []byte, addr uint64, nr uint16, payload []byte) (kvm.Exit, []byte) {
	le := binary.LittleEndian
	b := mem[addr:]
	le.PutUint32(b, HypercallMagic)
	le.PutUint16(b[4:], nr)
	le.PutUint16(b[6:], 1)
	le.PutUint32(b[8:], uint32(16+len(payload)))
	le.PutUint32(b[12:], 0xffffffff)
	copy(b[16:], payload)
	return ioExit(true, HypercallPort, 4, u32(uint32(addr)))
}

func TestHypercalls(t *testing.T) {
	le := binary.LittleEndian
	mem := make([]byte, 4<<20)
	d := newDevices(false, false, nil)
	e, run := hcBlock(mem, 0x200000, HcHello, append(u64(7), u64(0)...))
	if o := d.handle(e, run, mem); !o.hello || d.guestFeatures != 7 || le.Uint64(mem[0x200018:]) != HostFeatureUARTReady|HostFeatureBreak|HostFeatureConsole || le.Uint32(mem[0x20000c:]) != 0 {
		t.Fatalf("HELLO: %+v", o)
	}
	e, run = hcBlock(mem, 0x200000, 77, nil)
	if o := d.handle(e, run, mem); o.kind != outResume || le.Uint32(mem[0x20000c:]) != hcStatusUnknown || len(o.logs) != 1 {
		t.Fatalf("unknown nr: %+v", o)
	}
	e, run = hcBlock(mem, 0x200000, HcTraceRing, append(append(u64(0x300000), u64(0x1000)...), u64(1)...))
	if o := d.handle(e, run, mem); o.trace == nil || o.trace.Addr != 0x300000 || o.trace.Size != 0x1000 {
		t.Fatalf("TRACE_RING: %+v", o)
	}
	e, run = hcBlock(mem, 0x200000, HcTraceRing, append(append(u64(0x3ff000), u64(0x2000)...), u64(1)...))
	if o := d.handle(e, run, mem); o.trace != nil || le.Uint32(mem[0x20000c:]) != hcStatusBadPayload {
		t.Fatalf("TRACE_RING past RAM accepted: %+v", o)
	}
	// CONSOLE: a buffer in guest RAM goes out in one exit; one that is not
	// inside RAM or too long is refused with status 2.
	copy(mem[0x300000:], "one exit\n")
	e, run = hcBlock(mem, 0x200000, HcConsole, append(u64(0x300000), u64(9)...))
	if o := d.handle(e, run, mem); string(o.console) != "one exit\n" || le.Uint32(mem[0x20000c:]) != hcStatusOK {
		t.Fatalf("CONSOLE: %+v", o)
	}
	for _, c := range [][2]uint64{{0x3ffff0, 17}, {1 << 40, 1}, {0x300000, ConsoleMax + 1}, {0x10, ^uint64(0)}} {
		e, run = hcBlock(mem, 0x200000, HcConsole, append(u64(c[0]), u64(c[1])...))
		if o := d.handle(e, run, mem); len(o.console) != 0 || le.Uint32(mem[0x20000c:]) != hcStatusBadPayload || len(o.logs) != 1 {
			t.Fatalf("CONSOLE [%#x,+%d) accepted: %+v", c[0], c[1], o)
		}
	}
	e, run = hcBlock(mem, 0x200000, HcConsole, u64(0x300000)) // no len
	if o := d.handle(e, run, mem); len(o.console) != 0 || le.Uint32(mem[0x20000c:]) != hcStatusBadPayload {
		t.Fatalf("short CONSOLE accepted: %+v", o)
	}
	// CRASH: a frame with rip, cr2 and a stack copy.
	crash := make([]byte, crashSize+16)
	le.PutUint64(crash[120:], 14)       // vector
	le.PutUint64(crash[128:], 2)        // error code
	le.PutUint64(crash[136:], 0x101000) // rip
	le.PutUint64(crash[160:], 0x10af00) // rsp
	le.PutUint64(crash[184:], 0xdead)   // cr2
	le.PutUint64(crash[208:], 0x10af00)
	le.PutUint32(crash[216:], 16)
	copy(crash[crashSize:], "stack-bytes-here")
	e, run = hcBlock(mem, 0x200000, HcCrash, crash)
	o := d.handle(e, run, mem)
	if o.kind != outFault || o.fault.Vector != 14 || o.fault.ErrorCode != 2 || o.fault.Regs.RIP != 0x101000 || o.fault.Regs.CR2 != 0xdead || string(o.fault.Stack) != "stack-bytes-here" {
		t.Fatalf("CRASH: %+v", o.fault)
	}
	le.PutUint32(crash[216:], 600) // stack_len too big
	e, run = hcBlock(mem, 0x200000, HcCrash, crash)
	if o := d.handle(e, run, mem); o.kind != outResume || le.Uint32(mem[0x20000c:]) != hcStatusBadPayload {
		t.Fatalf("bad CRASH accepted: %+v", o)
	}
	// BREAK: the frame comes back for the VMM to restore.
	frame := make([]byte, frameSize)
	le.PutUint64(frame[112:], 0xaa) // rax
	le.PutUint64(frame[136:], 0x101235)
	e, run = hcBlock(mem, 0x200000, HcBreak, frame)
	if o := d.handle(e, run, mem); o.kind != outFrameStop || o.hcNr != HcBreak || o.frame.Regs.RAX != 0xaa || o.frame.Regs.RIP != 0x101235 {
		t.Fatalf("BREAK: %+v", o)
	}
	e, run = hcBlock(mem, 0x200000, HcDebug, frame) // no dr6: too short
	if o := d.handle(e, run, mem); o.kind != outResume || len(o.logs) != 1 {
		t.Fatalf("short DEBUG accepted: %+v", o)
	}
	// Blocks the VMM cannot accept: logged, or faults under strict I/O.
	for _, c := range []struct {
		addr uint32
		want string
	}{
		{0x200004, "not 8-byte aligned"},
		{0xfffffff8, "outside guest RAM"},
		{0x3ffff8, "outside guest RAM"},
		{0x100000, "magic 0x0"},
	} {
		e, run := ioExit(true, HypercallPort, 4, u32(c.addr))
		o := d.handle(e, run, mem)
		if o.kind != outResume || len(o.logs) != 1 || !strings.Contains(o.logs[0], c.want) {
			t.Errorf("block %#x: %+v", c.addr, o)
		}
		o = newDevices(true, false, nil).handle(e, run, mem)
		if o.fault.Kind != guest.FaultHypercall || !strings.Contains(o.fault.Detail, c.want) {
			t.Errorf("strict block %#x: %+v", c.addr, o)
		}
	}
	le.PutUint32(mem[0x200008:], 1<<20) // size too big
	e, run = ioExit(true, HypercallPort, 4, u32(0x200000))
	if o := d.handle(e, run, mem); !strings.Contains(strings.Join(o.logs, ""), "size 1048576") {
		t.Fatalf("oversized block: %+v", o)
	}
	e, run = ioExit(true, HypercallPort, 1, []byte{0})
	if o := d.handle(e, run, mem); !strings.Contains(strings.Join(o.logs, ""), "4-byte outl") {
		t.Fatalf("outb to the hypercall port: %+v", o)
	}
}

func TestTranslate(t *testing.T) {
	le := binary.LittleEndian
	mem := make([]byte, 8<<20)
	// 4-level: PML4 0x10000 -> PDPT 0x11000 -> PD 0x12000 -> PT 0x13000.
	le.PutUint64(mem[0x10000:], 0x11000|3)
	le.PutUint64(mem[0x11000+8*1:], 0x12000|3) // 1 GiB
	le.PutUint64(mem[0x12000+8*2:], 0x13000|3) // + 4 MiB
	le.PutUint64(mem[0x13000+8*5:], 0x345000|3)
	le.PutUint64(mem[0x12000+8*3:], 0x600000|0x83) // 2 MiB page
	lm := mmu{cr0: cr0PG, cr3: 0x10000, cr4: cr4PAE, efer: eferLMA}
	for va, want := range map[uint64]uint64{1<<30 | 2<<21 | 5<<12 | 0x123: 0x345123, 1<<30 | 3<<21 | 0x1234: 0x601234} {
		if pa, err := lm.translate(mem, va); err != nil || pa != want {
			t.Errorf("4-level %#x -> %#x %v, want %#x", va, pa, err, want)
		}
	}
	if _, err := lm.translate(mem, 2<<30); err == nil || !strings.Contains(err.Error(), "PDPT") {
		t.Errorf("unmapped: %v", err)
	}
	le.PutUint64(mem[0x12000+8*4:], 0x7fffff000|3) // PT outside RAM
	if _, err := lm.translate(mem, 1<<30|4<<21); err == nil || !strings.Contains(err.Error(), "outside guest RAM") {
		t.Errorf("table outside RAM: %v", err)
	}
	// 32-bit with a 4 MiB PSE page and a 4 KiB page.
	le.PutUint32(mem[0x20000+4*1:], 0x400000|0x83)
	le.PutUint32(mem[0x20000+4*2:], 0x21000|3)
	le.PutUint32(mem[0x21000+4*3:], 0x777000|3)
	p32 := mmu{cr0: cr0PG, cr3: 0x20000, cr4: cr4PSE}
	for va, want := range map[uint64]uint64{0x400000 + 0x1234: 0x401234, 0x800000 + 0x3000 + 0x10: 0x777010} {
		if pa, err := p32.translate(mem, va); err != nil || pa != want {
			t.Errorf("32-bit %#x -> %#x %v, want %#x", va, pa, err, want)
		}
	}
	// PAE: PDPT at 0x30000.
	le.PutUint64(mem[0x30000:], 0x31000|1)
	le.PutUint64(mem[0x31000+8:], 0x200000|0x83)
	pae := mmu{cr0: cr0PG, cr3: 0x30000, cr4: cr4PAE}
	if pa, err := pae.translate(mem, 0x200000+0x42); err != nil || pa != 0x200042 {
		t.Errorf("PAE: %#x %v", pa, err)
	}
	if pa, _ := (mmu{}).translate(mem, 0x1234); pa != 0x1234 {
		t.Error("paging off is not identity")
	}
}

func TestRegsRoundTrip(t *testing.T) {
	s := kvm.Segment{Base: 0x1000, Limit: 0xfffff, Selector: 0x10, Type: 0xb, Present: 1, DPL: 3, DB: 0, S: 1, L: 1, G: 1, AVL: 1}
	if got := kvmFromSeg(segFromKVM(s)); got != s {
		t.Fatalf("segment round trip: %+v != %+v", got, s)
	}
	if a := segFromKVM(s).Attr; a != 0xb|1<<4|3<<5|1<<7|1<<12|1<<13|1<<15 {
		t.Fatalf("attr %#x", a)
	}
	k := kvm.Regs{RAX: 1, RBX: 2, RCX: 3, RDX: 4, RSI: 5, RDI: 6, RSP: 7, RBP: 8, R8: 9, R15: 16, RIP: 17, RFLAGS: 18}
	g := regsFromKVM(&k)
	if g.RSP != 7 || g.RBP != 8 || kvmFromRegs(&g) != k {
		t.Fatalf("regs round trip %+v", g)
	}
}

func TestVGAText(t *testing.T) {
	mem := make([]byte, 1<<20)
	for i, c := range []byte("Hi there") {
		mem[0xb8000+2*i], mem[0xb8000+2*i+1] = c, 0x07
	}
	mem[0xb8000+2*80] = 0x01 // unprintable
	lines := vgaText(mem)
	if len(lines) != 25 || lines[0] != "Hi there" || lines[1] != "" {
		t.Fatalf("%q", lines[:2])
	}
}
