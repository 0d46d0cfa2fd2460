// Package session is ukw's dev loop and debugger core, with no terminal code:
// config → build → boot (stub attached) → apply breakpoints → run →
// stop/exit/fault → … and, on every relevant file change, rebuild; when the
// build fails the running guest is kept and the errors reported; when it
// succeeds the old guest is stopped, the new image booted, every breakpoint
// re-resolved from its symbolic location and the guest continued.
//
// A Session is driven by Commands (Send) and reports Events (Events):
// immutable snapshots that a front end (the TUI, the --plain line printer,
// the --json encoder) renders without sharing any state with the loop.
// The front end never touches files, sockets or KVM: source text,
// disassembly and memory all arrive as events answering commands.
package session
