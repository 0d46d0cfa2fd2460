package main

import (
	"errors"

	"github.com/spf13/cobra"

	"ukw/libvirt"
	"ukw/session"
)

func newDebugCmd() *cobra.Command {
	var (
		cfg          session.Config
		domain, ssh  string
		plain, jsonl bool
	)
	cmd := &cobra.Command{
		Use:   "debug (--attach HOST:PORT --elf FILE | --domain NAME [--connect URI])",
		Short: "Open the workbench on a running guest: any GDB stub, or a libvirt domain",
		Long: "debug opens the same workbench as dev on a guest ukw did not boot:\n" +
			"  --attach HOST:PORT  any GDB remote stub (ukw's own, QEMU's -s -S, ...), with\n" +
			"                      --elf FILE, the kernel's ELF with DWARF, for symbols;\n" +
			"  --domain NAME       a running libvirt domain (ukw-booted or with a -gdb stub) at\n" +
			"                      --connect URI; --elf defaults to the ELF ukw recorded for it.\n" +
			"Quitting detaches: the guest keeps running. --plain runs headless: events as lines,\n" +
			"gdb-style commands on stdin.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case (cfg.Attach == "") == (domain == ""):
				return errors.New("debug: give --attach HOST:PORT or --domain NAME")
			case cfg.Attach != "" && cfg.ELF == "":
				return errors.New("debug: --attach needs --elf FILE (the kernel's ELF with DWARF)")
			}
			if domain != "" {
				m, err := libvirt.AttachURI(cfg.Connect, domain, libvirt.AttachOptions{SSH: ssh})
				if err != nil {
					return err
				}
				if cfg.ELF == "" {
					cfg.ELF = m.Info().ELF
				}
				if cfg.ELF == "" {
					m.Close()
					return errors.New("debug: ukw did not boot domain " + domain + ": give its kernel's ELF with --elf")
				}
				cfg.Machine = m // the session closes (detaches) it
			}
			return runSession(cmd.Context(), cfg, plain, jsonl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Attach, "attach", "", "HOST:PORT of a GDB remote stub")
	f.StringVar(&cfg.ELF, "elf", "", "the kernel's ELF with DWARF (symbols)")
	f.StringVar(&domain, "domain", "", "a running libvirt domain to debug")
	f.StringVar(&cfg.Connect, "connect", "", "with --domain: the libvirt URI (default: libvirt's)")
	f.StringVar(&ssh, "ssh", "", "with --domain on a remote host: ssh destination for the GDB tunnel when the URI's transport is not ssh")
	f.StringArrayVarP(&cfg.Breakpoints, "break", "b", nil, "set a breakpoint on attaching (function, file.c:LINE, *ADDR); repeatable")
	f.BoolVar(&plain, "plain", false, "no TUI: print events as lines, read commands from stdin")
	f.BoolVar(&jsonl, "json", false, "no TUI: one JSON object per event, commands from stdin")
	return cmd
}
