package gdbstub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"ukw/guest"
)

// DefaultAddr is where the stub listens unless told otherwise.
const DefaultAddr = "127.0.0.1:1234"

// ListenOptions tune ListenAndServe.
type ListenOptions struct {
	// AllowRemote permits an address that is not loopback. Without it such
	// an address is refused: the stub gives full control of the guest.
	AllowRemote bool
	// Serve are the options of each debugger session.
	Serve Options
	// OnSession, when set, is called as each debugger connects and again
	// (with the session's error) when it goes.
	OnSession func(remote string, err error, connected bool)
}

// Stub is a listening GDB stub serving one machine, one debugger at a time.
type Stub struct {
	// Addr is the address bound, e.g. "127.0.0.1:1234".
	Addr string

	ln     net.Listener
	done   chan struct{}
	mu     sync.Mutex
	conn   net.Conn
	err    error
	closed bool
}

// ListenAndServe listens on addr ("" means DefaultAddr; port 0 picks a free
// one) and serves debuggers for m in the background, one session after
// another, until ctx ends or Close. It returns once listening.
func ListenAndServe(ctx context.Context, addr string, m guest.Machine, opt ListenOptions) (*Stub, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	if err := CheckAddr(addr, opt.AllowRemote); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gdbstub: %w", err)
	}
	s := &Stub{Addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	go s.serve(m, opt)
	return s, nil
}

// CheckAddr refuses a listen address that is not loopback unless
// allowRemote: an empty host (all interfaces) counts as remote.
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("gdbstub: listen address %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("gdbstub: %q is not a loopback address; the GDB stub gives full control of the guest, so a remote address needs --gdb-allow-remote", addr)
}

func (s *Stub) serve(m guest.Machine, opt ListenOptions) {
	defer close(s.done)
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			if !s.closed {
				s.err = err
			}
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conn = conn
		s.mu.Unlock()
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		remote := conn.RemoteAddr().String()
		if opt.OnSession != nil {
			opt.OnSession(remote, nil, true)
		}
		err = ServeOptions(conn, m, opt.Serve)
		conn.Close()
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		if opt.OnSession != nil {
			opt.OnSession(remote, err, false)
		}
		if m.State() == guest.Finished {
			// Nothing left to debug; keep accepting so a late gdb gets
			// the exit report rather than "connection refused".
			continue
		}
	}
}

// Close stops listening and ends the current session. The machine is left
// as it is. It waits for the serving goroutine.
func (s *Stub) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	<-s.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Err reports why serving stopped early (an Accept failure), if it did.
func (s *Stub) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// GDBCommand is the command line that attaches gdb to this stub with the
// symbols of elf (the debug ELF, NAME.elf of a ukw build).
func (s *Stub) GDBCommand(elf string) string {
	return GDBCommand(s.Addr, elf)
}

// GDBCommand is the gdb command line attaching to a stub at addr with elf.
func GDBCommand(addr, elf string) string {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return fmt.Sprintf("gdb -q %s -ex 'target remote %s'", shellQuote(elf), addr)
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
