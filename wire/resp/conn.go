package resp

import (
	"context"
	"errors"
	"math"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/tribusmq/tribus/pubsub"
)

const (
	keepOut  = 64 << 10 // an output buffer larger than this is dropped once written
	flushAt  = 32 << 10 // the most output the pump lets wait for the writer
	slabSize = 8 << 10  // published payloads up to slabMax are copied into slabs of this size
	slabMax  = 1 << 10
)

// conn is one client connection. Its serving goroutine reads requests and runs them; once the
// client subscribes, a pump goroutine writes the messages published to it.
//
// Every reply and every message is appended to out under wmu, in the order the client reads
// them, and a command runs with wmu held: so a subscribe's acknowledgement precedes the
// messages it makes possible, and a message published before a command is read comes before
// that command's reply, as in Redis, where both go to one output buffer.
type conn struct {
	srv     *Server
	nc      net.Conn
	id      int64
	created time.Time
	rd      reader

	// wmu guards out, inflight, werr, closing, the draining of sub, and every field below
	// that the pump reads (out.resp). The serving goroutine holds it while a command runs.
	// Only the writer goroutine writes to nc, and never with wmu held, so neither the
	// serving goroutine nor the pump waits for a client that does not read: like Redis,
	// which keeps reading a client's requests while its replies wait in its output buffer.
	wmu      sync.Mutex
	out      out
	inflight int   // bytes the writer has taken from out and is writing
	werr     error // the first write error; nothing more is written after it
	closing  bool  // the writer writes what is left and ends

	kick       chan struct{} // capacity 1: out has bytes for the writer, or closing was set
	progress   chan struct{} // capacity 1: the writer finished a write (the pump waits for room)
	writerDone chan struct{} // closed when the writer has ended

	// Owned by the serving goroutine.
	sub      *pubsub.Subscription // nil until the first subscribe, and after RESET; written under wmu
	pumpStop context.CancelFunc
	pumps    sync.WaitGroup // the pumps started, including those of subscriptions RESET ended
	nsub     int            // channels + patterns, from the last acknowledgement
	nshard   int            // shard channels, from the last acknowledgement
	authed   bool
	quit     bool // close once the replies so far are written
	db       int
	name     string
	libName  string
	libVer   string
	lastCmd  string
	deadline bool // a read deadline is set for the idle timeout

	lower    []byte // scratch for the lower-cased command name
	lastChan string // the last channel published to, reused to save an allocation
	slab     []byte // room for published payloads, dropped before each read
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:     s,
		nc:      nc,
		id:      s.nextID.Add(1),
		created: time.Now(),
		authed:  s.opts.Password == "",
		out:     out{resp: 2},

		kick:       make(chan struct{}, 1),
		progress:   make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	c.rd = reader{
		rd:              nc,
		maxBulk:         s.opts.MaxBulkLen,
		unauthenticated: func() bool { return !c.authed },
		beforeRead:      c.beforeRead,
	}
	return c
}

// serve runs the connection until the client leaves, a request is malformed, or the server
// closes, then releases everything the connection holds.
func (c *conn) serve() {
	defer c.teardown()
	go c.writer()
	for {
		args, err := c.rd.next()
		if err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				c.wmu.Lock()
				c.out.err("ERR " + pe.Error())
				c.wmu.Unlock()
			} else if !errors.Is(err, net.ErrClosed) {
				c.srv.opts.Logger.Debug("resp: read", "client", c.id, "err", err)
			}
			return
		}
		c.wmu.Lock()
		c.drainAllLocked()
		c.exec(args)
		c.checkOutputLocked()
		c.wmu.Unlock()
		if c.quit {
			return
		}
	}
}

// beforeRead runs before the reader waits for input: it hands the replies so far to the
// writer, drops buffers a burst needed, and arms or disarms the idle timeout.
func (c *conn) beforeRead() error {
	c.slab = nil
	c.wmu.Lock()
	err := c.werr
	c.kickLocked()
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	if t := c.srv.opts.IdleTimeout; t > 0 {
		switch subscribed := c.subscribed(); {
		case !subscribed:
			c.deadline = true
			return c.nc.SetReadDeadline(time.Now().Add(t))
		case c.deadline:
			c.deadline = false
			return c.nc.SetReadDeadline(time.Time{})
		}
	}
	return nil
}

// kickLocked tells the writer there is output. Callers hold wmu.
func (c *conn) kickLocked() {
	if len(c.out.b) > 0 || c.closing {
		notify(c.kick)
	}
}

// pendingLocked is the output not yet written: in out and in the writer's hands.
func (c *conn) pendingLocked() int { return len(c.out.b) + c.inflight }

// notify sends on a channel of capacity 1 without waiting: a signal already there is enough.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// writer writes the connection's output as it comes, one buffer at a time, swapping in an
// empty buffer so that replies and messages keep being appended while it writes. Once
// closing is set it writes what is left and ends; a write error closes the connection.
func (c *conn) writer() {
	defer close(c.writerDone)
	var spare []byte
	c.wmu.Lock()
	for {
		for len(c.out.b) == 0 && !c.closing {
			c.wmu.Unlock()
			<-c.kick
			c.wmu.Lock()
		}
		if len(c.out.b) == 0 || c.werr != nil {
			c.wmu.Unlock()
			return
		}
		buf := c.out.b
		c.out.b, c.inflight = spare, len(buf)
		c.wmu.Unlock()
		_, err := c.nc.Write(buf)
		c.wmu.Lock()
		c.inflight = 0
		notify(c.progress)
		if err != nil {
			c.werr = err
			c.out.b = nil
			c.nc.Close()
			c.wmu.Unlock()
			return
		}
		spare = nil
		if cap(buf) <= keepOut {
			spare = buf[:0]
		}
	}
}

