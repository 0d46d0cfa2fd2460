// Package tui is ukw's terminal workbench: a Bubble Tea root model with one
// sub-model (a Component) per pane — source/disassembly, registers,
// backtrace, locals, memory, console, build and layers — plus a status line,
// a messages area and a gdb-style command line.
//
// The package never touches KVM, files or sockets. It talks to a Backend
// (in production a *session.Session): it reads immutable session.Events off
// the UI goroutine, in batches, and answers the user by sending
// session.Commands. Source text, disassembly and memory arrive as events
// answering commands (LoadSource, Disassemble, ReadMemory, SelectFrame).
//
// The structure follows soft-serve's pane pattern: every pane embeds Common
// (one Styles, one KeyMap, its size, the send function) and implements
// Component; the `?` help is built from the one KeyMap. See docs/tui.md.
package tui
