package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"ukw/libvirt"
)

// newStopCmd is `ukw stop`: destroy a libvirt domain (docs/cli.md).
func newStopCmd() *cobra.Command {
	var uri string
	c := &cobra.Command{
		Use:   "stop NAME... [--connect URI]",
		Short: "Stop unikernels running on a libvirt host",
		Long: "stop destroys the named libvirt domains (as `virsh destroy` does) and deletes the\n" +
			"boot image ukw uploaded for them.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := libvirt.Dial(uri)
			if err != nil {
				return err
			}
			defer conn.Close()
			for _, name := range args {
				if err := conn.Stop(name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "stopped %s\n", name)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&uri, "connect", "c", libvirt.DefaultURI, "libvirt URI")
	return c
}
