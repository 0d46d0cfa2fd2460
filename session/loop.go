package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"ukw/build"
	"ukw/build/watch"
	"ukw/guest"
	"ukw/libvirt"
	"ukw/qemu"
	"ukw/symbols"
	"ukw/vmm"
)

// loop owns every piece of mutable session state; only its goroutine
// touches it. Front ends see copies in events.
type loop struct {
	s   *Session
	cfg Config

	// dev mode (Config.Dir)
	app       *build.App
	spec      build.WatchSpec
	w         *watch.Watcher
	building  bool
	dirty     []string // files changed while a build ran: build again
	dirtySave time.Time
	buildDone chan buildResult
	cancel    context.CancelFunc
	booted    bool // a guest was booted at least once

	// the current image and guest
	image, elf string
	sym        *symbols.File
	m          guest.Machine
	mev        <-chan guest.Event
	mcancel    func()
	state      State

	bps  breakpoints
	goal goal
	// interrupted is set by Interrupt while a goal runs the guest in
	// several runs: the goal ends at its next stop.
	interrupted bool
	// stepiStop marks the stop being reported as the end of a stepi.
	stepiStop bool
	stop      *stopState // the current stop, nil unless stopped
	prev      *guest.Regs
	seq       int
	mem       memHistory
	tr        traceState // trace ring follower and profiler (trace.go)
	// displays are the auto-display expressions (gdbcmds.go)
	displays    []display
	nextDisplay int
}

type buildResult struct {
	res      *build.Result
	err      error
	trigger  []string
	save     time.Time // when the triggering save happened (zero for the first build)
	detected time.Time // when the watcher reported it
	start    time.Time
}

func newLoop(cfg Config) (*loop, error) {
	l := &loop{cfg: cfg, buildDone: make(chan buildResult, 1)}
	l.bps.init()
	if cfg.Dir != "" {
		app, err := build.Load(cfg.Dir)
		if err != nil {
			return nil, err
		}
		l.app = app
		l.spec = app.Watch(nil)
	}
	if cfg.Image != "" {
		l.image, l.elf = cfg.Image, cfg.ELF
		if l.elf == "" {
			l.elf = cfg.Image
		}
	}
	if cfg.Attach != "" || cfg.Machine != nil {
		l.elf = cfg.ELF
	}
	return l, nil
}

func (l *loop) emit(e Event) { l.s.emit(e) }

func (l *loop) setState(st State, detail string) {
	l.state = st
	l.emit(StateEvent{State: st, Detail: detail})
}

func (l *loop) run() {
	defer l.shutdown()
	l.setState(StateIdle, "")
	for _, spec := range l.cfg.Breakpoints {
		l.bps.add(spec, guest.BreakSoftware, false)
	}
	switch {
	case l.app != nil:
		if !l.cfg.NoWatch {
			if err := l.startWatcher(); err != nil {
				l.emit(LogEvent{Msg: "watch: " + err.Error() + " (rebuild with the rebuild command)"})
			}
		}
		l.startBuild(nil, time.Time{}, time.Time{})
	case l.cfg.Attach != "" || l.cfg.Machine != nil:
		if !l.attach() {
			return // nothing to debug and nothing will change: end the session
		}
	default:
		l.boot(nil)
	}
	l.emitBreakpoints()
	for {
		var batches <-chan watch.Batch
		if l.w != nil {
			batches = l.w.Batches()
		}
		select {
		case <-l.s.inbox.wake:
			for _, c := range l.s.inbox.take() {
				if l.traceCommand(c) {
					continue
				}
				if l.command(c) {
					return
				}
			}
		case ev, ok := <-l.mev:
			if !ok {
				l.mev = nil
				continue
			}
			l.machineEvent(ev)
		case b := <-batches:
			l.filesChanged(b)
		case r := <-l.buildDone:
			l.buildFinished(r)
		}
	}
}

func (l *loop) shutdown() {
	if l.cancel != nil {
		l.cancel()
	}
	if l.building {
		<-l.buildDone
	}
	if l.w != nil {
		l.w.Close()
	}
	l.closeMachine()
	if l.sym != nil {
		l.sym.Close()
	}
}

func (l *loop) startWatcher() error {
	roots := []string{l.app.Dir}
	for _, d := range l.spec.Dirs {
		if !within(d, l.app.Dir) {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				roots = append(roots, d)
			}
		}
	}
	w, err := watch.New(roots, l.cfg.Debounce)
	if err != nil {
		return err
	}
	l.w = w
	return nil
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !startsWithDotDot(rel)
}

