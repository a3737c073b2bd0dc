package kafka

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/wire"
	"github.com/tribusmq/tribus/wire/internal/door"
)

// DefaultMaxRequestSize is socket.request.max.bytes: the largest request a client may send.
const DefaultMaxRequestSize = 100 << 20

// NodeID is the broker id the server reports: it is the only broker, the leader of every
// partition and the coordinator of every group.
const NodeID = 0

// Options configures a [Server]. The zero value, and nil, give Kafka's broker defaults.
type Options struct {
	// DisableAutoCreateTopics turns off auto.create.topics.enable, which is on by default: a
	// Metadata request that allows it, or a Produce, naming a topic that does not exist
	// creates it with DefaultPartitions partitions and the default topic configuration.
	DisableAutoCreateTopics bool
	// DefaultPartitions is num.partitions, the partition count of auto-created topics and of
	// CreateTopics requests that leave it to the broker (-1). 0 means 1.
	DefaultPartitions int
	// AdvertisedAddr is the host:port Metadata and FindCoordinator send clients to connect
	// to (advertised.listeners). "" means the address each client connected to, which is
	// right unless the client reached the server through a proxy or a NAT.
	AdvertisedAddr string
	// MaxRequestSize is socket.request.max.bytes: a request announcing more bytes closes its
	// connection. 0 means [DefaultMaxRequestSize]; negative is invalid.
	MaxRequestSize int32
	// MaxConnections bounds the open connections (max.connections); the one over it is
	// closed at once. 0 means no limit, as in Kafka; negative is invalid.
	MaxConnections int
	// SASLPlainUsers turns on SASL/PLAIN authentication (a SASL_PLAINTEXT listener): user
	// name → password. Each connection must then authenticate before any request but
	// ApiVersions and SaslHandshake; one that does not, or fails, is closed, as Kafka does.
	// nil serves every connection unauthenticated (a PLAINTEXT listener). The map is copied.
	SASLPlainUsers map[string]string
	// Logger receives connection errors at Debug level. nil discards them.
	Logger *slog.Logger
	// Observer, if set, is called when a client's connection opens and when it closes
	// (wire.ConnEvent), on the connection's goroutine with none of the server's locks held;
	// it must be quick. nil costs nothing.
	Observer func(wire.ConnEvent)
}

// Validate reports, as [ErrInvalidOptions], what [NewServer] would refuse in o. nil is valid.
func (o *Options) Validate() error {
	_, err := o.resolve()
	return err
}

func (o *Options) resolve() (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	if v.DefaultPartitions < 0 || v.MaxRequestSize < 0 || v.MaxConnections < 0 {
		return v, fmt.Errorf("%w: DefaultPartitions, MaxRequestSize and MaxConnections must not be negative", ErrInvalidOptions)
	}
	if v.AdvertisedAddr != "" {
		if _, _, err := splitHostPort(v.AdvertisedAddr); err != nil {
			return v, fmt.Errorf("%w: AdvertisedAddr: %w", ErrInvalidOptions, err)
		}
	}
	if v.DefaultPartitions == 0 {
		v.DefaultPartitions = 1
	}
	if v.MaxRequestSize == 0 {
		v.MaxRequestSize = DefaultMaxRequestSize
	}
	if v.MaxConnections == 0 {
		v.MaxConnections = math.MaxInt
	}
	if v.SASLPlainUsers != nil {
		v.SASLPlainUsers = maps.Clone(v.SASLPlainUsers)
	}
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// Server serves a [log.Log] to Kafka clients over the Kafka protocol, as a cluster of one
// broker. It owns the connections it accepts and the goroutines that serve them;
// [Server.Close] ends them all (the Log stays open: it is the caller's).
//
// A Server is safe for concurrent use. The zero value is not usable; call [NewServer].
type Server struct {
	log       *log.Log
	req       *log.Requests
	opts      Options
	clusterID string

	doors door.Set
	// done is closed by Close: requests that wait (a Fetch, a JoinGroup) stop waiting.
	done      chan struct{}
	closeOnce sync.Once

	stats struct {
		connections, rejected, requests atomic.Int64
	}
}

// NewServer returns a server for l; opts nil means Kafka's defaults. It starts nothing until
// [Server.Serve] or [Server.Dial] is called.
func NewServer(l *log.Log, opts *Options) (*Server, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: nil log", ErrInvalidOptions)
	}
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	s := &Server{log: l, req: l.Requests(), opts: o, clusterID: base64.RawURLEncoding.EncodeToString(id[:]),
		done: make(chan struct{})}
	s.doors.Observe = door.Observer("kafka", o.Observer)
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

// Dial opens an in-process connection to the server, with no socket: a buffered in-memory
// pipe whose other end the server serves like an accepted connection. Its signature is
// franz-go's kgo.Dialer option (network and addr are ignored), so
//
//	cl, _ := kgo.NewClient(kgo.SeedBrokers("tribus:9092"), kgo.Dialer(srv.Dial))
//
// talks to the server with no network at all. The connection supports deadlines. Dial
// returns [ErrServerClosed] after Close, or ctx's error if ctx has already ended.
func (s *Server) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return s.doors.Dial(ctx, ErrServerClosed, s.start)
}

// start serves nc in a new goroutine, or closes it over MaxConnections. It reports false
// when the server is closed.
func (s *Server) start(nc net.Conn) bool {
	return s.doors.Admit(nc, s.opts.MaxConnections, s.refuse, func() {
		s.stats.connections.Add(1)
		newConn(s, nc).serve()
	})
}

// refuse closes a connection over MaxConnections, as Kafka does: the protocol has no
// greeting to carry an error.
func (s *Server) refuse(nc net.Conn) {
	s.stats.rejected.Add(1)
	nc.Close()
}

// Close stops every listener being served, closes every connection (a request being
// served gets no response) and waits for every goroutine the server started. Serve calls
// return [ErrServerClosed]. Close is idempotent and returns nil. It does not close the Log.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.doors.Close()
	return nil
}

// Stats are a server's counters since [NewServer].
type Stats struct {
	Connections         int   // open connections now
	ConnectionsReceived int64 // connections accepted and served
	Rejected            int64 // connections closed over MaxConnections
	Requests            int64 // requests answered (or, for acks=0 produces, run)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.doors.Len(), ConnectionsReceived: s.stats.connections.Load(),
		Rejected: s.stats.rejected.Load(), Requests: s.stats.requests.Load()}
}

// advertised returns the host and port a client on nc is told to connect to.
func (s *Server) advertised(nc net.Conn) (string, int32) {
	addr := s.opts.AdvertisedAddr
	if addr == "" {
		if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
			addr = a.String()
		} else {
			addr = inprocAddr
		}
	}
	host, port, _ := splitHostPort(addr)
	return host, port
}

// inprocAddr is the address in-process connections are told to connect to: any address
// reaches the server through [Server.Dial].
const inprocAddr = "tribus:9092"

// splitHostPort splits a host:port with a numeric port.
func splitHostPort(addr string) (string, int32, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var port int32
	if _, err := fmt.Sscanf(p, "%d", &port); err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a TCP port", p)
	}
	return host, port, nil
}

// idle is how long a connection may send nothing before it is closed:
// connections.max.idle.ms, 10 minutes.
const idle = 10 * time.Minute

// DropConnections closes every client connection at once, with no goodbye, as a network
// failure would, and returns how many there were. The server goes on serving: clients that
// reconnect are served. It is for tests of what clients do when their connection is lost.
func (s *Server) DropConnections() int { return s.doors.Drop() }
