package kvm

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"ukw/internal/testenv"
)

// ioctlTable lists every request number with how the kernel builds it
// (include/uapi/linux/kvm.h; encoding in include/uapi/asm-generic/ioctl.h).
var ioctlTable = []struct {
	name string
	got  uintptr
	dir  uintptr
	nr   uintptr
	arg  any // the argument struct whose size is encoded; nil for _IO
}{
	{"KVM_GET_API_VERSION", KVM_GET_API_VERSION, iocNone, 0x00, nil},
	{"KVM_CREATE_VM", KVM_CREATE_VM, iocNone, 0x01, nil},
	{"KVM_CHECK_EXTENSION", KVM_CHECK_EXTENSION, iocNone, 0x03, nil},
	{"KVM_GET_VCPU_MMAP_SIZE", KVM_GET_VCPU_MMAP_SIZE, iocNone, 0x04, nil},
	{"KVM_GET_SUPPORTED_CPUID", KVM_GET_SUPPORTED_CPUID, iocRead | iocWrite, 0x05, CPUID2Header{}},
	{"KVM_CREATE_VCPU", KVM_CREATE_VCPU, iocNone, 0x41, nil},
	{"KVM_SET_USER_MEMORY_REGION", KVM_SET_USER_MEMORY_REGION, iocWrite, 0x46, UserspaceMemoryRegion{}},
	{"KVM_SET_TSS_ADDR", KVM_SET_TSS_ADDR, iocNone, 0x47, nil},
	{"KVM_SET_IDENTITY_MAP_ADDR", KVM_SET_IDENTITY_MAP_ADDR, iocWrite, 0x48, uint64(0)},
	{"KVM_CREATE_IRQCHIP", KVM_CREATE_IRQCHIP, iocNone, 0x60, nil},
	{"KVM_IRQ_LINE", KVM_IRQ_LINE, iocWrite, 0x61, IRQLevel{}},
	{"KVM_CREATE_PIT2", KVM_CREATE_PIT2, iocWrite, 0x77, PITConfig{}},
	{"KVM_RUN", KVM_RUN, iocNone, 0x80, nil},
	{"KVM_GET_REGS", KVM_GET_REGS, iocRead, 0x81, Regs{}},
	{"KVM_SET_REGS", KVM_SET_REGS, iocWrite, 0x82, Regs{}},
	{"KVM_GET_SREGS", KVM_GET_SREGS, iocRead, 0x83, Sregs{}},
	{"KVM_SET_SREGS", KVM_SET_SREGS, iocWrite, 0x84, Sregs{}},
	{"KVM_TRANSLATE", KVM_TRANSLATE, iocRead | iocWrite, 0x85, Translation{}},
	{"KVM_GET_MSRS", KVM_GET_MSRS, iocRead | iocWrite, 0x88, MSRsHeader{}},
	{"KVM_SET_MSRS", KVM_SET_MSRS, iocWrite, 0x89, MSRsHeader{}},
	{"KVM_SET_CPUID2", KVM_SET_CPUID2, iocWrite, 0x90, CPUID2Header{}},
	{"KVM_GET_MP_STATE", KVM_GET_MP_STATE, iocRead, 0x98, MPState{}},
	{"KVM_SET_GUEST_DEBUG", KVM_SET_GUEST_DEBUG, iocWrite, 0x9b, GuestDebug{}},
	{"KVM_GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS, iocRead, 0x9f, VCPUEvents{}},
	{"KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS, iocRead, 0xa1, DebugRegs{}},
	{"KVM_SET_DEBUGREGS", KVM_SET_DEBUGREGS, iocWrite, 0xa2, DebugRegs{}},
}

// TestIoctlNumbers recomputes each request number from _IOC and the Go
// struct's size, so a wrong struct layout or a typo in a constant fails.
func TestIoctlNumbers(t *testing.T) {
	for _, c := range ioctlTable {
		size := uintptr(0)
		if c.arg != nil {
			size = reflect.TypeOf(c.arg).Size()
		}
		want := IOC(c.dir, KVMIO, c.nr, size)
		if c.got != want {
			t.Errorf("%s = %#x, _IOC(%d, KVMIO, %#x, %d) = %#x", c.name, c.got, c.dir, c.nr, size, want)
		}
	}
}

// cStructs maps each Go mirror to its C struct for the layout cross-check.
var cStructs = []struct {
	c   string
	go_ any
}{
	{"struct kvm_regs", Regs{}},
	{"struct kvm_segment", Segment{}},
	{"struct kvm_dtable", DTable{}},
	{"struct kvm_sregs", Sregs{}},
	{"struct kvm_userspace_memory_region", UserspaceMemoryRegion{}},
	{"struct kvm_irq_level", IRQLevel{}},
	{"struct kvm_pit_config", PITConfig{}},
	{"struct kvm_translation", Translation{}},
	{"struct kvm_cpuid_entry2", CPUIDEntry2{}},
	{"struct kvm_cpuid2", CPUID2Header{}},
	{"struct kvm_msr_entry", MSREntry{}},
	{"struct kvm_msrs", MSRsHeader{}},
	{"struct kvm_guest_debug", GuestDebug{}},
	{"struct kvm_debugregs", DebugRegs{}},
	{"struct kvm_mp_state", MPState{}},
	{"struct kvm_vcpu_events", VCPUEvents{}},
}

// cFields lists C members whose offsets must equal the Go field's.
var cFields = []struct {
	c, member string
	goType    any
	goField   string
}{
	{"struct kvm_regs", "rsp", Regs{}, "RSP"},
	{"struct kvm_regs", "rflags", Regs{}, "RFLAGS"},
	{"struct kvm_segment", "selector", Segment{}, "Selector"},
	{"struct kvm_segment", "unusable", Segment{}, "Unusable"},
	{"struct kvm_sregs", "tr", Sregs{}, "TR"},
	{"struct kvm_sregs", "gdt", Sregs{}, "GDT"},
	{"struct kvm_sregs", "cr0", Sregs{}, "CR0"},
	{"struct kvm_sregs", "efer", Sregs{}, "EFER"},
	{"struct kvm_sregs", "interrupt_bitmap", Sregs{}, "InterruptBitmap"},
	{"struct kvm_guest_debug", "arch", GuestDebug{}, "DebugReg"},
	{"struct kvm_debugregs", "dr7", DebugRegs{}, "DR7"},
	{"struct kvm_vcpu_events", "exception_payload", VCPUEvents{}, "ExceptionPayload"},
	{"struct kvm_translation", "valid", Translation{}, "Valid"},
}

// flagTable lists flag and capability constants checked against the header.
var flagTable = []struct {
	name string
	v    uint64
}{
	{"KVM_MEM_LOG_DIRTY_PAGES", KVM_MEM_LOG_DIRTY_PAGES},
	{"KVM_MEM_READONLY", KVM_MEM_READONLY},
	{"KVM_CAP_READONLY_MEM", KVM_CAP_READONLY_MEM},
	{"KVM_CAP_NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS},
	{"KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT},
	{"KVM_GUESTDBG_SINGLESTEP", KVM_GUESTDBG_SINGLESTEP},
	{"KVM_CAP_SYNC_REGS", KVM_CAP_SYNC_REGS},
	{"KVM_SYNC_X86_REGS", KVM_SYNC_X86_REGS},
	{"KVM_SYNC_X86_SREGS", KVM_SYNC_X86_SREGS},
}

// TestAgainstKernelHeaders compiles a C program against the system's
// <linux/kvm.h> and compares every ioctl number, struct size, field offset
// and the kvm_run offsets DecodeExit uses with this package's.
func TestAgainstKernelHeaders(t *testing.T) {
	cc := testenv.Tool(t, "gcc")
	testenv.File(t, "/usr/include/linux/kvm.h", "Debian package linux-libc-dev")
	var src strings.Builder
	src.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <linux/kvm.h>\nint main(void){\n")
	for _, c := range ioctlTable {
		fmt.Fprintf(&src, "printf(\"%s %%lu\\n\", (unsigned long)%s);\n", c.name, c.name)
	}
	for _, s := range cStructs {
		fmt.Fprintf(&src, "printf(\"sizeof(%s) %%zu\\n\", sizeof(%s));\n", s.c, s.c)
	}
	for _, f := range cFields {
		fmt.Fprintf(&src, "printf(\"offsetof(%s,%s) %%zu\\n\", offsetof(%s, %s));\n", f.c, f.member, f.c, f.member)
	}
	for _, m := range []string{"immediate_exit", "exit_reason", "if_flag", "cr8", "io", "kvm_valid_regs", "s.regs.regs", "s.regs.sregs"} {
		fmt.Fprintf(&src, "printf(\"offsetof(struct kvm_run,%s) %%zu\\n\", offsetof(struct kvm_run, %s));\n", m, m)
	}
	src.WriteString("printf(\"offsetof(struct kvm_run,debug.arch.dr6) %zu\\n\", offsetof(struct kvm_run, debug.arch.dr6));\n")
	src.WriteString("printf(\"offsetof(struct kvm_run,mmio.is_write) %zu\\n\", offsetof(struct kvm_run, mmio.is_write));\n")
	for _, f := range flagTable {
		fmt.Fprintf(&src, "printf(\"%s %%lu\\n\", (unsigned long)%s);\n", f.name, f.name)
	}
	src.WriteString("return 0;}\n")
	dir := t.TempDir()
	cfile := filepath.Join(dir, "h.c")
	if err := os.WriteFile(cfile, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "h")
	if out, err := exec.Command(cc, "-o", bin, cfile).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	c := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		i := strings.LastIndexByte(sc.Text(), ' ')
		v, _ := strconv.ParseUint(sc.Text()[i+1:], 10, 64)
		c[sc.Text()[:i]] = v
	}
	check := func(key string, got uint64) {
		t.Helper()
		want, ok := c[key]
		if !ok {
			t.Errorf("%s: missing from the C program's output", key)
		} else if got != want {
			t.Errorf("%s: Go %#x, C %#x", key, got, want)
		}
	}
	for _, x := range ioctlTable {
		check(x.name, uint64(x.got))
	}
	for _, f := range flagTable {
		check(f.name, f.v)
	}
	for _, s := range cStructs {
		check("sizeof("+s.c+")", uint64(reflect.TypeOf(s.go_).Size()))
	}
	for _, f := range cFields {
		sf, ok := reflect.TypeOf(f.goType).FieldByName(f.goField)
		if !ok {
			t.Fatalf("no field %s", f.goField)
		}
		check("offsetof("+f.c+","+f.member+")", uint64(sf.Offset))
	}
	check("offsetof(struct kvm_run,immediate_exit)", RunImmediateExit)
	check("offsetof(struct kvm_run,exit_reason)", RunExitReason)
	check("offsetof(struct kvm_run,if_flag)", RunIfFlag)
	check("offsetof(struct kvm_run,cr8)", RunCR8)
	check("offsetof(struct kvm_run,io)", RunUnion)
	check("offsetof(struct kvm_run,kvm_valid_regs)", RunValidRegs)
	check("offsetof(struct kvm_run,s.regs.regs)", RunSyncRegs)
	check("offsetof(struct kvm_run,s.regs.sregs)", RunSyncRegs+uint64(reflect.TypeOf(Regs{}).Size()))
	check("offsetof(struct kvm_run,debug.arch.dr6)", RunUnion+16)
	check("offsetof(struct kvm_run,mmio.is_write)", RunUnion+20)
}
