package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"ukw/build"
	"ukw/guest"
	"ukw/symbols"
	"ukw/trace"
	"ukw/vmm"
)

// newTraceCmd is `ukw trace [DIR|IMAGE]` (docs/cli.md, docs/trace.md).
func newTraceCmd() *cobra.Command {
	var (
		g        guestFlags
		perfetto string
		asJSON   bool
		follow   bool
		period   time.Duration
		tscHz    float64
	)
	c := &cobra.Command{
		Use:   "trace [DIR|IMAGE]",
		Short: "Run a unikernel and print its symbolized call tree and tracepoint log",
		Long: "trace builds the app in DIR (default .) or takes a kernel IMAGE, boots it on the native KVM\n" +
			"VMM and reads its trace ring (layers lib/trace and lib/ftrace) while it runs, then prints\n" +
			"the call tree (calls, total and self time per calling context) and the tracepoint log.\n" +
			"--perfetto writes Chrome/Perfetto trace-event JSON (ui.perfetto.dev, chrome://tracing).\n" +
			"Exits with the guest's status (127 when it crashed).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, unix.SIGTERM)
			defer stop()
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			tg, err := g.resolve(ctx, cmd, args, errOut)
			if err != nil {
				return err
			}
			f, err := symbols.Open(tg.elf)
			if err != nil {
				return err
			}
			defer f.Close()
			im, err := trace.NewImage(f)
			if err != nil {
				return err
			}
			m, err := tg.boot()
			if err != nil {
				return err
			}
			defer m.Close()
			console := out
			if asJSON {
				console = errOut
			}
			if tscHz == 0 {
				tscHz = trace.HostTSCHz()
			}
			clock := trace.Clock{Hz: tscHz}
			o := trace.CollectOptions{Image: im, Period: period, Duration: g.duration, Console: console}
			if follow && !asJSON {
				var first uint64
				o.OnEvents = func(evs []trace.Event) {
					if first == 0 {
						first = evs[0].TSC
					}
					var pts []trace.Event
					for _, e := range evs {
						if e.Type == trace.RecPoint {
							pts = append(pts, e)
						}
					}
					trace.WriteLog(errOut, pts, first, clock)
				}
			}
			col, err := trace.Collect(ctx, m, o)
			if err != nil {
				return err
			}
			for _, w := range col.Warnings {
				fmt.Fprintln(errOut, "ukw: trace ring:", w)
			}
			if perfetto != "" {
				pf, err := os.Create(perfetto)
				if err != nil {
					return err
				}
				err = trace.WritePerfetto(pf, col.Trace, trace.PerfettoOptions{Process: tg.name, Clock: clock})
				if cerr := pf.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
			if asJSON {
				if err := writeTraceJSON(out, col, clock); err != nil {
					return err
				}
			} else {
				printTrace(out, col, clock, perfetto)
			}
			return outcomeStatus(col.Outcome)
		},
	}
	g.add(c)
	fl := c.Flags()
	fl.StringVar(&perfetto, "perfetto", "", "write Chrome/Perfetto trace-event JSON to `FILE`")
	fl.BoolVar(&asJSON, "json", false, "print the call tree and tracepoints as JSON (the console goes to stderr)")
	fl.BoolVar(&follow, "follow", false, "print tracepoints on stderr as they are read, while the guest runs")
	fl.DurationVar(&period, "period", trace.DefaultPeriod, "how often the ring is read while the guest runs")
	fl.Float64Var(&tscHz, "tsc-hz", 0, "guest TSC frequency in Hz (default: measured on the host)")
	return c
}

