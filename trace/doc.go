// Package trace reads what a guest records about itself and what a
// sampling profiler sees of it: trace-ring decoding, call trees, the
// tracepoint log, Chrome/Perfetto trace-event JSON, sampling profiles,
// folded stacks and SVG flame graphs.
//
// # Trace ring
//
// The guest layers lib/trace and lib/ftrace write 64-byte records (TSC
// timestamp, type, id, up to four arguments) into a ring in guest memory
// whose layout is in layers/README.md ("Trace ring"). The ring is found
// by its ELF symbol ukw_trace_ring or by the TRACE_RING hypercall
// (guest.TraceEvent). A Reader polls it: on a running guest through
// guest.LiveMemory (the native VMM's RAM is a mapping in this process, so
// reading needs no guest exit), reading each slot's commit word before the
// slot; on a stopped guest in bulk through guest.Machine.ReadMemory. It
// hands consumed slots back by writing the header's tail, so the guest
// only drops records (counted) when the host falls behind.
//
// # From records to views
//
//	im, _ := trace.NewImage(symbolsFile)      // tracepoint table, ring address
//	c, _ := trace.Collect(ctx, machine, trace.CollectOptions{Image: im})
//	clock := trace.Clock{Hz: trace.HostTSCHz()}
//	trace.WriteTree(os.Stdout, c.Trace.Tree(), clock)
//	trace.WriteLog(os.Stdout, c.Trace.Points, c.Trace.FirstTSC, clock)
//	trace.WritePerfetto(f, c.Trace, trace.PerfettoOptions{Clock: clock})
//
// Trace builds a calling-context tree (a node per function per chain of
// callers) with call counts and inclusive/exclusive TSC ticks, keeps the
// calls as spans for Perfetto ("X" events) and the tracepoints as a log
// ("i" events). A session that drives the machine itself uses a Follower
// (Handle its events, Poll while the guest runs) instead of Collect; Tail
// and TopFuncs are the data a live pane needs.
//
// # Sampling profiler
//
// RunProfile interrupts the vCPU at a rate, unwinds the stack with package
// symbols and counts folded stacks; it needs no guest cooperation. With a
// backend that implements Sampler (the native VMM) a sample is one kick of
// the vCPU thread that copies the registers and the stack, the unwinding
// then running on the copy while the guest goes on (StackSampler takes
// single samples the same way); otherwise it is guest.Machine's
// Interrupt, Regs, ReadMemory and Continue. Profile writes flamegraph.pl's
// folded format, WriteFlameGraph a self-contained SVG, Top the hottest
// functions.
//
// Guest timestamps are TSC ticks; HostTSCHz converts them (a KVM guest's
// TSC runs at the host's rate unless the VMM scales it, and ukw's does not).
package trace
