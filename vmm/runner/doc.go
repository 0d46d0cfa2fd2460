// Package runner is `ukw run`: build an app directory (package build) or
// take an image, boot it on the native VMM (package vmm), stream its
// console, and turn how it ended into a process exit status, with a
// symbolized crash report (package symbols) for every kind of fault.
//
// It sits above vmm, build and symbols (it is what cmd/ukw's run command
// calls); vmm itself imports none of them.
package runner
