package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

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
	)
	c := &cobra.Command{
		Use:   "run [DIR|IMAGE]",
		Short: "Build (for an app directory) and boot a unikernel; exit with its status",
		Long: "run builds the app in DIR (default .) or takes a kernel IMAGE (multiboot ELF32/ELF64/a.out,\n" +
			"PVH, or ELF64), boots it on the native KVM VMM, streams its console to stdout and exits\n" +
			"with the guest's status. Any fault (exception, triple fault, KVM internal error, timeout,\n" +
			"--strict-io violation, bad hypercall) prints a symbolized crash report and exits 127\n" +
			"(124 for a timeout).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Target = args[0]
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
	return c
}
