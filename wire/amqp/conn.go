package amqp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
	"github.com/tribusmq/tribus/wire/inproc"
)

// handshakeTimeout is how long a client has for the handshake, RabbitMQ's default.
const handshakeTimeout = 10 * time.Second

// closeOkTimeout is how long the server waits for close-ok after its connection.close
// before it drops the connection (RabbitMQ's closing timeout).
const closeOkTimeout = 30 * time.Second

// conn is one client connection. Its serving goroutine reads frames and runs methods;
// consumer goroutines and confirm callbacks append deliveries and acks to its output.
type conn struct {
	srv *Server
	nc  net.Conn
	in  silenceReader // what rd reads: nc, with the missed-heartbeat deadline
	rd  *proto.Reader

	// Negotiated in tune-ok; owned by the serving goroutine.
	channelMax uint16
	frameMax   uint32
	heartbeat  time.Duration
	user       string
	vhost      string
	router     *exchange.Router
	ec         *exchange.Connection
	clientCaps exchange.Table // the capabilities of start-ok's client properties

	// Owned by the serving goroutine.
	channels  map[uint16]*channel
	closeSent bool          // connection.close sent: everything but close-ok is ignored
	published chan struct{} // closed at the connection's first publish, for the alarm watch
	publisher bool          // published is closed

	running atomic.Bool // the handshake is done and the writer runs; read by Server.Close
	forced  atomic.Bool // Server.Close sent connection.close 320: the loop treats it as closeSent

	// wmu guards out, werr, done, stopped and sendLimit. Only the writer goroutine writes to nc; appenders wait
	// on room while out is over maxOut, which holds consumers back as TCP would.
	wmu       sync.Mutex
	room      *sync.Cond
	out       []byte
	werr      error
	done      bool          // the writer is to write what is left and end
	stopped   bool          // the connection's loop has ended: appends fail
	sendLimit time.Duration // how long one socket write may block: sendTimeout, then less when closing
	kick      chan struct{}
	wrote     chan struct{} // closed when the writer has ended
	active    bool          // something was written since the heartbeat last looked
}

// maxOut is the most output that waits for the writer before appenders wait too.
const maxOut = 256 << 10

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, in: silenceReader{nc: nc}, channels: make(map[uint16]*channel),
		published: make(chan struct{}), kick: make(chan struct{}, 1), wrote: make(chan struct{}), sendLimit: sendTimeout}
	c.rd = proto.NewReader(&c.in, proto.FrameMinSize)
	c.room = sync.NewCond(&c.wmu)
	return c
}

// missedHeartbeats is how many heartbeat intervals of silence drop a client. RabbitMQ looks
// once an interval and drops a client after two silent looks, so between two and three
// intervals after it last heard from it (measured: 3.0 s at heartbeat 1 s, RabbitMQ 3.10.8);
// tribus waits the three, never dropping a client sooner than RabbitMQ would.
const missedHeartbeats = 3

// silenceReader reads from nc, first setting a read deadline of limit when limit is set: the
// missed-heartbeat check. While the serving goroutine does not read (a publish held by a
// resource alarm), no deadline runs, as RabbitMQ pauses its heartbeat monitor then.
type silenceReader struct {
	nc    net.Conn
	limit time.Duration
	until time.Time // once set, the deadline of every read: the wait for close-ok
}

func (r *silenceReader) Read(p []byte) (int, error) {
	switch {
	case !r.until.IsZero():
		_ = r.nc.SetReadDeadline(r.until)
	case r.limit > 0:
		_ = r.nc.SetReadDeadline(time.Now().Add(r.limit))
	}
	n, err := r.nc.Read(p)
	if ne, ok := err.(net.Error); ok && ne.Timeout() && r.until.IsZero() && r.limit > 0 {
		return n, fmt.Errorf("%w: no frame from the client in %v", errMissedHeartbeats, r.limit)
	}
	return n, err
}

// errMissedHeartbeats ends a connection whose client stopped sending anything, heartbeats
// included.
var errMissedHeartbeats = errors.New("missed heartbeats from client")

// markPublisher records the connection's first publish: from then on a resource alarm is
// announced to it with connection.blocked, as RabbitMQ announces it to publishing
// connections.
func (c *conn) markPublisher() {
	if !c.publisher {
		c.publisher = true
		close(c.published)
	}
}

