// Package gdbstub speaks the GDB Remote Serial Protocol (GDB manual,
// appendix E "GDB Remote Serial Protocol") in both directions:
//
//   - Serve puts any guest.Machine (the native VMM, the QEMU or libvirt
//     backends, even a Client) behind a stub that gdb, lldb and IDEs attach
//     to: `target remote 127.0.0.1:1234`.
//   - Client is a guest.Machine over RSP: it drives another stub (QEMU's
//     -gdb, a remote one, or ukw's own) as gdb would, so that the qemu and
//     libvirt backends are debuggable through the hypervisor's own stub.
//
// # Layers
//
// packet.go is the framing as a byte-fed state machine (Decoder): '$data#cs'
// packets, '+'/'-' acks, the 0x03 interrupt byte, '%' notifications, binary
// escapes ('}' x^0x20: AppendEscaped, Unescape) and the run-length encoding
// stubs may use in replies (DecodeRLE, client side). regs.go is THE table of
// the `g` packet order for i386:x86-64 (gdb's features/i386/64bit-core.xml,
// 64bit-sse.xml, 64bit-segments.xml, then ukw's control registers) and the
// target.xml rendered from it; the Client reads the remote target.xml
// (following xi:include) and decodes `g` by that layout instead.
// dispatch.go is the server's packet table, one handler per packet, each
// citing its manual section.
//
// # Server behaviour
//
// On connect Serve stops a running machine (gdb expects a stopped target).
// Stop replies are ‘T05thread:N;’ plus ‘swbreak:’/‘hwbreak:’ (when gdb
// announced them in qSupported) or ‘watch:’/‘rwatch:’/‘awatch:ADDR’, and
// the expedited rbp, rsp and rip, so that a stepi costs gdb no `g`. An
// interrupt stop is T02; an exit is ‘W status’; a fault is an 'O' packet
// with its summary and ‘X sig’ (SIGSEGV, SIGILL for #UD, SIGFPE for #DE,
// SIGABRT for triple faults and internal errors, SIGALRM for timeouts).
// Each vCPU is a thread (1..NumCPU). Z0-Z4 go to Machine.SetBreakpoint:
// guest.ErrUnsupported becomes an empty reply (gdb then knows the packet
// type is unsupported), guest.ErrNoSlots an E10 (EBUSY). `D` removes the
// session's breakpoints and resumes the guest; a dropped connection removes
// them and leaves the guest as it is; `k` kills it. qRcmd serves `monitor
// regs|caps|vga|reboot|help` and forwards anything else to a guest.Monitor.
// Unknown packets get the empty reply.
//
// Stepping over a breakpoint is the backend's job (Machine.Continue from a
// PC with a breakpoint must not hit it again); gdb also lifts its own
// breakpoints before stepping, so the two agree. The Client does it for
// stubs that re-hit (QEMU): lift, step, re-insert, continue.
//
// # Serving from the CLI: ListenAndServe
//
// The one call `ukw run --gdb [ADDR] [--wait]` needs:
//
//	stub, err := gdbstub.ListenAndServe(ctx, addr, machine, gdbstub.ListenOptions{
//		AllowRemote: allowRemote, // --gdb-allow-remote
//	})
//	fmt.Fprintln(os.Stderr, "gdb: attach with:", stub.GDBCommand(elfPath))
//	defer stub.Close()
//
// addr "" is DefaultAddr (127.0.0.1:1234); port 0 picks a free port
// (stub.Addr says which). A non-loopback address is refused unless
// AllowRemote (CheckAddr). Debuggers are served one after another until
// ctx ends or Close; each session leaves the machine running after a
// detach, so a second gdb can attach later. `--wait` is the caller's part:
// leave the machine stopped at its entry (don't Continue it) until gdb says
// `continue`. GDBCommand prints e.g.
//
//	gdb -q app.elf -ex 'target remote 127.0.0.1:1234'
//
// docs/gdb.md has the protocol coverage, breakpoint strategies as gdb sees
// them, and how to attach gdb and lldb.
package gdbstub
