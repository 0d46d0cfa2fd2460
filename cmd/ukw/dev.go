package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"ukw/session"
	"ukw/tui"
)

func newDevCmd() *cobra.Command {
	var (
		cfg   session.Config
		plain bool
		jsonl bool
	)
	cmd := &cobra.Command{
		Use:   "dev [DIR]",
		Short: "Watch, rebuild, reboot and debug an app side by side (the workbench)",
		Long: "dev builds the app in DIR (default .), boots it on KVM with the debugger attached,\n" +
			"and rebuilds and reboots it on every save, keeping breakpoints by symbol.\n" +
			"--plain runs the same loop headless: events as lines, gdb-style commands on stdin.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Dir = "."
			if len(args) == 1 {
				cfg.Dir = args[0]
			}
			return runSession(cmd.Context(), cfg, plain, jsonl)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&plain, "plain", false, "no TUI: print events as lines, read commands from stdin")
	f.BoolVar(&jsonl, "json", false, "with --plain: one JSON object per event")
	addSessionFlags(cmd, &cfg)
	return cmd
}

// addSessionFlags wires the flags dev and debug share.
func addSessionFlags(cmd *cobra.Command, cfg *session.Config) {
	f := cmd.Flags()
	f.StringArrayVarP(&cfg.Breakpoints, "break", "b", nil, "set a breakpoint before running (function, file.c:LINE, *ADDR); repeatable")
	f.BoolVar(&cfg.StopAtEntry, "stop-at-entry", false, "stop each new guest at its first instruction")
	f.StringVar(&cfg.Backend, "vmm", "kvm", "hypervisor backend: kvm, qemu or libvirt")
	f.StringVar(&cfg.Connect, "connect", "", "with --vmm libvirt: the libvirt URI")
	f.StringVar(&cfg.Cmdline, "cmdline", "", "kernel command line (default: the app's)")
	f.IntVar(&cfg.MemoryMiB, "mem", 0, "guest RAM in MiB (default: the app's)")
	f.BoolVar(&cfg.NoWatch, "no-watch", false, "do not rebuild on save")
}

// runSession runs a session with the TUI or the plain front end.
func runSession(ctx context.Context, cfg session.Config, plain, jsonl bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	s, err := session.New(cfg)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	if plain || jsonl {
		return session.RunPlain(s, os.Stdin, os.Stdout, session.PlainOptions{JSON: jsonl})
	}
	err = tui.Run(ctx, s, tui.Options{})
	s.Close()
	for range s.Events() {
	}
	return err
}
