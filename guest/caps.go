package guest

// Caps describes what a backend can do, as probed when the machine was created.
// A debugger shows it and the GDB stub answers qSupported and Z packets from it.
type Caps struct {
	// Backend names the implementation: "kvm", "qemu", "libvirt", "rsp".
	Backend string
	// Hypervisor describes what runs underneath, e.g. "kvm (vmx)", "kvm-pvm", "qemu tcg".
	Hypervisor string
	// HWBreakpoints is the number of execution-breakpoint slots (debug registers).
	HWBreakpoints int
	// SWBreakpoints reports that BreakSoftware works, by SWBreakStrategy.
	SWBreakpoints bool
	// SWBreakStrategy says how BreakSoftware is done: "kvm-sw-bp" (int3 with
	// KVM_GUESTDBG_USE_SW_BP), "cooperative-int3" (int3 reported by the
	// guest's own #BP handler through the ukw hypercall port), "hw-slots"
	// (debug registers only), "rsp" (the remote stub's own).
	SWBreakStrategy string
	// Watchpoints reports that the watch kinds (Z2-Z4) work, by WatchStrategy.
	Watchpoints bool
	// WatchStrategy says how watchpoints are done: "kvm-hw" (debug registers
	// reported by KVM), "cooperative-db" (the guest's #DB handler reports
	// them), "rsp", or "" when they are not available.
	WatchStrategy string
	// SingleStep reports that Step works.
	SingleStep bool
	// Notes carries probe findings worth showing a user (one sentence each).
	Notes []string
}