// watchAlarms sends connection.blocked when a resource alarm holds the publishes of this
// connection, and connection.unblocked when every alarm has cleared, to a client that has the
// connection.blocked capability. It returns a channel closed once it has stopped.
func (c *conn) watchAlarms(stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	if on, _ := c.clientCaps["connection.blocked"].(bool); !on {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		published := c.published
		blocked := false
		for {
			st, changed := c.router.AlarmWatch()
			on := st.Memory || st.Disk
			switch {
			case on && !blocked && published == nil:
				reason := st.AlarmReason()
				blocked = c.write(func(b []byte) []byte {
					return proto.AppendMethod(b, 0, &proto.ConnectionBlocked{Reason: reason})
				})
			case !on && blocked:
				blocked = !c.write(func(b []byte) []byte { return proto.AppendMethod(b, 0, &proto.ConnectionUnblocked{}) })
			}
			select {
			case <-stop:
				return
			case <-changed:
			case <-published:
				published = nil
			}
		}
	}()
	return done
}

// watchClosed tells the client when its connection is closed from outside its requests with
// exchange.ErrConnectionForced (by a test's injected crash, or an operator), with RabbitMQ's 320
// CONNECTION_FORCED, as rabbitmqctl close_connection does. A close for a connection error of
// the client's own requests is the door's to report, with its own code, and is left to it. It
// returns a channel closed once it has stopped.
func (c *conn) watchClosed(stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-stop:
		case <-c.ec.Done():
			err := c.ec.Err()
			if !errors.Is(err, exchange.ErrConnectionForced) {
				return
			}
			text := replyText(320, err, c.vhost)
			c.setSendLimit(time.Second) // a client that does not read is not waited for
			c.write(func(b []byte) []byte {
				return proto.AppendMethod(b, 0, &proto.ConnectionClose{ReplyCode: 320, ReplyText: proto.ShortText(text)})
			})
			c.finish()
		}
	}()
	return done
}

// write appends what add appends to the output, waiting while the writer is behind, and
// reports false once the connection can no longer write.
func (c *conn) write(add func(b []byte) []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(c.out) > maxOut && c.werr == nil && !c.done && !c.stopped {
		c.room.Wait()
	}
	if c.werr != nil || c.done || c.stopped {
		return false
	}
	c.out = add(c.out)
	c.active = true
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return true
}

// writer writes the output as it comes, swapping buffers so appenders go on meanwhile.
func (c *conn) writer() {
	defer close(c.wrote)
	var spare []byte
	for {
		c.wmu.Lock()
		for len(c.out) == 0 && !c.done && c.werr == nil {
			c.wmu.Unlock()
			<-c.kick
			c.wmu.Lock()
		}
		if len(c.out) == 0 || c.werr != nil {
			c.wmu.Unlock()
			return
		}
		buf := c.out
		c.out = spare[:0]
		c.room.Broadcast()
		limit := c.sendLimit
		c.wmu.Unlock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(limit))
		_, err := c.nc.Write(buf)
		if err != nil {
			c.wmu.Lock()
			c.werr = err
			c.room.Broadcast()
			c.wmu.Unlock()
			c.nc.Close()
			return
		}
		spare = nil
		if cap(buf) <= 4*maxOut {
			spare = buf
		}
	}
}

// finish has the writer write what is left and waits for it.
func (c *conn) finish() {
	c.wmu.Lock()
	c.done = true
	c.room.Broadcast()
	c.wmu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	<-c.wrote
}

// serve runs the connection until the client leaves or fails, or the server closes.
func (c *conn) serve() {
	defer c.nc.Close()
	if err := c.handshake(); err != nil {
		c.srv.opts.Logger.Debug("amqp: handshake", "remote", c.nc.RemoteAddr(), "err", err)
		return
	}
	go c.writer()
	c.running.Store(true)
	stop := make(chan struct{})
	beats := c.startHeartbeat(stop)
	alarms := c.watchAlarms(stop)
	closed := c.watchClosed(stop)
	err := c.loop()
	// Nothing is written after the loop ends (close-ok and connection.close were written in
	// it): appenders give up, even those waiting for room in an output that a client that
	// vanished will never read, so that the cleanup below cannot wait on them.
	c.stopWrites()
	close(stop)
	<-beats
	<-alarms
	<-closed
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.srv.opts.Logger.Debug("amqp: connection", "remote", c.nc.RemoteAddr(), "err", err)
	}
	c.ec.Close() // requeues every channel's unacked deliveries, deletes exclusive queues
	for _, ch := range c.channels {
		ch.pipe.Close()
		ch.wg.Wait()
	}
	c.setSendLimit(flushTimeout) // what is left goes out if the client reads it
	c.finish()
}

// sendTimeout is how long a socket write may block before the connection is dropped: a
// client that reads nothing for that long while the server has frames for it is gone, or
// stuck. RabbitMQ's listeners have the same bound (tcp_listen_options send_timeout 15000,
// send_timeout_close true).
const sendTimeout = 15 * time.Second

