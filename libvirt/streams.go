package libvirt

import (
	"context"
	"fmt"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"ukw/guest"
)

// consoleWriter publishes what the console stream delivers.
type consoleWriter struct{ m *Machine }

func (w consoleWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.m.markOnce("first console byte")
		w.m.Publish(guest.ConsoleEvent{Data: append([]byte(nil), p...)})
	}
	return len(p), nil
}

// exitWriter receives the exit UART's stream: the first byte is the
// guest's exit status (the low byte of what it wrote to port 0xf4).
type exitWriter struct {
	m    *Machine
	once sync.Once
}

func (w *exitWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		status := int(p[0])
		w.m.markOnce("exit byte")
		w.once.Do(func() {
			go w.m.finish(guest.ExitEvent{Exit: guest.Exit{How: guest.ExitPort, Status: status, Port: ExitIOBase}}, true)
		})
	}
	return len(p), nil
}

// startStreams opens the console (devName nil: the domain's default
// console) and, for ukw domains, the exit channel, and follows the domain's
// lifecycle events. The streams must be open before the guest runs: QEMU
// drops pty output nobody reads.
func (m *Machine) startStreams(ctx context.Context, devName golibvirt.OptString) error {
	events, err := m.conn.lv.LifecycleEvents(ctx)
	if err != nil {
		return fmt.Errorf("libvirt lifecycle events: %w", err)
	}
	go m.followLifecycle(events)

	m.consoleDone = make(chan struct{})
	go func() {
		defer close(m.consoleDone)
		if err := m.conn.lv.DomainOpenConsole(m.dom, devName, consoleWriter{m}, 0); err != nil && !m.isFinal() {
			m.Publish(guest.LogEvent{Msg: fmt.Sprintf("console of %s: %v", m.dom.Name, err)})
		}
	}()
	if m.info.ExitChannel != "" {
		go func() {
			w := &exitWriter{m: m}
			if err := m.conn.lv.DomainOpenConsole(m.dom, golibvirt.OptString{m.info.ExitChannel}, w, 0); err != nil && !m.isFinal() {
				m.Publish(guest.LogEvent{Msg: fmt.Sprintf("exit channel of %s: %v", m.dom.Name, err)})
			}
		}()
	}
	// A round trip on the same connection, so that the daemon has taken
	// the console requests before the caller resumes the guest.
	_, _, err = m.conn.lv.DomainGetState(m.dom, 0)
	return err
}

func (m *Machine) isFinal() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.final
}

// followLifecycle turns libvirt's lifecycle events for this domain into
// state changes and, when the domain ends, the final event.
func (m *Machine) followLifecycle(events <-chan golibvirt.DomainEventLifecycleMsg) {
	for ev := range events {
		if ev.Dom.UUID != m.dom.UUID {
			continue
		}
		switch golibvirt.DomainEventType(ev.Event) {
		case golibvirt.DomainEventSuspended:
			if m.dbg == nil {
				m.setState(guest.Stopped)
			}
		case golibvirt.DomainEventResumed:
			if m.dbg == nil {
				m.setState(guest.Running)
			}
		case golibvirt.DomainEventStopped:
			go m.finish(m.stoppedEvent(golibvirt.DomainEventStoppedDetailType(ev.Detail)), false)
		}
	}
}

// stoppedEvent maps the reason libvirt gives for a domain that ended.
func (m *Machine) stoppedEvent(detail golibvirt.DomainEventStoppedDetailType) guest.Event {
	m.mu.Lock()
	killing := m.killing
	m.mu.Unlock()
	switch detail {
	case golibvirt.DomainEventStoppedDestroyed:
		if killing {
			return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}}
		}
		m.Publish(guest.LogEvent{Msg: fmt.Sprintf("domain %s was destroyed outside this session", m.dom.Name)})
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitKilled}}
	case golibvirt.DomainEventStoppedShutdown:
		// The guest powered off or reset (on_reboot=destroy): libvirt does
		// not tell which, nor a triple fault from a keyboard-controller reset.
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther}}
	case golibvirt.DomainEventStoppedCrashed:
		m.Publish(guest.LogEvent{Msg: "QEMU exited on its own (e.g. QEMU's isa-debug-exit device); libvirt does not report its exit status"})
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther}}
	case golibvirt.DomainEventStoppedFailed:
		return guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1, Detail: "libvirt reports that QEMU failed"}}
	}
	return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther}}
}

// watchTimeout ends a guest that has run (not counting stops) longer than d.
func (m *Machine) watchTimeout(ctx context.Context, d time.Duration) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.isFinal() {
			return
		}
		if m.elapsed() > d {
			m.finish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultTimeout, Vector: -1,
				Detail: fmt.Sprintf("guest ran longer than %v", d)}}, true)
			return
		}
	}
}