// teardown leaves the server, ends the subscription and its pumps, has the writer write what
// is left (QUIT's +OK, a protocol error) and closes the socket.
func (c *conn) teardown() {
	c.wmu.Lock()
	// Leave the server before closing, so that a client that sees the close can connect
	// again at once under MaxClients.
	c.srv.remove(c)
	// Unsubscribe before closing too: a client that sees the close and publishes finds the
	// subscription gone, as in Redis, which unsubscribes a client as it frees it.
	c.endSubscriptionLocked()
	c.closing = true
	c.kickLocked()
	c.wmu.Unlock()
	// The writer ends once the rest is written, or at once if the socket has failed; a
	// client that never reads is held until Server.Close closes the socket under it.
	<-c.writerDone
	c.nc.Close()
	c.pumps.Wait()
}

// subscribed reports whether the client is in subscribed state: it holds a channel, a
// pattern or a shard channel (R10).
func (c *conn) subscribed() bool { return c.nsub+c.nshard > 0 }

// subscriptionLocked returns the connection's subscription, creating it and its pump at
// first use. Callers hold wmu.
func (c *conn) subscriptionLocked() (*pubsub.Subscription, error) {
	if c.sub != nil {
		return c.sub, nil
	}
	s, err := c.srv.hub.NewSubscription(&pubsub.SubscriptionOptions{
		Limits: c.srv.opts.Limits,
		// Redis closes a client over its output-buffer limit; the serving goroutine then
		// ends. It leaves the server first, as teardown does.
		OnDisconnect: func(error) {
			c.srv.remove(c)
			c.nc.Close()
		},
	})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	c.sub, c.pumpStop = s, stop
	c.pumps.Add(1)
	go c.pump(ctx, s)
	return s, nil
}

// endSubscriptionLocked closes the subscription, if any, and tells its pump to stop; the pump
// ends once it can take wmu. Callers hold wmu.
func (c *conn) endSubscriptionLocked() {
	if c.sub == nil {
		return
	}
	c.sub.Close()
	c.pumpStop()
	c.sub, c.pumpStop = nil, nil
	c.nsub, c.nshard = 0, 0
}

// pump moves the messages published to s into the output as they arrive, until s or the
// connection ends. It keeps no more than flushAt bytes waiting for the writer, so that a
// client that does not read leaves its backlog in the hub, whose limits cut it off (R24).
func (c *conn) pump(ctx context.Context, s *pubsub.Subscription) {
	defer c.pumps.Done()
	for {
		if err := s.Wait(ctx); err != nil {
			return
		}
		// While a publisher is in mid-burst, let it queue more, so that one write carries
		// many messages rather than one each: a write costs a system call, a yield does not.
		for range 16 {
			n := s.Buffered()
			runtime.Gosched()
			if s.Buffered() == n {
				break
			}
		}
		c.wmu.Lock()
		for c.sub == s && c.werr == nil && c.pendingLocked() >= flushAt {
			c.wmu.Unlock()
			select {
			case <-c.progress:
			case <-ctx.Done():
				return
			}
			c.wmu.Lock()
		}
		if c.sub != s || c.werr != nil {
			c.wmu.Unlock()
			return
		}
		c.drainLocked(flushAt)
		c.kickLocked()
		c.wmu.Unlock()
	}
}

// drainLocked moves the messages buffered for the subscription into out, while the output
// not yet written is under limit bytes. Callers hold wmu.
func (c *conn) drainLocked(limit int) {
	if c.sub == nil {
		return
	}
	for c.pendingLocked() < limit {
		m, ok, _ := c.sub.TryNext()
		if !ok {
			return
		}
		c.out.message(&m)
	}
}

// drainAllLocked moves every message buffered for the subscription into out, as a command
// must before its reply. Callers hold wmu.
func (c *conn) drainAllLocked() { c.drainLocked(math.MaxInt) }

// checkOutputLocked closes a subscribed client whose output not yet written is over the
// pub/sub hard limit. The hub bounds what waits in its queue; this bounds what a command
// moved out of it (messages go ahead of each reply), so a subscriber that keeps sending
// commands and reads nothing is cut off as Redis cuts it off. Callers hold wmu.
func (c *conn) checkOutputLocked() {
	if c.sub != nil && c.pendingLocked() > c.srv.outputLimit {
		c.srv.opts.Logger.Info("resp: slow subscriber disconnected", "client", c.id, "pending", c.pendingLocked())
		c.hubGone()
	}
}

// channel returns name as a string, reusing the last one published to when it is the same.
func (c *conn) channel(name []byte) string {
	if string(name) != c.lastChan {
		c.lastChan = string(name)
	}
	return c.lastChan
}

// keep copies a payload out of the read buffer, which the next request overwrites. Small
// payloads share slabs, so a pipeline of publishes costs an allocation per slab, not per
// message; a slab lives until the last message in it has been read by every subscriber.
func (c *conn) keep(b []byte) []byte {
	if len(b) > slabMax {
		return append([]byte(nil), b...)
	}
	if len(c.slab) < len(b) {
		// The requests still buffered bound the payloads still to come in this batch.
		c.slab = make([]byte, max(len(b), min(slabSize, c.rd.w-c.rd.r)))
	}
	p := c.slab[:len(b):len(b)]
	copy(p, b)
	c.slab = c.slab[len(b):]
	return p
}