// setSendLimit bounds the socket write under way, and every later one, by d.
func (c *conn) setSendLimit(d time.Duration) {
	c.wmu.Lock()
	c.sendLimit = min(c.sendLimit, d)
	c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(d))
}

// flushTimeout bounds the last write of a connection that ends, for a client that reads no
// more.
const flushTimeout = time.Second

// stopWrites makes every later write fail at once and releases the appenders waiting for
// room; the writer still writes what the output holds.
func (c *conn) stopWrites() {
	c.wmu.Lock()
	c.stopped = true
	c.room.Broadcast()
	c.wmu.Unlock()
}

// connError is a connection error the front door raises itself, with RabbitMQ's code and
// text, for the method that caused it (nil when RabbitMQ names none).
type connError struct {
	code   uint16
	text   string
	method proto.Method
}

func (e *connError) Error() string { return e.text }

// forceClose tells the client the server is shutting down, with RabbitMQ's 320
// CONNECTION_FORCED, and flushes it; the socket is closed after. It may be called from any
// goroutine, once the connection runs.
func (c *conn) forceClose() {
	if !c.running.Load() {
		return
	}
	c.setSendLimit(time.Second) // a client that does not read is not waited for
	c.forced.Store(true)        // before the close goes out, so the loop takes its close-ok
	c.write(func(b []byte) []byte {
		return proto.AppendMethod(b, 0, &proto.ConnectionClose{ReplyCode: 320,
			ReplyText: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"})
	})
	c.finish()
}

// closing reports whether a connection.close went out, from the loop or from Server.Close:
// from then on everything but close-ok is ignored.
func (c *conn) closing() bool { return c.closeSent || c.forced.Load() }

// closeConnection sends connection.close; the loop then waits for close-ok.
func (c *conn) closeConnection(code uint16, text string, classID, methodID uint16) {
	if c.closing() {
		return
	}
	c.closeSent = true
	c.in.until = time.Now().Add(closeOkTimeout)
	c.ec.CloseWith(errors.New(text))
	c.write(func(b []byte) []byte {
		return proto.AppendMethod(b, 0, &proto.ConnectionClose{ReplyCode: code, ReplyText: proto.ShortText(text),
			FailedClassID: classID, FailedMethodID: methodID})
	})
}

// loop reads frames and runs them until the connection ends.
func (c *conn) loop() error {
	for {
		f, err := c.rd.ReadFrame()
		if err != nil {
			if code := proto.Code(err); code != 0 && !c.closing() {
				text := replyNames[code] + " - " + err.Error()
				if fse := (*proto.FrameSizeError)(nil); errors.As(err, &fse) {
					// RabbitMQ's words, its limit counted without the framing.
					text = fmt.Sprintf("FRAME_ERROR - type %d, all octets = <<>>: {frame_too_large,%d,%d}", fse.Type, fse.Size, fse.Max-8)
				}
				c.closeConnection(code, text, 0, 0)
			}
			return err
		}
		if err := c.frame(f); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // connection.close answered, or close-ok received
			}
			var me *proto.MethodError
			if ce := (*connError)(nil); errors.As(err, &ce) {
				var class, method uint16
				if ce.method != nil {
					class, method = ce.method.ClassID(), ce.method.MethodID()
				}
				c.closeConnection(ce.code, ce.text, class, method)
				continue
			}
			var class, method uint16
			if errors.As(err, &me) {
				class, method = me.ClassID, me.MethodID
			}
			code := proto.Code(err)
			if code == 0 {
				code = 541
			}
			c.closeConnection(code, replyNames[code]+" - "+err.Error(), class, method)
		}
	}
}

