package libvirt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	// QEMU's own events first: the SHUTDOWN reason tells a reset (triple
	// fault) from a power-off, which libvirt's lifecycle event does not.
	// They need a connection of their own: go-libvirt routes events by
	// callback ID alone, and libvirt numbers QEMU monitor callbacks and
	// domain event callbacks separately, so the two would collide.
	qlv, err := connect(m.conn.uri)
	if err != nil {
		return fmt.Errorf("second libvirt connection for QEMU events: %w", err)
	}
	m.qlv = qlv
	qevents, err := qlv.SubscribeQEMUEvents(ctx, m.dom.Name)
	if err != nil {
		return fmt.Errorf("QEMU events through libvirt: %w", err)
	}
	go m.followQEMU(qevents)
	events, err := m.conn.lv.LifecycleEvents(ctx)
	if err != nil {
		return fmt.Errorf("libvirt lifecycle events: %w", err)
	}
	go m.followLifecycle(events)

	m.consoleDone = make(chan struct{})
	conIn, conOut := io.Pipe() // what WriteConsole sends to the guest's COM1
	m.conIn = conOut
	started := make(chan struct{}, 2)
	go func() {
		defer close(m.consoleDone)
		started <- struct{}{}
		if err := m.conn.lv.DomainOpenConsoleBidirectional(m.dom, devName, conIn, consoleWriter{m}, 0); err != nil && !m.isFinal() {
			m.Publish(guest.LogEvent{Msg: fmt.Sprintf("console of %s: %v", m.dom.Name, err)})
		}
	}()
	if m.info.ExitChannel != "" {
		go func() {
			w := &exitWriter{m: m}
			started <- struct{}{}
			if err := m.conn.lv.DomainOpenConsole(m.dom, golibvirt.OptString{m.info.ExitChannel}, w, 0); err != nil && !m.isFinal() {
				m.Publish(guest.LogEvent{Msg: fmt.Sprintf("exit channel of %s: %v", m.dom.Name, err)})
			}
		}()
	}
	// Both stream goroutines are under way; then a round trip on the same
	// connection, so that the daemon has taken the console requests before
	// the caller resumes the guest.
	<-started
	if m.info.ExitChannel != "" {
		<-started
	}
	time.Sleep(time.Millisecond)
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
			go m.checkPaused()
		case golibvirt.DomainEventResumed:
			if m.dbg == nil {
				m.setState(guest.Running)
			}
		case golibvirt.DomainEventStopped:
			if !m.isFinal() {
				go m.finish(m.stoppedEvent(golibvirt.DomainEventStoppedDetailType(ev.Detail)), false)
			}
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
		// QEMU's SHUTDOWN event says why (QEMU qapi/run-state.json,
		// ShutdownCause); with on_reboot=destroy a reset ends the domain.
		switch m.shutdownCause() {
		case "guest-reset":
			return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitReset}}
		case "guest-shutdown":
			return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitPowerOff}}
		}
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther}}
	case golibvirt.DomainEventStoppedCrashed, golibvirt.DomainEventStoppedFailed:
		m.Publish(guest.LogEvent{Msg: "QEMU exited on its own (e.g. through QEMU's isa-debug-exit device); libvirt does not report its exit status"})
		return guest.ExitEvent{Exit: guest.Exit{How: guest.ExitOther}}
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

// followQEMU records the cause of QEMU's first SHUTDOWN event.
func (m *Machine) followQEMU(events <-chan golibvirt.DomainEvent) {
	for ev := range events {
		if ev.Event != "SHUTDOWN" {
			continue
		}
		var data struct {
			Reason string `json:"reason"`
		}
		// The first cause wins: after a guest's reset, libvirt ends QEMU
		// with a signal (on_reboot=destroy), a second SHUTDOWN.
		if json.Unmarshal(ev.Details, &data) == nil {
			m.mu.Lock()
			if m.shutdown == "" {
				m.shutdown = data.Reason
			}
			m.mu.Unlock()
		}
	}
}

func (m *Machine) shutdownCause() string {
	// The QEMU event and the lifecycle event travel separately: give the
	// former a moment.
	for i := 0; i < 20; i++ {
		m.mu.Lock()
		c := m.shutdown
		m.mu.Unlock()
		if c != "" {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ""
}

// checkPaused asks QEMU why the VM paused: a pause ukw did not ask for may
// be QEMU giving up on the guest (a KVM internal error, e.g. kvm-pvm's
// emulation failure on an int3 it cannot deliver) or a guest panic.
func (m *Machine) checkPaused() {
	out, err := m.conn.lv.QEMUDomainMonitorCommand(m.dom, `{"execute":"query-status"}`, 0)
	if err != nil {
		return
	}
	var st struct {
		Return struct {
			Status string `json:"status"`
		} `json:"return"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return
	}
	switch st.Return.Status {
	case "internal-error":
		m.finish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultInternalError, Vector: -1,
			Detail: "QEMU stopped the guest on a hypervisor internal error (see the domain's QEMU log)"}}, true)
	case "guest-panicked":
		m.finish(guest.FaultEvent{Fault: guest.Fault{Kind: guest.FaultException, Vector: -1,
			Detail: "the guest reported a panic (pvpanic)"}}, true)
	}
}
