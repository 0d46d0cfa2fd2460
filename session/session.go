package session

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"ukw/build"
	"ukw/guest"
)

// Config says what a session works on. Exactly one of Dir, Image, Attach
// or Machine is set.
type Config struct {
	// Dir is an app directory (ukw.yaml): build it, boot it, watch it and
	// reload on every relevant save.
	Dir string
	// Image boots a prebuilt image; ELF (optional) is its debug ELF.
	Image string
	ELF   string
	// Attach is HOST:PORT of a GDB remote stub to debug (ELF gives symbols).
	Attach string
	// Machine is a guest already attached to by the caller (a libvirt
	// domain taken over with libvirt.Attach); ELF gives its symbols. The
	// session debugs it as it does an Attach address and closes it at the
	// end (which detaches an attached machine).
	Machine guest.Machine

	// Backend names the hypervisor for Dir and Image: "kvm" (default),
	// "qemu" or "libvirt" (at Connect, a libvirt URI; empty: libvirt's default).
	Backend string
	Connect string
	// Boot, when set, creates machines instead of Backend (other backends, tests).
	Boot func(guest.Config) (guest.Machine, error)
	// Cmdline and MemoryMiB override the app's; Timeout limits each run.
	Cmdline   string
	MemoryMiB int
	Timeout   time.Duration

	// Breakpoints are set (symbolically) before the first run.
	Breakpoints []string
	// StopAtEntry leaves each new guest stopped at its first instruction.
	StopAtEntry bool
	// NoWatch disables rebuild-on-save for Dir.
	NoWatch bool
	// Debounce is the watcher's quiet time (0: the watcher's default).
	Debounce time.Duration
	// Build adjusts builds.
	Build build.Options
}

// Session is one running dev loop. Create it with New; drive it with Send;
// read Events until the channel closes (after Quit or Close).
type Session struct {
	q     *queue
	inbox inbox
	done  chan struct{}
	once  sync.Once
}

// New validates cfg and starts the loop: it builds (for Dir), boots and
// runs in the background, reporting through Events.
func New(cfg Config) (*Session, error) {
	n := 0
	for _, s := range []string{cfg.Dir, cfg.Image, cfg.Attach} {
		if s != "" {
			n++
		}
	}
	if cfg.Machine != nil {
		n++
	}
	if n != 1 {
		return nil, errors.New("session: give exactly one of an app directory, an image, an address to attach to or an attached machine")
	}
	if (cfg.Attach != "" || cfg.Machine != nil) && cfg.ELF == "" {
		return nil, errors.New("session: attaching needs the ELF with symbols (--elf)")
	}
	l, err := newLoop(cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{q: newQueue(), done: make(chan struct{})}
	s.inbox.wake = make(chan struct{}, 1)
	l.s = s
	go func() {
		defer close(s.done)
		defer s.q.close()
		l.run()
	}()
	return s, nil
}

// Events returns the session's events. Read it until it closes.
func (s *Session) Events() <-chan Event { return s.q.out }

// Send queues a command for the loop; it never blocks.
func (s *Session) Send(c Command) { s.inbox.put(c) }

// Done is closed when the loop has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Close ends the session (as Quit does) and waits for the loop to finish.
// The Events channel closes once its remaining events are read.
func (s *Session) Close() error {
	s.once.Do(func() { s.Send(Quit{}) })
	<-s.done
	return nil
}

func (s *Session) emit(e Event) { s.q.put(e) }

func (s *Session) outf(format string, args ...any) {
	s.emit(OutputEvent{Text: fmt.Sprintf(format, args...)})
}

func (s *Session) errorf(format string, args ...any) {
	s.emit(OutputEvent{Text: fmt.Sprintf(format, args...), Error: true})
}

// inbox is the unbounded command queue between Send and the loop.
type inbox struct {
	mu   sync.Mutex
	cmds []Command
	wake chan struct{}
}

func (b *inbox) put(c Command) {
	b.mu.Lock()
	b.cmds = append(b.cmds, c)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []Command {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.cmds
	b.cmds = nil
	return c
}
