// Command ukw is a terminal workbench for unikernel developers: it builds
// unikernels from layers, boots them on KVM, QEMU or libvirt, debugs them
// through the GDB remote protocol, and traces and profiles them.
//
// main.go only wires subcommands; each lives in its own file with a
// newXxxCmd constructor, and the logic lives in the packages they call.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"ukw/session"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ukw",
		Short:         "A terminal workbench for unikernel developers",
		Long:          "ukw watches a unikernel app, rebuilds it on every save, boots it in its own KVM\nvirtual machine with a GDB stub, and shows it symbolized, live.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range subcommands() {
		root.AddCommand(c)
	}
	// `ukw` alone in an app directory opens the workbench (`ukw dev`).
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if _, err := os.Stat("ukw.yaml"); err != nil {
			return cmd.Help()
		}
		return runSession(cmd.Context(), session.Config{Dir: "."}, false, false)
	}
	return root
}

// subcommands lists every subcommand; add a line when a command file lands.
func subcommands() []*cobra.Command {
	return []*cobra.Command{
		newBuildCmd(),
		newLayersCmd(),
		newSymbolizeCmd(),
		newPsCmd(),
		newStopCmd(),
		newRunCmd(),
		newTraceCmd(),
		newProfileCmd(),
		newDevCmd(),
		newDebugCmd(),
	}
}

// exitError carries a process exit status out of a command (the guest's own
// status for `ukw run`) without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	if ee, ok := err.(exitError); ok {
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "ukw:", err)
	os.Exit(1)
}
