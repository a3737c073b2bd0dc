package resp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/wire"
	"github.com/tribusmq/tribus/wire/internal/door"
)

// RedisVersion is the Redis release tribus reports in HELLO and INFO: the one whose pub/sub
// and connection commands it implements (CLIENT SETINFO is 7.2's). Clients that switch
// features on the server version see a Redis they support.
const RedisVersion = "7.2.0"

// DefaultMaxClients is Redis's maxclients default.
const DefaultMaxClients = 10000

// Options configures a [Server]. The zero value, and nil, give Redis's defaults.
type Options struct {
	// Password is requirepass: when set, a client must AUTH (or HELLO with AUTH) with it
	// before any other command, as user "default" or with the password alone. "" means no
	// password, and every connection starts authenticated.
	Password string
	// MaxClients is maxclients: the connection that would be one more is sent "-ERR max
	// number of clients reached" and closed. 0 means [DefaultMaxClients]; negative is invalid.
	MaxClients int
	// IdleTimeout is timeout: a connection that sends nothing for this long is closed,
	// unless it is subscribed (Redis never times out a pub/sub client). 0 means never.
	IdleTimeout time.Duration
	// MaxBulkLen is proto-max-bulk-len, the longest bulk string a request may carry, in
	// bytes. 0 means [DefaultMaxBulkLen]; negative is invalid.
	MaxBulkLen int64
	// Limits bound each subscribed connection's unread messages: Redis's
	// client-output-buffer-limit pubsub (32mb 8mb 60 with disconnection) when zero. A
	// connection over them is closed, as Redis closes it. [pubsub.Block] is refused: a client
	// publishing to its own full channel would wait for itself.
	Limits pubsub.Limits
	// Version, if set, is reported as tribus_version in INFO server.
	Version string
	// Logger receives connection errors at Debug level. nil discards them.
	Logger *slog.Logger
	// Observer, if set, is called when a client's connection opens and when it closes
	// (wire.ConnEvent), on the connection's goroutine with none of the server's locks held;
	// it must be quick. nil costs nothing.
	Observer func(wire.ConnEvent)
}

func (o *Options) resolve() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	if v.MaxClients < 0 || v.MaxBulkLen < 0 || v.IdleTimeout < 0 {
		return v, fmt.Errorf("%w: MaxClients, MaxBulkLen and IdleTimeout must not be negative", ErrInvalidOptions)
	}
	if v.Limits.Policy == pubsub.Block {
		return v, fmt.Errorf("%w: the Block policy is not available to remote subscribers", ErrInvalidOptions)
	}
	if v.MaxClients == 0 {
		v.MaxClients = DefaultMaxClients
	}
	if v.MaxBulkLen == 0 {
		v.MaxBulkLen = DefaultMaxBulkLen
	}
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// Server serves a [pubsub.Hub] to Redis clients over RESP2 and RESP3. It owns the
// connections it accepts and the goroutines that serve them; [Server.Close] ends them all.
//
// A Server is safe for concurrent use. The zero value is not usable; call [NewServer].
type Server struct {
	hub     *pubsub.Hub
	opts    Options
	started time.Time
	nextID  atomic.Int64
	// outputLimit is the pub/sub hard limit applied to a subscribed connection's unwritten
	// output (see conn.checkOutputLocked).
	outputLimit int

	runIDOnce sync.Once
	runIDHex  string

	// doors holds the listeners and connections. Its lock is taken last (after a
	// connection's wmu and the hub's locks, see doc.go).
	doors   door.Set
	tcpPort atomic.Int32 // the port of the first TCP listener, for INFO

	stats struct {
		connections, rejected, commands atomic.Int64
	}
}

// NewServer returns a server for hub; opts nil means Redis's defaults. It starts nothing
// until [Server.Serve] or [Server.Dial] is called.
func NewServer(hub *pubsub.Hub, opts *Options) (*Server, error) {
	if hub == nil {
		return nil, fmt.Errorf("%w: nil hub", ErrInvalidOptions)
	}
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	// The sets and the run id are made at first use: a broker that never serves Redis pays
	// nothing for its door.
	limit := o.Limits.MaxBytes
	switch {
	case limit == 0:
		limit = pubsub.DefaultMaxBytes
	case limit < 0:
		limit = math.MaxInt
	}
	s := &Server{hub: hub, opts: o, started: time.Now(), outputLimit: int(min(limit, math.MaxInt))}
	s.doors.Observe = door.Observer("redis", o.Observer)
	return s, nil
}

// runID is INFO's run_id: 40 random hex digits, fixed for the server's life.
func (s *Server) runID() string {
	s.runIDOnce.Do(func() {
		var id [20]byte
		_, _ = rand.Read(id[:])
		s.runIDHex = hex.EncodeToString(id[:])
	})
	return s.runIDHex
}

// Serve accepts connections on ln and serves each in its own goroutine until ln fails or the
// server is closed. It always returns an error: [ErrServerClosed] after [Server.Close], else
// the listener's. Serve closes ln when it returns. Several listeners may be served at once.
func (s *Server) Serve(ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		s.tcpPort.CompareAndSwap(0, int32(a.Port))
	}
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

// Dial opens an in-process connection to the server, with no socket: a buffered in-memory
// pipe whose other end the server serves like an accepted connection. Its signature is
// go-redis's Options.Dialer (network and addr are ignored), so
//
//	rdb := redis.NewClient(&redis.Options{Dialer: srv.Dial})
//
// talks to the server with no network at all. The connection supports deadlines. Dial
// returns [ErrServerClosed] after Close, or ctx's error if ctx has already ended.
func (s *Server) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return s.doors.Dial(ctx, ErrServerClosed, s.start)
}

// start serves nc in a new goroutine, or refuses it as Redis does when the server is full.
// It reports false when the server is closed.
func (s *Server) start(nc net.Conn) bool {
	return s.doors.Admit(nc, s.opts.MaxClients, s.refuse, func() {
		s.stats.connections.Add(1)
		newConn(s, nc).serve()
	})
}

// refuse turns a connection away over MaxClients. Best effort, as in Redis: the error is
// written once and the connection closed.
func (s *Server) refuse(nc net.Conn) {
	s.stats.rejected.Add(1)
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write([]byte("-ERR max number of clients reached\r\n"))
	nc.Close()
}

func (s *Server) remove(c *conn) { s.doors.Remove(c.nc) }

// Close stops every listener being served, closes every connection (a subscriber's unread
// messages are lost, as when Redis shuts down) and waits for every goroutine the server
// started. Serve calls return [ErrServerClosed]. Close is idempotent and returns nil.
func (s *Server) Close() error {
	s.doors.Close()
	return nil
}

// Stats are a server's counters since [NewServer].
type Stats struct {
	Connections         int   // open connections now
	ConnectionsReceived int64 // connections accepted and served (Redis's total_connections_received)
	Rejected            int64 // connections refused over MaxClients (rejected_connections)
	Commands            int64 // commands run (total_commands_processed)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Connections:         s.doors.Len(),
		ConnectionsReceived: s.stats.connections.Load(),
		Rejected:            s.stats.rejected.Load(),
		Commands:            s.stats.commands.Load(),
	}
}

// DropConnections closes every client connection at once, with no goodbye, as a network
// failure would, and returns how many there were. The server goes on serving: clients that
// reconnect are served. It is for tests of what clients do when their connection is lost.
func (s *Server) DropConnections() int { return s.doors.Drop() }
