// Package runner is `ukw run`: build an app directory (package build) or
// take an image, boot it on the native VMM (package vmm), stream its
// console, and turn how it ended into a process exit status, with a
// symbolized crash report (package symbols) for every kind of fault.
// With Options.GDB it also serves a GDB stub for the run (package gdbstub;
// `ukw run --gdb [ADDR] [--wait]`, gdb.go).
//
// It sits above vmm, build, gdbstub and symbols (it is what cmd/ukw's run
// command calls); vmm itself imports none of them.
package runner
