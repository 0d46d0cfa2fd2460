package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"ukw/gdbstub"
	"ukw/guest"
)

// finishWait bounds how long a finished run waits for an attached
// debugger to take the exit report and disconnect.
const finishWait = 2 * time.Second

// debugger is `ukw run --gdb`: a GDB stub serving the machine
// (gdbstub.ListenAndServe), one debugger at a time, for the whole run.
type debugger struct {
	o    *Options
	elf  string
	stub *gdbstub.Stub

	mu       sync.Mutex
	attached bool
	gone     chan struct{} // closed when the current session ends
}

// serveGDB starts the stub and prints the gdb command that attaches to it.
func serveGDB(ctx context.Context, o *Options, m guest.Machine, elf string) (*debugger, error) {
	d := &debugger{o: o, elf: elf}
	stub, err := gdbstub.ListenAndServe(ctx, o.GDBAddr, m, gdbstub.ListenOptions{
		AllowRemote: o.GDBAllowRemote,
		OnSession:   d.session,
	})
	if err != nil {
		return nil, err
	}
	d.stub = stub
	held := "the guest runs; attaching stops it"
	if o.GDBWait {
		held = "the guest waits at its first instruction until the debugger continues it"
	}
	fmt.Fprintf(o.Stderr, "ukw: GDB stub on %s (%s); attach with:\n%s\n", stub.Addr, held, stub.GDBCommand(elf))
	return d, nil
}

// session is the stub's OnSession callback.
func (d *debugger) session(remote string, err error, connected bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if connected {
		d.attached, d.gone = true, make(chan struct{})
		fmt.Fprintf(d.o.Stderr, "ukw: debugger attached from %s\n", remote)
		return
	}
	d.attached = false
	close(d.gone)
	if err != nil {
		fmt.Fprintf(d.o.Stderr, "ukw: debugger %s gone: %v\n", remote, err)
	} else {
		fmt.Fprintf(d.o.Stderr, "ukw: debugger %s detached\n", remote)
	}
}

// stopped notes a stop: an attached debugger has it; without one (the
// guest's own int3 or a debugger that vanished) the guest waits for the next.
func (d *debugger) stopped(s guest.Stop) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.attached {
		fmt.Fprintf(d.o.Stderr, "ukw: the guest stopped (%v at %#x); it waits for a debugger: %s\n", s.Reason, s.PC, d.stub.GDBCommand(d.elf))
	}
}

// finish waits (briefly) for an attached debugger to read the guest's end
// and go, so that it sees the exit status rather than a closed connection.
func (d *debugger) finish(ctx context.Context) {
	d.mu.Lock()
	attached, gone := d.attached, d.gone
	d.mu.Unlock()
	if !attached {
		return
	}
	select {
	case <-gone:
	case <-time.After(finishWait):
	case <-ctx.Done():
	}
}

func (d *debugger) close() { d.stub.Close() }
