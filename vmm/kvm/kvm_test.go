package kvm

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ukw/internal/testenv"
)

// realModeVM builds a VM with one vCPU in real mode at 0x1000 running code,
// without an in-kernel irqchip (so hlt exits to user space).
func realModeVM(t testing.TB, code []byte) (*System, *VM, *VCPU, []byte) {
	t.Helper()
	testenv.KVM(t)
	sys, err := Open("/dev/kvm")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := sys.CreateVM()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	copy(mem[0x1000:], code)
	if err := vm.SetUserMemoryRegion(0, 0, 0, mem); err != nil {
		t.Fatal(err)
	}
	cpu, err := vm.CreateVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cpu.GetSregs()
	if err != nil {
		t.Fatal(err)
	}
	s.CS.Base, s.CS.Selector = 0, 0
	if err := cpu.SetSregs(&s); err != nil {
		t.Fatal(err)
	}
	if err := cpu.SetRegs(&Regs{RIP: 0x1000, RFLAGS: 2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cpu.Close()
		vm.Close()
		sys.Close()
		unix.Munmap(mem)
	})
	return sys, vm, cpu, mem
}

func TestRunRealModeOutAndHlt(t *testing.T) {
	// mov dx,0x3f8; mov al,'A'; out dx,al; hlt
	_, _, cpu, _ := realModeVM(t, []byte{0xba, 0xf8, 0x03, 0xb0, 'A', 0xee, 0xf4})
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cpu.Run(); err != nil {
		t.Fatal(err)
	}
	e, err := cpu.Exit()
	if err != nil {
		t.Fatal(err)
	}
	if e.Reason != KVM_EXIT_IO || !e.IO.Out || e.IO.Port != 0x3f8 || e.IO.Size != 1 {
		t.Fatalf("exit %s %+v, want an out to 0x3f8", ExitName(e.Reason), e.IO)
	}
	d, err := IOData(cpu.RunPage(), e.IO)
	if err != nil || string(d) != "A" {
		t.Fatalf("io data %q, %v", d, err)
	}
	if err := cpu.Run(); err != nil {
		t.Fatal(err)
	}
	if e, _ := cpu.Exit(); e.Reason != KVM_EXIT_HLT {
		t.Fatalf("exit %s, want KVM_EXIT_HLT", ExitName(e.Reason))
	}
	r, err := cpu.GetRegs()
	if err != nil || r.RIP != 0x1007 {
		t.Fatalf("rip %#x (%v), want 0x1007", r.RIP, err)
	}
}

// TestKick shows that immediate_exit plus a signal to the vCPU thread ends
// a KVM_RUN of a guest spinning in `jmp $` (the interrupt path of vmm).
func TestKick(t *testing.T) {
	_, _, cpu, _ := realModeVM(t, []byte{0xeb, 0xfe})
	tid := make(chan int)
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		for {
			err := cpu.Run()
			if errors.Is(err, ErrInterrupted) || err != nil {
				done <- err
				return
			}
		}
	}()
	id := <-tid
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	cpu.SetImmediateExit(true)
	if err := unix.Tgkill(os.Getpid(), id, unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Logf("kick latency %v", time.Since(start))
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Run returned %v, want ErrInterrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("vCPU not kicked out of KVM_RUN within 5 s")
	}
}

func TestCapsAndCPUID(t *testing.T) {
	testenv.KVM(t)
	sys, err := Open("/dev/kvm")
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	for _, c := range []int{KVM_CAP_IRQCHIP, KVM_CAP_SET_GUEST_DEBUG, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_DEBUGREGS} {
		if sys.CheckExtension(c) == 0 {
			t.Errorf("capability %d missing", c)
		}
	}
	c, err := sys.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	if c.Nent == 0 || c.Nent > MaxCPUIDEntries || c.Entries[0].Function != 0 {
		t.Fatalf("supported CPUID: %d entries, first leaf %#x", c.Nent, c.Entries[0].Function)
	}
}

func TestDecodeExitSynthetic(t *testing.T) {
	run := make([]byte, 4096)
	run[RunExitReason] = KVM_EXIT_IO
	run[RunUnion] = KVM_EXIT_IO_OUT
	run[RunUnion+1] = 2
	run[RunUnion+2], run[RunUnion+3] = 0xf4, 0x00
	run[RunUnion+4] = 3
	run[RunUnion+8] = 0x10 // data_offset
	e, err := DecodeExit(run)
	if err != nil {
		t.Fatal(err)
	}
	if !e.IO.Out || e.IO.Size != 2 || e.IO.Port != 0xf4 || e.IO.Count != 3 || e.IO.DataOffset != 0x10 {
		t.Fatalf("decoded %+v", e.IO)
	}
	if d, err := IOData(run, e.IO); err != nil || len(d) != 6 {
		t.Fatalf("IOData %d bytes, %v", len(d), err)
	}
	bad := e.IO
	bad.DataOffset = 4092
	if _, err := IOData(run, bad); err == nil {
		t.Fatal("IOData accepted data past the run page")
	}
	bad.Size = 3
	if _, err := IOData(run, bad); err == nil {
		t.Fatal("IOData accepted size 3")
	}
	if _, err := DecodeExit(run[:100]); err == nil {
		t.Fatal("DecodeExit accepted a short page")
	}
	run[RunExitReason] = KVM_EXIT_INTERNAL_ERROR
	run[RunUnion+4] = 200 // ndata larger than the array: clamped
	if e, err := DecodeExit(run); err != nil || len(e.Internal.Data) != 16 {
		t.Fatalf("internal error: %d words, %v", len(e.Internal.Data), err)
	}
}

func TestMSRsAndDebugRegs(t *testing.T) {
	_, _, cpu, _ := realModeVM(t, []byte{0xf4})
	const sysenterCS = 0x174 // IA32_SYSENTER_CS (Intel SDM Vol. 4)
	if err := cpu.SetMSRs(MSREntry{Index: sysenterCS, Data: 0x10}); err != nil {
		t.Fatal(err)
	}
	got, err := cpu.GetMSRs(sysenterCS)
	if err != nil || len(got) != 1 || got[0].Data != 0x10 {
		t.Fatalf("IA32_SYSENTER_CS = %+v, %v", got, err)
	}
	d, err := cpu.GetDebugRegs()
	if err != nil {
		t.Fatal(err)
	}
	d.DB[2], d.DR7 = 0x1234, 0x400|1<<4
	if err := cpu.SetDebugRegs(&d); err != nil {
		t.Fatal(err)
	}
	if d2, err := cpu.GetDebugRegs(); err != nil || d2.DB[2] != 0x1234 || d2.DR7&(1<<4) == 0 {
		t.Fatalf("debug registers %+v, %v", d2, err)
	}
	if st, err := cpu.GetMPState(); err != nil || st != KVM_MP_STATE_RUNNABLE {
		t.Fatalf("mp state %d, %v", st, err)
	}
	if _, err := cpu.GetVCPUEvents(); err != nil {
		t.Fatal(err)
	}
}
