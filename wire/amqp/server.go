package amqp

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/internal/door"
)

// Server serves [exchange.Router]s to AMQP 0-9-1 clients (amqp091-go, pika, the RabbitMQ
// Java and .NET clients). It owns the connections it accepts and the goroutines that serve
// them; [Server.Close] ends them all.
//
// A Server is safe for concurrent use. The zero value is not usable; call [NewServer].
type Server struct {
	opts  Options
	doors door.Set // listeners and sockets; its lock is taken last

	mu    sync.Mutex // guards conns
	conns map[*conn]struct{}
}

// NewServer returns a server for r, which is the virtual host "/"; opts nil means RabbitMQ's
// defaults. It starts nothing until [Server.Serve] or [Server.Dial] is called.
func NewServer(r *exchange.Router, opts *Options) (*Server, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil router", ErrInvalidOptions)
	}
	o, err := opts.resolve(r)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, conns: make(map[*conn]struct{})}
	s.doors.Observe = door.Observer("amqp", o.Observer)
	return s, nil
}

// Serve accepts connections on ln and serves each in its own goroutine until ln fails or the
// server is closed. It always returns an error: [ErrServerClosed] after [Server.Close], else
// the listener's. Serve closes ln when it returns. Several listeners may be served at once.
func (s *Server) Serve(ln net.Listener) error {
	return s.doors.Serve(ln, ErrServerClosed, s.opts.Logger, func(nc net.Conn) { s.start(nc) })
}

// ListenAndServe listens on the TCP address addr and serves it, as [Server.Serve].
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Dial opens an in-process connection to the server, with no socket. Its signature is
// amqp091-go's Config.Dial (network and addr are ignored), so
//
//	conn, err := amqp.DialConfig("amqp://guest:guest@tribus/", amqp.Config{Dial: srv.Dial})
//
// talks to the server with no network at all. An in-process connection counts as loopback
// for [Options.LoopbackUsers]. Dial returns [ErrServerClosed] after Close.
func (s *Server) Dial(network, addr string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, addr)
}

// DialContext is [Server.Dial] with a context, for clients whose dialer takes one.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return s.doors.Dial(ctx, ErrServerClosed, s.start)
}

// start serves nc in a new goroutine. It reports false when the server is closed.
func (s *Server) start(nc net.Conn) bool {
	return s.doors.Admit(nc, s.opts.MaxConnections, refuse, func() {
		c := newConn(s, nc)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
}

// refuse turns a connection away over MaxConnections: RabbitMQ's connection_max closes the
// socket before the handshake.
func refuse(nc net.Conn) { nc.Close() }

// Close stops every listener, tells every open connection that the server is shutting down
// (connection.close 320 CONNECTION_FORCED, as RabbitMQ does when it stops), closes them (their
// unacked deliveries are requeued and their exclusive queues deleted) and waits for every
// goroutine the server started. A client that does not read is given a second to take the
// close. Close is idempotent and returns nil.
func (s *Server) Close() error {
	s.doors.Shut()
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(c.forceClose)
	}
	wg.Wait()
	s.doors.Close()
	return nil
}

// DropConnections closes every client connection at once, with no goodbye, as a network
// failure would, and returns how many there were. The server goes on serving: clients that
// reconnect are served. It is for tests of what clients do when their connection is lost.
func (s *Server) DropConnections() int { return s.doors.Drop() }
