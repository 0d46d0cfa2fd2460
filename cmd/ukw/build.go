package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"ukw/build"
)

func newBuildCmd() *cobra.Command {
	var (
		asJSON bool
		opt    string
		clean  bool
		jobs   int
	)
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build the unikernel of the app in DIR (default .)",
		Long: "build resolves the app's layers, compiles them and the app with a content-addressed\n" +
			"object cache, and links DIR/.ukw/build/NAME.elf (ELF64 with DWARF) and NAME.img\n" +
			"(the bootable ELF32 copy). It prints a size report; --json prints it as data.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			app, err := build.Load(dir)
			if err != nil {
				return err
			}
			res, err := build.Build(cmd.Context(), app, build.Options{Opt: opt, Clean: clean, Jobs: jobs})
			out := cmd.OutOrStdout()
			if asJSON {
				if res == nil {
					res = &build.Result{}
				}
				type jsonOut struct {
					*build.Result
					Error string `json:"error,omitempty"`
				}
				j := jsonOut{Result: res}
				if err != nil {
					j.Error = err.Error()
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if encErr := enc.Encode(j); encErr != nil {
					return encErr
				}
				if err != nil {
					return exitError{1}
				}
				return nil
			}
			if res != nil {
				for _, d := range res.Diagnostics {
					fmt.Fprintln(cmd.ErrOrStderr(), d)
				}
				if res.Output != "" && err != nil {
					fmt.Fprint(cmd.ErrOrStderr(), res.Output)
				}
			}
			if err != nil {
				if errors.Is(err, build.ErrCompile) {
					fmt.Fprintln(cmd.ErrOrStderr(), "ukw:", err)
					return exitError{1}
				}
				return err
			}
			res.Report.Print(out)
			fmt.Fprintf(out, "elf   %s\nimage %s\n", rel(res.ELF), rel(res.Image))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON (report, elf and image paths, diagnostics)")
	cmd.Flags().StringVarP(&opt, "opt", "O", "", "override the optimization level: 0, 1, 2, s or g")
	cmd.Flags().BoolVar(&clean, "clean", false, "remove DIR/.ukw (outputs and object cache) first")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", 0, "parallel compiles (default: number of CPUs)")
	_ = cmd.RegisterFlagCompletionFunc("opt", cobra.FixedCompletions([]string{"0", "1", "2", "s", "g"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// rel shortens p relative to the working directory when that is shorter.
func rel(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := relPath(wd, p); err == nil && len(r) < len(p) {
		return r
	}
	return p
}
