package main

import (
	"context"
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
				if err := trace.WriteCollectionJSON(out, col, clock); err != nil {
					return err
				}
			} else {
				trace.WriteCollection(out, col, clock, perfetto)
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