// frame runs one frame.
func (c *conn) frame(f proto.Frame) error {
	switch f.Type {
	case proto.FrameHeartbeat:
		return nil
	case proto.FrameMethod:
	case proto.FrameHeader, proto.FrameBody:
		if c.closing() {
			return nil
		}
		ch := c.channels[f.Channel]
		if ch == nil {
			return fmt.Errorf("%w: content on channel %d, which is not open", proto.ErrUnexpectedFrame, f.Channel)
		}
		return ch.content(f)
	}
	m, err := proto.DecodeMethod(f.Payload)
	if err != nil {
		return err
	}
	if f.Channel == 0 {
		switch m.(type) {
		case *proto.ConnectionClose:
			// Everything the connection had is settled before close-ok: a client that
			// reconnects after it finds the unacked requeued and the exclusive queues gone.
			c.ec.Close()
			c.write(func(b []byte) []byte { return proto.AppendMethod(b, 0, &proto.ConnectionCloseOk{}) })
			return io.EOF
		case *proto.ConnectionCloseOk:
			if c.closing() {
				return io.EOF
			}
		}
		if c.closing() {
			return nil
		}
		return fmt.Errorf("%w: %T on channel 0", proto.ErrUnexpectedFrame, m)
	}
	if c.closing() {
		return nil
	}
	ch := c.channels[f.Channel]
	if ch == nil {
		if _, ok := m.(*proto.ChannelOpen); !ok {
			return &connError{code: 504, text: "CHANNEL_ERROR - expected 'channel.open'", method: m}
		}
		if len(c.channels) >= int(c.channelMax) { // RabbitMQ names no method
			return &connError{code: 530, text: fmt.Sprintf("NOT_ALLOWED - number of channels opened (%d) has reached the negotiated channel_max (%d)",
				len(c.channels), c.channelMax)}
		}
		return c.openChannel(f.Channel)
	}
	return ch.method(m)
}

// serverProperties is what connection.start advertises: RabbitMQ's capabilities that tribus
// serves.
func (c *conn) serverProperties() exchange.Table {
	caps := exchange.Table{}
	for _, name := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "per_consumer_qos", "direct_reply_to",
		"authentication_failure_close"} {
		caps[name] = true
	}
	version := c.srv.opts.Version
	if version == "" {
		version = "dev"
	}
	return exchange.Table{"product": "tribus", "version": version, "platform": "Go",
		"information": "an embedded broker: https://github.com/tribusmq/tribus", "capabilities": caps}
}

// handshake runs the protocol header, start, tune and open, and opens the engine's connection.
func (c *conn) handshake() error {
	_ = c.nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := proto.ReadProtocolHeader(c.nc); err != nil {
		if errors.Is(err, proto.ErrProtocolHeader) {
			_, _ = c.nc.Write(proto.ProtocolHeader[:]) // the version we speak, as RabbitMQ answers
		}
		return err
	}
	if err := c.send(&proto.ConnectionStart{VersionMajor: 0, VersionMinor: 9,
		ServerProperties: c.serverProperties(), Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US"}); err != nil {
		return err
	}
	var startOk *proto.ConnectionStartOk
	if err := expectMethod(c, &startOk); err != nil {
		return err
	}
	user, err := c.authenticate(startOk)
	if err != nil {
		return err
	}
	c.user = user
	c.clientCaps, _ = startOk.ClientProperties["capabilities"].(exchange.Table)
	o := c.srv.opts
	if err := c.send(&proto.ConnectionTune{ChannelMax: o.ChannelMax, FrameMax: o.FrameMax,
		Heartbeat: uint16(o.Heartbeat / time.Second)}); err != nil {
		return err
	}
	var tuneOk *proto.ConnectionTuneOk
	if err := expectMethod(c, &tuneOk); err != nil {
		return err
	}
	if err := c.tune(tuneOk); err != nil {
		return err
	}
	var open *proto.ConnectionOpen
	if err := expectMethod(c, &open); err != nil {
		return err
	}
	r := o.VHosts[open.VirtualHost]
	if r == nil {
		return c.refuse(530, fmt.Sprintf("NOT_ALLOWED - vhost %s not found", open.VirtualHost), open)
	}
	ec, err := r.NewConnection(exchange.ConnectionOptions{User: user})
	if err != nil {
		return err
	}
	c.router, c.ec, c.vhost = r, ec, open.VirtualHost
	return c.send(&proto.ConnectionOpenOk{})
}

// authenticate checks start-ok's credentials, PLAIN or AMQPLAIN, and RabbitMQ's loopback rule.
func (c *conn) authenticate(m *proto.ConnectionStartOk) (string, error) {
	var user, pass string
	switch m.Mechanism {
	case "PLAIN": // authzid NUL authcid NUL password
		parts := strings.Split(m.Response, "\x00")
		if len(parts) == 3 {
			user, pass = parts[1], parts[2]
		}
	case "AMQPLAIN": // a field table without its length
		b := make([]byte, 4, 4+len(m.Response))
		b[0], b[1], b[2], b[3] = byte(len(m.Response)>>24), byte(len(m.Response)>>16), byte(len(m.Response)>>8), byte(len(m.Response))
		t, _, err := proto.DecodeTable(append(b, m.Response...))
		if err == nil {
			user, _ = t["LOGIN"].(string)
			pass, _ = t["PASSWORD"].(string)
		}
	default:
		// RabbitMQ resets the connection, with no connection.close, whatever the client's
		// capabilities (checked on 3.10.8).
		return "", fmt.Errorf("unknown authentication mechanism '%s'", m.Mechanism)
	}
	want, ok := c.srv.opts.Users[user]
	if !ok || want != pass || slices.Contains(c.srv.opts.LoopbackUsers, user) && !isLoopback(c.nc.RemoteAddr()) {
		text := fmt.Sprintf("ACCESS_REFUSED - Login was refused using authentication mechanism %s. For details see the broker logfile.", m.Mechanism)
		caps, _ := m.ClientProperties["capabilities"].(exchange.Table)
		if on, _ := caps["authentication_failure_close"].(bool); !on {
			// As RabbitMQ: a client that did not ask to be told is only disconnected, which
			// older clients (amqp091-go among them) read as bad credentials.
			return "", errors.New(text)
		}
		return "", c.refuse(403, text, m)
	}
	return user, nil
}

// isLoopback reports whether a client at addr may log in as a loopback-only user.
func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case inproc.Addr:
		return true
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	return false
}

