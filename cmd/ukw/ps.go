package main

import (
	"github.com/spf13/cobra"

	"ukw/libvirt"
)

// newPsCmd is `ukw ps`: the unikernels running under libvirt (docs/cli.md,
// docs/libvirt.md).
func newPsCmd() *cobra.Command {
	var (
		uri    string
		all    bool
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "ps [--connect URI] [--all] [--json]",
		Short: "List running unikernels on a libvirt host",
		Long: "ps lists the running libvirt domains that ukw booted, and other domains whose\n" +
			"QEMU command line has a GDB stub (-gdb, -s), with state, uptime and GDB address.\n" +
			"--all lists every running domain.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := libvirt.Dial(uri)
			if err != nil {
				return err
			}
			defer conn.Close()
			list, err := conn.List(all)
			if err != nil {
				return err
			}
			return libvirt.WriteList(cmd.OutOrStdout(), list, asJSON)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&uri, "connect", "c", libvirt.DefaultURI, "libvirt URI (qemu:///system, qemu+ssh://host/system, ...)")
	fl.BoolVar(&all, "all", false, "list every running domain")
	fl.BoolVar(&asJSON, "json", false, "print a JSON array")
	return c
}
