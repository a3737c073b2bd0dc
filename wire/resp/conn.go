package resp

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/tribusmq/tribus/pubsub"
)

const (
	keepOut  = 64 << 10 // an output buffer larger than this is dropped once written
	flushAt  = 32 << 10 // a drain writes out once it holds this much
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

	// wmu guards out, werr, the draining of sub, writes to nc, and every field below that
	// the pump reads (out.resp). The serving goroutine holds it while a command runs.
	wmu  sync.Mutex
	out  out
	werr error // the first write error; nothing more is written after it

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
	defer c.srv.wg.Done()
	defer c.teardown()
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
		c.drainLocked()
		c.exec(args)
		c.wmu.Unlock()
		if c.quit {
			return
		}
	}
}

// beforeRead runs before the reader waits for input: it writes the replies so far, drops
// buffers a burst needed, and arms or disarms the idle timeout.
func (c *conn) beforeRead() error {
	c.slab = nil
	c.wmu.Lock()
	err := c.flushLocked()
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

// flushLocked writes out. Callers hold wmu.
func (c *conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.out.b) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.out.b)
	if cap(c.out.b) > keepOut {
		c.out.b = nil
	} else {
		c.out.b = c.out.b[:0]
	}
	if err != nil {
		c.werr = err
		c.nc.Close()
	}
	return err
}

// teardown writes what is left (QUIT's +OK, a protocol error), closes the socket, ends the
// subscription and its pumps, and leaves the server.
func (c *conn) teardown() {
	c.wmu.Lock()
	_ = c.flushLocked()
	// Leave the server before closing, so that a client that sees the close can connect
	// again at once under MaxClients.
	c.srv.remove(c)
	// Unsubscribe before closing too: a client that sees the close and publishes finds the
	// subscription gone, as in Redis, which unsubscribes a client as it frees it.
	c.endSubscriptionLocked()
	c.nc.Close()
	c.wmu.Unlock()
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

// pump writes the messages published to s as they arrive, until s or the connection ends.
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
		if c.sub != s {
			c.wmu.Unlock()
			return
		}
		c.drainLocked()
		err := c.flushLocked()
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// drainLocked moves every message buffered for the subscription into out, writing out
// whenever it holds flushAt bytes, so that a backlog is sent in pieces of a bounded buffer
// rather than gathered into one. Callers hold wmu.
func (c *conn) drainLocked() {
	if c.sub == nil {
		return
	}
	for {
		m, ok, _ := c.sub.TryNext()
		if !ok {
			return
		}
		c.out.message(&m)
		if len(c.out.b) >= flushAt && c.flushLocked() != nil {
			return
		}
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
