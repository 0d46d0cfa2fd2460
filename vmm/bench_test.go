package vmm

import (
	"testing"

	"ukw/guest"
)

// BenchmarkBootToExit measures the VMM's own cost: New, a guest of a few
// dozen instructions that prints one line and exits, and Close. The image
// has the ukw note, so the VM has no in-kernel irqchip.
func BenchmarkBootToExit(b *testing.B) {
	benchBoot(b, buildGuest(b, "guest64.S", "elf64"))
}

// BenchmarkBootToExitIRQChip is the same guest as a plain ELF64 (no ukw
// note), which gets KVM's in-kernel irqchip and PIT like any third-party
// kernel: the difference is what they cost to create and destroy.
func BenchmarkBootToExitIRQChip(b *testing.B) {
	benchBoot(b, buildGuest(b, "guest64.S", "elf64", "PLAIN"))
}

func benchBoot(b *testing.B, img string) {
	for i := 0; i < b.N; i++ {
		m, err := New(guest.Config{Image: img, Cmdline: "0-"})
		if err != nil {
			b.Fatal(err)
		}
		r := runToEnd(b, m, false)
		if r.exit == nil || r.exit.Status != 0 {
			b.Fatalf("exit %+v fault %+v", r.exit, r.fault)
		}
		m.Close()
	}
}

// BenchmarkProbe measures the capability probe (a throwaway VM).
func BenchmarkProbe(b *testing.B) {
	img := buildGuest(b, "guest64.S", "elf64")
	m := newMachine(b, guest.Config{Image: img})
	for i := 0; i < b.N; i++ {
		err := m.call(true, func() error { _, err := probe(m.v.sys); return err })
		if err != nil {
			b.Fatal(err)
		}
	}
}