// tune applies tune-ok: the client may lower what the server proposed, not raise it.
func (c *conn) tune(m *proto.ConnectionTuneOk) error {
	o := c.srv.opts
	c.channelMax = m.ChannelMax
	if c.channelMax == 0 || c.channelMax > o.ChannelMax {
		c.channelMax = o.ChannelMax
	}
	switch {
	case m.FrameMax == 0 || m.FrameMax > o.FrameMax:
		return c.refuse(501, fmt.Sprintf("FRAME_ERROR - frame_max=%d > %d max size", m.FrameMax, o.FrameMax), m)
	case m.FrameMax < proto.FrameMinSize:
		return c.refuse(501, fmt.Sprintf("FRAME_ERROR - frame_max=%d < %d min size", m.FrameMax, proto.FrameMinSize), m)
	}
	c.frameMax = m.FrameMax
	c.rd.SetMaxFrame(c.frameMax)
	c.heartbeat = time.Duration(m.Heartbeat) * time.Second
	c.in.limit = missedHeartbeats * c.heartbeat
	return nil
}

// refuse closes the connection during the handshake with connection.close and waits, within
// the handshake's deadline, for the client's close-ok before the socket is closed, so that
// the client reads the reason rather than a dropped connection. It returns the reason.
func (c *conn) refuse(code uint16, text string, m proto.Method) error {
	if c.send(&proto.ConnectionClose{ReplyCode: code, ReplyText: proto.ShortText(text),
		FailedClassID: m.ClassID(), FailedMethodID: m.MethodID()}) == nil {
		for {
			f, err := c.rd.ReadFrame()
			if err != nil {
				break
			}
			if f.Type == proto.FrameMethod && f.Channel == 0 {
				if m, err := proto.DecodeMethod(f.Payload); err == nil {
					if _, ok := m.(*proto.ConnectionCloseOk); ok {
						break
					}
				}
			}
		}
	}
	return errors.New(text)
}

// send writes one method on channel 0 at once (the handshake has no other writer).
func (c *conn) send(m proto.Method) error {
	_, err := c.nc.Write(proto.AppendMethod(nil, 0, m))
	return err
}

// expectMethod reads the next frame as the method *into points to, during the handshake.
func expectMethod[M proto.Method](c *conn, into *M) error {
	f, err := c.rd.ReadFrame()
	if err != nil {
		return err
	}
	if f.Type != proto.FrameMethod || f.Channel != 0 {
		return fmt.Errorf("%w: frame type %d on channel %d during the handshake", proto.ErrUnexpectedFrame, f.Type, f.Channel)
	}
	m, err := proto.DecodeMethod(f.Payload)
	if err != nil {
		return err
	}
	got, ok := m.(M)
	if !ok {
		return fmt.Errorf("%w: %T during the handshake", proto.ErrUnexpectedFrame, m)
	}
	*into = got
	return nil
}

// startHeartbeat sends a heartbeat frame whenever nothing else was written for half the
// negotiated interval, as RabbitMQ does, so the client's missed-heartbeat check keeps the
// connection. It returns a channel closed once it has stopped.
func (c *conn) startHeartbeat(stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	if c.heartbeat <= 0 {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		t := time.NewTicker(c.heartbeat / 2)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			c.wmu.Lock()
			idle := !c.active
			c.active = false
			c.wmu.Unlock()
			if idle && !c.write(func(b []byte) []byte { return proto.AppendFrame(b, proto.FrameHeartbeat, 0, nil) }) {
				return
			}
		}
	}()
	return done
}
