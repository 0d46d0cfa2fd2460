package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"ukw/gdbstub"
	"ukw/guest"
	"ukw/libvirt"
	"ukw/qemu"
	"ukw/vmm/runner"
)

// newRunCmd is `ukw run [DIR|IMAGE]` (docs/cli.md, docs/vmm.md).
func newRunCmd() *cobra.Command {
	var (
		o       runner.Options
		cmdline string
		connect string
		modules []string
	)
	c := &cobra.Command{
		Use:   "run [--gdb [ADDR] [--wait]] [DIR|IMAGE]",
		Short: "Build (for an app directory) and boot a unikernel; exit with its status",
		Long: "run builds the app in DIR (default .) or takes a kernel IMAGE (multiboot ELF32/ELF64/a.out,\n" +
			"PVH, or ELF64), boots it on the native KVM VMM, streams its console to stdout and exits\n" +
			"with the guest's status. Any fault (exception, triple fault, KVM internal error, timeout,\n" +
			"--strict-io violation, bad hypercall) prints a symbolized crash report and exits 127\n" +
			"(124 for a timeout).\n\n" +
			"--gdb [ADDR] serves a GDB stub (default 127.0.0.1:1234; a non-loopback address needs\n" +
			"--gdb-allow-remote) and prints the gdb command that attaches to it; --wait holds the guest\n" +
			"at its first instruction until the debugger continues it.",
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("gdb") {
				o.GDB = true
				// `--gdb ADDR` with a space: pflag gives the optional value
				// only as --gdb=ADDR, so take a leading address argument.
				if o.GDBAddr == gdbstub.DefaultAddr && len(args) > 0 && looksLikeAddr(args[0]) {
					o.GDBAddr, args = args[0], args[1:]
				}
			}
			if len(args) > 1 {
				return fmt.Errorf("run takes one DIR or IMAGE, got %q", args)
			}
			if len(args) == 1 {
				o.Target = args[0]
			}
			for _, mod := range modules {
				m, err := runner.ParseModule(mod)
				if err != nil {
					return err
				}
				o.Modules = append(o.Modules, m)
			}
			if cmd.Flags().Changed("cmdline") {
				o.Cmdline = &cmdline
			}
			stderr := cmd.ErrOrStderr()
			if o.Backend == "kvm" {
				if err := unix.Access("/dev/kvm", unix.R_OK|unix.W_OK); err != nil {
					if _, lerr := exec.LookPath("qemu-system-x86_64"); lerr != nil {
						return fmt.Errorf("/dev/kvm is not usable (%v) and QEMU is not installed (Debian package qemu-system-x86)", err)
					}
					fmt.Fprintf(stderr, "ukw: /dev/kvm is not usable (%v); running under QEMU instead\n", err)
					o.Backend = "qemu"
				}
			}
			switch o.Backend {
			case "kvm":
			case "qemu":
				o.NewMachine = func(c guest.Config) (guest.Machine, error) { return qemu.New(c) }
			case "libvirt":
				o.NewMachine = func(c guest.Config) (guest.Machine, error) {
					return libvirt.New(c, libvirt.Options{URI: connect, Accel: "auto"})
				}
			default:
				return fmt.Errorf("--vmm %q: want kvm, qemu or libvirt", o.Backend)
			}
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, unix.SIGTERM)
			defer stop()
			code, err := runner.Run(ctx, o)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Backend, "vmm", "kvm", "backend: kvm (the native VMM), qemu, or libvirt")
	fl.StringVar(&connect, "connect", "", "with --vmm libvirt: the libvirt URI (default: libvirt's)")
	fl.DurationVar(&o.Timeout, "timeout", 0, "end the guest with a timeout fault after this long (0: no limit)")
	fl.IntVar(&o.MemoryMiB, "mem", 0, "guest RAM in MiB (default: the app's memory, or 32)")
	fl.StringVar(&cmdline, "cmdline", "", "kernel command line (default: the app's cmdline, or the image's base name)")
	fl.BoolVar(&o.VGA, "vga", false, "print the VGA text screen (0xB8000) on stderr when the guest ends")
	fl.BoolVar(&o.StrictIO, "strict-io", false, "an access to an unknown port or MMIO address, or a bad hypercall, is a fault")
	fl.BoolVar(&o.Stats, "stats", false, "print the start-up timeline (µs) on stderr")
	fl.BoolVar(&o.JSON, "json", false, "with --stats: print the timeline as JSON")
	fl.BoolVar(&o.CountInstr, "count-instructions", false, "single-step the whole run and report the guest instruction count (slow)")
	fl.StringArrayVar(&modules, "module", nil, "load a multiboot module: 'FILE [ARGS...]' (the whole string is its command line, as GRUB's module command passes it); repeatable")
	fl.StringVar(&o.GDBAddr, "gdb", "", "serve a GDB stub on ADDR (default "+gdbstub.DefaultAddr+") and print the gdb command to attach")
	fl.Lookup("gdb").NoOptDefVal = gdbstub.DefaultAddr
	fl.BoolVar(&o.GDBWait, "wait", false, "with --gdb: hold the guest at its first instruction until a debugger continues it")
	fl.BoolVar(&o.GDBAllowRemote, "gdb-allow-remote", false, "with --gdb: allow a non-loopback address (the stub gives full control of the guest)")
	return c
}

// looksLikeAddr reports whether arg is HOST:PORT (an address for --gdb)
// rather than a path that exists.
func looksLikeAddr(arg string) bool {
	if _, err := os.Stat(arg); err == nil {
		return false
	}
	_, port, err := net.SplitHostPort(arg)
	if err != nil || port == "" {
		return false
	}
	_, err = net.LookupPort("tcp", port)
	return err == nil
}