func startsWithDotDot(rel string) bool {
	return len(rel) >= 3 && rel[:3] == ".."+string(filepath.Separator)
}

// filesChanged starts a rebuild when a batch touches the app's inputs.
func (l *loop) filesChanged(b watch.Batch) {
	var rel []string
	var save time.Time
	for _, p := range b.Paths {
		if b.Rescan || l.spec.Match(p) {
			rel = append(rel, p)
			if st, err := os.Stat(p); err == nil && st.ModTime().After(save) {
				save = st.ModTime()
			}
		}
	}
	if len(rel) == 0 && !b.Rescan {
		return
	}
	if save.IsZero() || save.After(time.Now()) {
		save = time.Now()
	}
	if l.building {
		l.dirty = append(l.dirty, rel...)
		if l.dirtySave.IsZero() {
			l.dirtySave = save
		}
		return
	}
	l.startBuild(rel, save, time.Now())
}

func (l *loop) startBuild(trigger []string, save, detected time.Time) {
	if app, err := build.Load(l.app.Dir); err != nil { // ukw.yaml may have changed
		l.emit(BuildEvent{Phase: BuildFailed, Trigger: trigger, Error: err.Error()})
		if !l.booted {
			l.setState(StateFailed, "bad "+build.ManifestName)
		}
		return
	} else {
		l.app = app
	}
	l.building = true
	if !l.booted {
		l.setState(StateBuilding, l.app.Manifest.Name)
	}
	l.emit(BuildEvent{Phase: BuildStarted, Trigger: trigger})
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	app, opts := l.app, l.cfg.Build
	done := l.buildDone
	go func() {
		start := time.Now()
		res, err := build.Build(ctx, app, opts)
		done <- buildResult{res: res, err: err, trigger: trigger, save: save, detected: detected, start: start}
	}()
}

func (l *loop) buildFinished(r buildResult) {
	l.building = false
	l.cancel = nil
	took := time.Since(r.start)
	ev := BuildEvent{Trigger: r.trigger, Duration: took}
	if r.res != nil {
		ev.Compiled, ev.Cached = r.res.Report.Compiled, r.res.Report.Cached
		ev.ImageBytes = int(r.res.Report.LoadBytes)
		for _, d := range r.res.Diagnostics {
			ev.Diagnostics = append(ev.Diagnostics, Diagnostic(d))
		}
		ev.Output = tail(r.res.Output, 4096)
	}
	if r.err != nil {
		ev.Phase = BuildFailed
		if !errors.Is(r.err, build.ErrCompile) || len(ev.Diagnostics) == 0 {
			ev.Error = r.err.Error()
		}
		l.emit(ev)
		if !l.booted {
			l.setState(StateFailed, "build failed")
		}
		l.buildAgainIfDirty()
		return
	}
	ev.Phase = BuildOK
	l.emit(ev)
	l.spec = l.app.Watch(r.res.Inputs)
	if l.buildAgainIfDirty() {
		return // the image is already stale
	}
	l.image, l.elf = r.res.Image, r.res.ELF
	var tl *Timeline
	if !r.save.IsZero() {
		tl = &Timeline{Files: r.trigger, Detect: r.detected.Sub(r.save), Build: took}
	}
	l.boot(tl)
	if tl != nil && l.m != nil {
		tl.Total = time.Since(r.save)
		l.emit(ReloadEvent{Timeline: *tl})
	}
}

