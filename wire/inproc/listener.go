package inproc

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// DefaultBacklog is how many dialled connections a [Listener] queues for [Listener.Accept]
// before [Listener.Dial] waits, like a socket's listen backlog.
const DefaultBacklog = 128

// Listener is an in-process [net.Listener]: each [Listener.Dial] makes a new connection and
// queues its server end for [Listener.Accept]. Hand Accept's loop (a server's Serve) the
// Listener and the client library Dial, and they talk without a socket:
//
//	l := inproc.NewListener("redis")
//	go server.Serve(l)
//	rdb := redis.NewClient(&redis.Options{Dialer: l.Dial})
//
// A Listener is safe for concurrent use. Make one with [NewListener] or [NewListenerSize];
// the zero value is not usable.
type Listener struct {
	addr    Addr
	size    int           // buffer capacity of each direction of the connections made
	nextID  atomic.Uint64 // the ID of the last client address handed out
	backlog chan *conn    // server ends dialled and not yet accepted
	done    chan struct{} // closed by Close

	mu     sync.Mutex // protects closed; Dial holds it to queue, so Close sees every queued conn
	closed bool
}

// NewListener returns an open Listener whose address is {name, 0} (name "inproc" if empty)
// and whose connections have [DefaultBufferSize] in each direction.
func NewListener(name string) *Listener {
	return NewListenerSize(name, DefaultBufferSize)
}

// NewListenerSize is [NewListener] with bufferSize bytes per direction in each connection, as
// [PipeSize] takes; bufferSize <= 0 means [DefaultBufferSize].
func NewListenerSize(name string, bufferSize int) *Listener {
	if name == "" {
		name = Network
	}
	if bufferSize <= 0 {
		bufferSize = DefaultBufferSize
	}
	return &Listener{
		addr:    Addr{Name: name},
		size:    bufferSize,
		backlog: make(chan *conn, DefaultBacklog),
		done:    make(chan struct{}),
	}
}

// Dial makes a connection to l and returns its client end, whose LocalAddr is {name, n} for
// the n-th dial and whose RemoteAddr is [Listener.Addr]. network and address are ignored: the
// signature is that of go-redis's Options.Dialer, franz-go's kgo.Dialer and
// net/http.Transport.DialContext, so l.Dial can be passed as is.
//
// Dial does not wait for Accept: it returns once the server end is queued, as a TCP connect
// returns once the kernel has queued the connection. It waits only while [DefaultBacklog]
// connections are queued, until Accept takes one or ctx ends. It fails with
// [ErrListenerClosed] if l is closed (also when Close happens while it waits), and with
// ctx.Err() if ctx is done first; errors are wrapped in a *net.OpError with Op "dial".
func (l *Listener) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, l.opError("dial", err)
	}
	p := newPipe(l.size, Addr{Name: l.addr.Name, ID: l.nextID.Add(1)}, l.addr)
	client, server := &p.a, &p.b

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, l.opError("dial", ErrListenerClosed)
	}
	select {
	case l.backlog <- server:
		l.mu.Unlock()
		return client, nil
	default:
	}
	l.mu.Unlock()

	select {
	case l.backlog <- server:
	case <-l.done:
		return nil, l.opError("dial", ErrListenerClosed)
	case <-ctx.Done():
		return nil, l.opError("dial", ctx.Err())
	}
	// Queued without the lock: Close may have emptied the backlog before this send, so if it
	// has run, empty it again and report the dial failed.
	if l.isClosed() {
		l.drain()
		client.Close()
		return nil, l.opError("dial", ErrListenerClosed)
	}
	return client, nil
}

// Accept waits for a [Listener.Dial] and returns the server end of its connection, or the
// oldest one already queued. Its LocalAddr is [Listener.Addr] and its RemoteAddr the client
// end's address. After [Listener.Close], Accept (blocked or later) fails with
// [ErrListenerClosed] wrapped in a *net.OpError with Op "accept".
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		if l.isClosed() {
			c.Close()
			return nil, l.opError("accept", ErrListenerClosed)
		}
		return c, nil
	case <-l.done:
		return nil, l.opError("accept", ErrListenerClosed)
	}
}

// Close stops l: blocked and later Accepts and Dials fail with [ErrListenerClosed].
// Connections already accepted stay open; those dialled but not accepted yet are closed, so
// their clients read io.EOF, as a TCP client whose connection was in a closed listener's
// backlog is reset. Close does not block, and calling it again does nothing and returns nil.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	l.drain()
	return nil
}

// Addr returns l's address, an [Addr] with ID 0.
func (l *Listener) Addr() net.Addr { return l.addr }

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// drain closes every queued connection, once l is closed.
func (l *Listener) drain() {
	for {
		select {
		case c := <-l.backlog:
			c.Close()
		default:
			return
		}
	}
}

func (l *Listener) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: Network, Addr: l.addr, Err: err}
}
