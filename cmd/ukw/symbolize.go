package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"ukw/symbols"
)

// newSymbolizeCmd is `ukw symbolize`: addr2line-compatible address
// symbolization (docs/cli.md, docs/symbols.md).
func newSymbolizeCmd() *cobra.Command {
	var (
		exe  string
		opts symbols.Addr2lineOptions
	)
	c := &cobra.Command{
		Use:   "symbolize -e ELF [-f] [-i] [-C] [-a] [-p] [-s] [--json] [ADDR...]",
		Short: "Translate addresses to function, file:line (addr2line-compatible)",
		Long: "symbolize prints, for each address (hex, with or without 0x; read one per line from\n" +
			"standard input when none is given), exactly what binutils addr2line prints with the\n" +
			"same flags. --json prints one object per address with the full inline chain.",
		RunE: func(cmd *cobra.Command, args []string) error {
			// A batch job whose heap is mostly the image's index: collect
			// only when the heap nears 1 GiB (scripts/bench/symbolize.sh).
			debug.SetMemoryLimit(1 << 30)
			debug.SetGCPercent(-1)
			f, err := symbols.Open(exe)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Symbolize(cmd.OutOrStdout(), os.Stdin, args, opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&exe, "exe", "e", "a.out", "the ELF image")
	fl.BoolVarP(&opts.Functions, "functions", "f", false, "print function names")
	fl.BoolVarP(&opts.Inlines, "inlines", "i", false, "print the callers of inlined functions")
	fl.BoolVarP(&opts.Demangle, "demangle", "C", false, "demangle function names")
	fl.BoolVarP(&opts.Addresses, "addresses", "a", false, "print the address before each answer")
	fl.BoolVarP(&opts.Pretty, "pretty-print", "p", false, "one line per address")
	fl.BoolVarP(&opts.Basenames, "basenames", "s", false, "strip directory names")
	fl.BoolVar(&opts.JSON, "json", false, "one JSON object per address")
	return c
}
