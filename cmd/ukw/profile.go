package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

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
				return writeProfileJSON(out, run, top, folded, svg)
			}
			fmt.Fprintf(out, "\nprofile: %d samples at %d Hz over %v (method %s), %d failed\n",
				run.Profile.Samples, run.Hz, run.Outcome.Wall.Round(time.Millisecond), run.Method, run.Failed)
			for _, e := range run.Errors {
				fmt.Fprintln(out, "  sample failed:", e)
			}
			fmt.Fprintf(out, "latency: %v from tick to stack on average, %v at most; the guest was held %v per sample, %.2f%% of the run\n\n",
				run.MeanSample().Round(time.Microsecond), run.MaxSample.Round(time.Microsecond), run.MeanHold().Round(time.Microsecond), heldPct(run))
			trace.WriteTop(out, run.Profile.Top(top), run.Profile.Samples)
			if !noFiles {
				fmt.Fprintf(out, "\nfolded: %s\nflame graph: %s\n", folded, svg)
			}
			fmt.Fprintf(out, "guest: %s\n", describeOutcome(run.Outcome))
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

func heldPct(run *trace.ProfileRun) float64 {
	if run.Outcome.Wall <= 0 {
		return 0
	}
	return 100 * float64(run.HoldTime) / float64(run.Outcome.Wall)
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

func writeProfileJSON(w io.Writer, run *trace.ProfileRun, top int, folded, svg string) error {
	type fn struct {
		Name  string `json:"name"`
		Self  int    `json:"self"`
		Total int    `json:"total"`
	}
	out := struct {
		Samples      int      `json:"samples"`
		Failed       int      `json:"failed"`
		Errors       []string `json:"errors,omitempty"`
		Hz           int      `json:"hz"`
		Method       string   `json:"method"`
		WallNS       int64    `json:"wall_ns"`
		GuestNS      int64    `json:"guest_elapsed_ns,omitempty"`
		MeanSampleNS int64    `json:"mean_sample_ns"`
		MaxSampleNS  int64    `json:"max_sample_ns"`
		MeanHoldNS   int64    `json:"mean_hold_ns"`
		HeldPct      float64  `json:"held_pct"`
		Top          []fn     `json:"top"`
		Folded       string   `json:"folded,omitempty"`
		SVG          string   `json:"svg,omitempty"`
		Outcome      string   `json:"outcome"`
	}{Samples: run.Profile.Samples, Failed: run.Failed, Errors: run.Errors, Hz: run.Hz, Method: run.Method,
		WallNS: run.Outcome.Wall.Nanoseconds(), MeanSampleNS: run.MeanSample().Nanoseconds(),
		MaxSampleNS: run.MaxSample.Nanoseconds(), MeanHoldNS: run.MeanHold().Nanoseconds(), HeldPct: heldPct(run), Top: []fn{},
		Folded: folded, SVG: svg, Outcome: describeOutcome(run.Outcome)}
	if run.Outcome.Exit != nil {
		out.GuestNS = run.Outcome.Exit.Elapsed.Nanoseconds()
	}
	for _, s := range run.Profile.Top(top) {
		out.Top = append(out.Top, fn{s.Name, s.Self, s.Total})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