func (l *loop) buildAgainIfDirty() bool {
	if len(l.dirty) == 0 {
		return false
	}
	files, save := l.dirty, l.dirtySave
	l.dirty, l.dirtySave = nil, time.Time{}
	l.startBuild(files, save, time.Now())
	return true
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// newMachine creates a guest with the configured backend.
func (l *loop) newMachine(c guest.Config) (guest.Machine, error) {
	if l.cfg.Boot != nil {
		return l.cfg.Boot(c)
	}
	switch l.cfg.Backend {
	case "", "kvm":
		return vmm.New(c)
	case "qemu":
		return qemu.New(c)
	case "libvirt":
		return libvirt.New(c, libvirt.Options{URI: l.cfg.Connect, Accel: "auto"})
	}
	return nil, fmt.Errorf("unknown backend %q (want kvm, qemu or libvirt)", l.cfg.Backend)
}

func (l *loop) guestConfig() guest.Config {
	c := guest.Config{Image: l.image, ELF: l.elf, Cmdline: l.cfg.Cmdline, MemoryMiB: l.cfg.MemoryMiB, Timeout: l.cfg.Timeout}
	if l.app != nil && l.app.Manifest != nil {
		if c.Cmdline == "" {
			c.Cmdline = l.app.Manifest.Cmdline
		}
		if c.MemoryMiB == 0 {
			c.MemoryMiB = l.app.Manifest.MemoryMiB
		}
	}
	return c
}

// boot replaces the current guest with a new one from l.image, re-applies
// every breakpoint and runs it (or leaves it at entry).
func (l *loop) boot(tl *Timeline) {
	l.closeMachine()
	if err := l.openSymbols(); err != nil {
		l.emit(LogEvent{Msg: "symbols: " + err.Error()})
	}
	l.setState(StateBooting, filepath.Base(l.image))
	t0 := time.Now()
	m, err := l.newMachine(l.guestConfig())
	if err != nil {
		l.s.errorf("boot %s: %v", l.image, err)
		l.setState(StateFailed, "boot failed")
		return
	}
	if tl != nil {
		tl.Boot = time.Since(t0)
	}
	t1 := time.Now()
	l.adopt(m)
	l.booted = true
	l.applyBreakpoints()
	if tl != nil {
		tl.Attach = time.Since(t1)
	}
	if l.cfg.StopAtEntry {
		l.reportStop(guest.Stop{Reason: guest.StopEntry}, "stopped at entry")
		return
	}
	l.resume()
}

// attach connects to a remote stub (Config.Attach) or adopts the machine
// the caller attached to (Config.Machine). It reports whether it did.
func (l *loop) attach() bool {
	if err := l.openSymbols(); err != nil {
		l.emit(LogEvent{Msg: "symbols: " + err.Error()})
	}
	m, what := l.cfg.Machine, "the given machine"
	if m == nil {
		what = l.cfg.Attach
		var err error
		if m, err = dialRSP(l.cfg.Attach); err != nil {
			l.s.errorf("attach %s: %v", l.cfg.Attach, err)
			l.setState(StateFailed, "attach failed")
			return false
		}
	}
	l.adopt(m)
	l.booted = true
	if m.State() == guest.Stopped {
		l.applyBreakpoints()
		l.reportStop(guest.Stop{Reason: guest.StopInterrupt}, "attached")
		return true
	}
	l.setState(StateRunning, "attached to "+what)
	if len(l.bps.list) > 0 {
		l.whileStopped(l.applyBreakpoints) // pause, insert, run on
	}
	return true
}

func (l *loop) adopt(m guest.Machine) {
	l.m = m
	l.mev, l.mcancel = m.Subscribe()
	l.goal, l.stop, l.prev = nil, nil, nil
	l.mem = memHistory{}
	l.bps.machineChanged()
	l.traceAdopt()
}

func (l *loop) openSymbols() error {
	if l.sym != nil {
		l.sym.Close()
		l.sym = nil
	}
	if l.elf == "" {
		return nil
	}
	f, err := symbols.Open(l.elf)
	if err != nil {
		return err
	}
	l.sym = f
	return nil
}

func (l *loop) closeMachine() {
	if l.m == nil {
		return
	}
	l.traceClose()
	if l.mcancel != nil {
		l.mcancel()
	}
	l.m.Close()
	l.m, l.mev, l.mcancel = nil, nil, nil
	l.goal, l.stop = nil, nil
}

// resume continues the stopped guest.
func (l *loop) resume() {
	if l.bps.hasSoftWatch() {
		l.startSoftWatch()
		return
	}
	if err := l.m.Continue(); err != nil {
		l.s.errorf("continue: %v", err)
		return
	}
	l.stop = nil
	l.setState(StateRunning, "")
}

func (l *loop) machineEvent(ev guest.Event) {
	switch e := ev.(type) {
	case guest.ConsoleEvent:
		l.emit(ConsoleEvent{Data: e.Data})
	case guest.StopEvent:
		l.stopped(e.Stop)
	case guest.ExitEvent:
		l.goal, l.stop = nil, nil
		l.emit(ExitEvent{Exit: e.Exit})
		l.setState(StateExited, fmt.Sprintf("exit status %d (%s)", e.Exit.Status, e.Exit.How))
	case guest.FaultEvent:
		l.goal, l.stop = nil, nil
		l.emit(l.faultEvent(e.Fault))
		l.setState(StateFaulted, e.Fault.Summary())
	case guest.LogEvent:
		l.emit(LogEvent{Msg: e.Msg})
	case guest.TraceEvent:
		l.emit(LogEvent{Msg: fmt.Sprintf("guest announced a trace ring at %#x (%d bytes)", e.Ring.Addr, e.Ring.Size)})
	}
	l.traceMachineEvent(ev)
}

func timeNow() time.Time { return time.Now() }
