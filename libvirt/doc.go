// Package libvirt is ukw's libvirt backend: it boots unikernels as transient
// libvirt domains (QEMU/KVM driver), finds them again, and debugs them through
// QEMU's own GDB stub. It speaks libvirt's RPC protocol directly
// (github.com/digitalocean/go-libvirt, no cgo) and builds domain XML with
// libvirt.org/go/libvirtxml.
//
// What a ukw domain looks like (docs/libvirt.md has the measurements behind
// each choice):
//
//   - direct kernel boot of the image's multiboot ELF32 on the QEMU machine
//     type "microvm" (no SeaBIOS, which costs ~3 s on software KVM), with
//     the command line and memory of the guest.Config;
//   - COM1 (serial0) is the console, streamed with virDomainOpenConsole;
//   - the isa-debug-exit port 0xf4 is a second 16550 UART (serial1) moved to
//     iobase 0xf4 with <qemu:override>: the guest's status byte arrives on
//     that device's console stream, so the exit status is read through
//     libvirt itself, locally or remotely. QEMU 7.2's isa-debug-exit calls
//     exit(), which libvirt cannot report (it does not reap QEMU);
//   - QEMU's GDB stub on a loopback port of the host (-gdb tcp:127.0.0.1:PORT
//     through <qemu:commandline>), reached over an ssh tunnel for remote
//     hosts, never opened to the network;
//   - named ukw-<app>-<id> and labelled with <metadata> (app, ELF, gdb
//     address, start time, uploaded image volume) so List and Attach find it.
//
// New boots a guest.Config and returns a guest.Machine stopped at entry;
// Attach takes over an existing domain (one started by ukw, or by plain
// `virsh create` with a -gdb argument); List and Stop back `ukw ps` and
// `ukw stop`.
package libvirt
