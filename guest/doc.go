// Package guest is the vocabulary every ukw backend speaks: the Machine
// interface, register sets, stops, exits, faults, breakpoints, capabilities
// and the event stream.
//
// The native KVM VMM (package vmm), the QEMU and libvirt backends and the RSP
// client (package gdbstub) all implement Machine; the session, the GDB stub
// server and the TUI consume it. The package imports nothing of ukw's own.
//
// Lifecycle: a backend's constructor returns a Machine that is either Stopped
// at its first instruction (a machine ukw booted; a StopEntry stop) or Running
// (a machine ukw attached to). Subscribe before Continue or Step so that no
// event is missed. Every run (Continue or Step) ends in exactly one of
// StopEvent, ExitEvent or FaultEvent; ExitEvent and FaultEvent are final.
package guest