func printTrace(w io.Writer, col *trace.Collection, clock trace.Clock, perfetto string) {
	t := col.Trace
	calls := 0
	root := t.Tree()
	root.Walk(func(n *trace.Node, d int) {
		if d > 0 {
			calls += n.Calls
		}
	})
	fmt.Fprintln(w)
	if col.Ring == 0 {
		fmt.Fprintln(w, "trace: the image has no trace ring (add layers lib/trace, lib/ftrace)")
	} else {
		how := fmt.Sprintf("read at stops and at the end (%d reads)", col.Polls)
		if col.Live {
			how = fmt.Sprintf("read live (%d reads)", col.Polls)
		}
		fmt.Fprintf(w, "trace: %d records (%d calls, %d tracepoints), %d dropped, ring at %#x %s\n",
			t.Records, calls, len(t.Points), col.Dropped, col.Ring, how)
	}
	if len(root.Children) > 0 {
		fmt.Fprintln(w, "\ncall tree:")
		trace.WriteTree(w, root, clock)
		fmt.Fprintln(w, "\nby function (self time):")
		fmt.Fprintf(w, "%8s %12s %12s  %s\n", "calls", "self", "total", "function")
		for _, f := range trace.TopFuncs(root, 10) {
			fmt.Fprintf(w, "%8d %12s %12s  %s\n", f.Calls, clock.Format(f.Self), clock.Format(f.Total), f.Func.Name)
		}
	}
	if len(t.Points) > 0 {
		fmt.Fprintln(w, "\ntracepoints:")
		trace.WriteLog(w, t.Points, t.FirstTSC, clock)
	}
	if t.Unmatched > 0 || t.Truncated > 0 {
		fmt.Fprintf(w, "\n%d exits without an entry, %d calls/tracepoints not kept\n", t.Unmatched, t.Truncated)
	}
	if perfetto != "" {
		fmt.Fprintf(w, "\nperfetto: %s (open in ui.perfetto.dev or chrome://tracing)\n", perfetto)
	}
	fmt.Fprintf(w, "\nguest: %s\n", describeOutcome(col.Outcome))
}

type jsonNode struct {
	Func       string      `json:"func"`
	Addr       string      `json:"addr"`
	File       string      `json:"file,omitempty"`
	Line       int         `json:"line,omitempty"`
	Calls      int         `json:"calls"`
	Unfinished int         `json:"unfinished,omitempty"`
	InclTicks  uint64      `json:"incl_ticks"`
	ExclTicks  uint64      `json:"excl_ticks"`
	InclNS     int64       `json:"incl_ns,omitempty"`
	ExclNS     int64       `json:"excl_ns,omitempty"`
	Children   []*jsonNode `json:"children,omitempty"`
}

type jsonPoint struct {
	Name  string   `json:"name"`
	Text  string   `json:"text"`
	Args  []uint64 `json:"args"`
	File  string   `json:"file,omitempty"`
	Line  int      `json:"line,omitempty"`
	In    string   `json:"in,omitempty"`
	Ticks uint64   `json:"ticks"`
	NS    int64    `json:"ns,omitempty"`
}

func toJSONNode(n *trace.Node, c trace.Clock) *jsonNode {
	j := &jsonNode{Func: n.Func.Name, Addr: fmt.Sprintf("%#x", n.Func.Addr), File: n.Func.File, Line: n.Func.Line,
		Calls: n.Calls, Unfinished: n.Unfinished, InclTicks: n.Incl, ExclTicks: n.Excl,
		InclNS: c.Duration(n.Incl).Nanoseconds(), ExclNS: c.Duration(n.Excl).Nanoseconds()}
	for _, ch := range n.Children {
		j.Children = append(j.Children, toJSONNode(ch, c))
	}
	return j
}

