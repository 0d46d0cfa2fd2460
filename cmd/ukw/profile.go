package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"ukw/symbols"
	"ukw/trace"
)

// newProfileCmd is `ukw profile [DIR|IMAGE]` (docs/cli.md, docs/trace.md).
func newProfileCmd() *cobra.Command {
	var (
		g       guestFlags
		hz      int
		method  string
		folded  string
		svg     string
		top     int
		asJSON  bool
		noFiles bool
	)
	c := &cobra.Command{
		Use:   "profile [DIR|IMAGE]",
		Short: "Sample a running unikernel's stacks; write folded stacks and an SVG flame graph",
		Long: "profile builds the app in DIR (default .) or takes a kernel IMAGE, boots it on the native KVM\n" +
			"VMM and samples its vCPU --hz times a second, without any help from the guest: each sample\n" +
			"reads the registers, unwinds the stack with the image's CFI and names every frame. It writes\n" +
			"the stacks in flamegraph.pl's folded format (--folded, default NAME.folded) and as a\n" +
			"self-contained SVG flame graph (--svg, default NAME.svg), and prints the top functions and\n" +
			"what sampling cost. The guest runs to its end, or for --duration.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, unix.SIGTERM)
			defer stop()
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if hz <= 0 || hz > 100000 {
				return fmt.Errorf("--hz %d: want 1..100000", hz)
			}
			tg, err := g.resolve(ctx, cmd, args, errOut)
			if err != nil {
				return err
			}
			f, err := symbols.Open(tg.elf)
			if err != nil {
				return err
			}
			defer f.Close()
			m, err := tg.boot()
			if err != nil {
				return err
			}
			defer m.Close()
			console := out
			if asJSON {
				console = errOut
			}
			run, err := trace.RunProfile(ctx, m, trace.ProfileOptions{File: f, Hz: hz, Duration: g.duration, Method: method, Console: console})
			if err != nil {
				return err
			}
			if !noFiles {
				if folded == "" {
					folded = tg.name + ".folded"
				}
				if svg == "" {
					svg = tg.name + ".svg"
				}
				if err := writeFile(folded, run.Profile.WriteFolded); err != nil {
					return err
				}
				sub := fmt.Sprintf("%s: %d samples at %d Hz (%s)", tg.name, run.Profile.Samples, run.Hz, run.Method)
				if err := writeFile(svg, func(w io.Writer) error {
					return trace.WriteFlameGraph(w, run.Profile, trace.FlameOptions{Title: "ukw profile", Subtitle: sub})
				}); err != nil {
					return err
				}
			}
			if asJSON {
				return trace.WriteProfileJSON(out, run, top, folded, svg)
			}
			trace.WriteProfileReport(out, run, top, folded, svg, !noFiles)
			return outcomeStatus(run.Outcome)
		},
	}
	g.add(c)
	fl := c.Flags()
	fl.IntVar(&hz, "hz", 1000, "samples per second")
	fl.StringVar(&method, "method", trace.MethodAuto, "how to sample: auto, sample (VMM kicks the vCPU), interrupt (stop, read, continue)")
	fl.StringVar(&folded, "folded", "", "write folded stacks to `FILE` (default NAME.folded)")
	fl.StringVar(&svg, "svg", "", "write the SVG flame graph to `FILE` (default NAME.svg)")
	fl.BoolVar(&noFiles, "no-files", false, "write neither the folded stacks nor the flame graph")
	fl.IntVar(&top, "top", 15, "how many top functions to print")
	fl.BoolVar(&asJSON, "json", false, "print the summary and top functions as JSON (the console goes to stderr)")
	return c
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