func writeTraceJSON(w io.Writer, col *trace.Collection, c trace.Clock) error {
	t := col.Trace
	out := struct {
		Records   int          `json:"records"`
		Dropped   uint64       `json:"dropped"`
		Unmatched int          `json:"unmatched_exits"`
		Ring      string       `json:"ring,omitempty"`
		Live      bool         `json:"live"`
		Polls     int          `json:"polls"`
		TSCHz     float64      `json:"tsc_hz"`
		Tree      []*jsonNode  `json:"tree"`
		Points    []jsonPoint  `json:"tracepoints"`
		Outcome   string       `json:"outcome"`
		Exit      *guest.Exit  `json:"exit,omitempty"`
		Fault     *guest.Fault `json:"-"`
		ElapsedNS int64        `json:"guest_elapsed_ns,omitempty"`
		WallNS    int64        `json:"wall_ns"`
	}{Records: t.Records, Dropped: col.Dropped, Unmatched: t.Unmatched, Live: col.Live, Polls: col.Polls,
		TSCHz: c.Hz, Tree: []*jsonNode{}, Points: []jsonPoint{}, Outcome: describeOutcome(col.Outcome),
		Exit: col.Outcome.Exit, WallNS: col.Outcome.Wall.Nanoseconds()}
	if col.Ring != 0 {
		out.Ring = fmt.Sprintf("%#x", col.Ring)
	}
	if col.Outcome.Exit != nil {
		out.ElapsedNS = col.Outcome.Exit.Elapsed.Nanoseconds()
	}
	for _, ch := range t.Tree().Children {
		out.Tree = append(out.Tree, toJSONNode(ch, c))
	}
	for _, e := range t.Points {
		out.Points = append(out.Points, jsonPoint{Name: e.Point.Name, Text: e.Text, Args: e.Args, File: e.Point.File,
			Line: e.Point.Line, In: e.In, Ticks: e.TSC - t.FirstTSC, NS: c.Duration(e.TSC - t.FirstTSC).Nanoseconds()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// describeOutcome says how a traced or profiled guest ended, in one line.
func describeOutcome(o trace.Outcome) string {
	switch {
	case o.Fault != nil:
		return "crashed: " + o.Fault.Summary()
	case o.Killed:
		return fmt.Sprintf("stopped by ukw after %v", o.Wall.Round(time.Millisecond))
	case o.Exit != nil:
		return fmt.Sprintf("exit status %d (%v) after %v", o.Exit.Status, o.Exit.How, o.Exit.Elapsed.Round(time.Microsecond))
	}
	return "unknown"
}

// outcomeStatus turns the guest's end into the command's exit status:
// the guest's own, 127 for a crash, 0 when ukw stopped it.
func outcomeStatus(o trace.Outcome) error {
	switch {
	case o.Fault != nil:
		return exitError{0x7f}
	case o.Killed:
		return nil
	case o.Exit != nil && o.Exit.Status != 0:
		return exitError{o.Exit.Status}
	}
	return nil
}

// guestFlags are the flags `ukw trace` and `ukw profile` share: what to
// boot and how.
type guestFlags struct {
	cmdline  string
	memory   int
	duration time.Duration
}

func (g *guestFlags) add(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&g.cmdline, "cmdline", "", "kernel command line (default: the app's cmdline, or the image's base name)")
	fl.IntVar(&g.memory, "mem", 0, "guest RAM in MiB (default: the app's memory, or 32)")
	fl.DurationVar(&g.duration, "duration", 0, "stop the guest after this long (0: run it to its end)")
}

// guestTarget is a built or given kernel, ready to boot.
type guestTarget struct {
	name, image, elf string
	cfg              guest.Config
}

// resolve builds DIR (an app with ukw.yaml) or takes IMAGE as both the
// bootable image and the symbol file.
func (g *guestFlags) resolve(ctx context.Context, cmd *cobra.Command, args []string, errOut io.Writer) (*guestTarget, error) {
	p := "."
	if len(args) == 1 {
		p = args[0]
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	t := &guestTarget{}
	if st.IsDir() {
		app, err := build.Load(p)
		if err != nil {
			return nil, err
		}
		res, err := build.Build(ctx, app, build.Options{})
		if res != nil && err != nil {
			for _, d := range res.Diagnostics {
				fmt.Fprintln(errOut, d)
			}
		}
		if err != nil {
			return nil, err
		}
		t.name, t.image, t.elf = app.Manifest.Name, res.ELF, res.ELF
		t.cfg = guest.Config{Image: res.ELF, ELF: res.ELF, Cmdline: res.Cmdline, MemoryMiB: res.MemoryMiB}
	} else {
		t.name = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		t.image, t.elf = p, p
		t.cfg = guest.Config{Image: p, ELF: p, Cmdline: t.name}
	}
	if cmd.Flags().Changed("cmdline") {
		t.cfg.Cmdline = g.cmdline
	}
	if g.memory > 0 {
		t.cfg.MemoryMiB = g.memory
	}
	return t, nil
}

// boot starts the target on the native VMM, stopped at its entry.
func (t *guestTarget) boot() (*vmm.Machine, error) {
	if err := unix.Access("/dev/kvm", unix.R_OK|unix.W_OK); err != nil {
		return nil, fmt.Errorf("/dev/kvm is not usable: %v", err)
	}
	return vmm.New(t.cfg)
}
