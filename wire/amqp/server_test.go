package amqp

import (
	"fmt"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// The door's own rules, checked with a raw client that writes frames as a client library
// would (interop/ runs the real clients, and RabbitMQ beside tribus).

// rawClient is one AMQP connection driven frame by frame.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	rd *proto.Reader
}

// backlogServer returns a router whose queue "backlog" holds n messages of size bytes, and a
// server for it with the default options; both are closed when the test ends.
func backlogServer(t *testing.T, n, size int) (*exchange.Router, *Server) {
	t.Helper()
	r, err := exchange.New(nil)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	srv, err := NewServer(r, nil)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	s, err := r.NewSession()
	require.NoError(t, err)
	_, err = s.QueueDeclare("backlog", exchange.QueueOptions{})
	require.NoError(t, err)
	for range n {
		_, err := s.Publish(t.Context(), "", "backlog", false, exchange.Publishing{Body: make([]byte, size)})
		require.NoError(t, err)
	}
	return r, srv
}

func newServer(t *testing.T, o *Options) *Server {
	t.Helper()
	r, err := exchange.New(nil)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	srv, err := NewServer(r, o)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// dial connects in process and sends the protocol header.
func dial(t *testing.T, srv *Server) *rawClient {
	t.Helper()
	nc, err := srv.Dial("", "")
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{t: t, nc: nc, rd: proto.NewReader(nc, 1<<20)}
	_, err = nc.Write(proto.ProtocolHeader[:])
	require.NoError(t, err)
	return c
}

func (c *rawClient) send(channel uint16, m proto.Method) {
	c.t.Helper()
	_, err := c.nc.Write(proto.AppendMethod(nil, channel, m))
	require.NoError(c.t, err)
}

// next reads the next frame that is not a heartbeat, as a method when it is one.
func (c *rawClient) next() (proto.Frame, proto.Method) {
	c.t.Helper()
	for {
		f, err := c.rd.ReadFrame()
		require.NoError(c.t, err)
		if f.Type == proto.FrameHeartbeat {
			continue
		}
		if f.Type != proto.FrameMethod {
			return f, nil
		}
		m, err := proto.DecodeMethod(f.Payload)
		require.NoError(c.t, err)
		return f, m
	}
}

// expect reads the next method and checks its type.
func expect[M proto.Method](c *rawClient) M {
	c.t.Helper()
	_, m := c.next()
	got, ok := m.(M)
	require.True(c.t, ok, "want %T, got %#v", *new(M), m)
	return got
}

// login runs start-ok with PLAIN, taking tune as proposed except for the heartbeat, and open
// of the virtual host.
func (c *rawClient) login(user, pass, vhost string, heartbeat uint16, caps exchange.Table) error {
	c.t.Helper()
	expect[*proto.ConnectionStart](c)
	c.send(0, &proto.ConnectionStartOk{ClientProperties: exchange.Table{"capabilities": caps}, Mechanism: "PLAIN",
		Response: "\x00" + user + "\x00" + pass, Locale: "en_US"})
	f, err := c.rd.ReadFrame()
	if err != nil {
		return err
	}
	m, err := proto.DecodeMethod(f.Payload)
	require.NoError(c.t, err)
	tune, ok := m.(*proto.ConnectionTune)
	if !ok {
		return fmt.Errorf("%#v", m)
	}
	c.send(0, &proto.ConnectionTuneOk{ChannelMax: tune.ChannelMax, FrameMax: tune.FrameMax, Heartbeat: heartbeat})
	c.send(0, &proto.ConnectionOpen{VirtualHost: vhost})
	_, m = c.next()
	if _, ok := m.(*proto.ConnectionOpenOk); !ok {
		return fmt.Errorf("%#v", m)
	}
	return nil
}

// open connects, logs in as guest with no heartbeat and opens channel 1.
func open(t *testing.T, srv *Server) *rawClient {
	t.Helper()
	c := dial(t, srv)
	require.NoError(t, c.login("guest", "guest", "/", 0, nil))
	c.send(1, &proto.ChannelOpen{})
	expect[*proto.ChannelOpenOk](c)
	return c
}

// closedBy reads until the connection ends and returns the connection.close it got, if any,
// answering it with close-ok. It may run in a goroutine of its own: it never fails the test.
func (c *rawClient) closedBy() *proto.ConnectionClose {
	var last *proto.ConnectionClose
	for {
		f, err := c.rd.ReadFrame()
		if err != nil {
			return last
		}
		if f.Type != proto.FrameMethod {
			continue
		}
		if m, err := proto.DecodeMethod(f.Payload); err == nil {
			if cl, ok := m.(*proto.ConnectionClose); ok {
				last = cl
				_, _ = c.nc.Write(proto.AppendMethod(nil, 0, &proto.ConnectionCloseOk{}))
			}
		}
	}
}

func TestHandshake_AnotherProtocolHeaderIsAnsweredWithOurs(t *testing.T) {
	srv := newServer(t, nil)
	nc, err := srv.Dial("", "")
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte("AMQP\x01\x01\x00\x0a")) // AMQP 1.0
	require.NoError(t, err)
	got, err := io.ReadAll(nc)
	require.NoError(t, err)
	assert.Equal(t, proto.ProtocolHeader[:], got, "the version we speak, then the connection closes")
}

// A refused login is told with 403 to a client that asked (authentication_failure_close);
// any other client is disconnected without a word, as RabbitMQ does.
func TestHandshake_RefusedLoginCloses403OnlyForClientsThatAsk(t *testing.T) {
	srv := newServer(t, &Options{Users: map[string]string{"guest": "guest", "app": "secret"}})
	c := dial(t, srv)
	err := c.login("app", "wrong", "/", 0, exchange.Table{"authentication_failure_close": true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ReplyCode:0x193", "403")
	assert.Contains(t, err.Error(), "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN.")

	c = dial(t, srv)
	err = c.login("app", "wrong", "/", 0, nil)
	assert.ErrorIs(t, err, io.EOF, "disconnected")

	c = dial(t, srv)
	assert.NoError(t, c.login("app", "secret", "/", 0, nil))
}

// guest may log in only from loopback; an in-process connection counts as loopback.
func TestHandshake_LoopbackUsersOnlyFromLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 1}, true},
		{&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 1}, false},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, false},
	} {
		assert.Equal(t, tc.want, isLoopback(tc.addr), tc.addr)
	}
	nc, err := newServer(t, nil).Dial("", "")
	require.NoError(t, err)
	defer nc.Close()
	assert.True(t, isLoopback(nc.LocalAddr()), "in process")
}

// A frame_max above the server's in tune-ok is 501 FRAME_ERROR, as in RabbitMQ.
func TestTune_FrameMaxAboveTheServersIs501(t *testing.T) {
	c := dial(t, newServer(t, nil))
	expect[*proto.ConnectionStart](c)
	c.send(0, &proto.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	tune := expect[*proto.ConnectionTune](c)
	assert.Equal(t, &proto.ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}, tune)
	c.send(0, &proto.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131073})
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(501), cl.ReplyCode)
	assert.Equal(t, "FRAME_ERROR - frame_max=131073 > 131072 max size", cl.ReplyText)
}

// A frame larger than the negotiated frame_max is 501 FRAME_ERROR, closing the connection.
func TestFrame_LargerThanFrameMaxIs501(t *testing.T) {
	c := open(t, newServer(t, &Options{FrameMax: 4096}))
	c.send(1, &proto.BasicPublish{RoutingKey: "q"})
	_, err := c.nc.Write(proto.AppendFrame(nil, proto.FrameBody, 1, make([]byte, 8192)))
	require.NoError(t, err)
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(501), cl.ReplyCode)
	assert.Equal(t, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,8192,4088}", cl.ReplyText, "RabbitMQ's words")
}

// Opening more channels than channel_max is 530 NOT_ALLOWED, RabbitMQ's connection error.
func TestChannel_OpeningBeyondChannelMaxIs530(t *testing.T) {
	c := open(t, newServer(t, &Options{ChannelMax: 2}))
	c.send(2, &proto.ChannelOpen{})
	expect[*proto.ChannelOpenOk](c)
	c.send(3, &proto.ChannelOpen{})
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(530), cl.ReplyCode)
	assert.Equal(t, "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)", cl.ReplyText)
	assert.Equal(t, [2]uint16{0, 0}, [2]uint16{cl.FailedClassID, cl.FailedMethodID}, "RabbitMQ names no method")
}

// A second channel.open on an open channel is 504, a connection error, as in RabbitMQ.
func TestChannel_SecondOpenIs504(t *testing.T) {
	c := open(t, newServer(t, nil))
	c.send(1, &proto.ChannelOpen{})
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(504), cl.ReplyCode)
	assert.Equal(t, "CHANNEL_ERROR - second 'channel.open' seen", cl.ReplyText)
	assert.Equal(t, [2]uint16{20, 10}, [2]uint16{cl.FailedClassID, cl.FailedMethodID})
}

// A content header with no basic.publish before it is 505, in RabbitMQ's words.
func TestContent_HeaderWithoutPublishIs505(t *testing.T) {
	c := open(t, newServer(t, nil))
	frames := proto.AppendContent(nil, 1, proto.ClassBasic, &exchange.Publishing{}, nil, 4096)
	_, err := c.nc.Write(frames)
	require.NoError(t, err)
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(505), cl.ReplyCode)
	assert.Equal(t, "UNEXPECTED_FRAME - expected method frame, got non method frame instead", cl.ReplyText)
}

// A method on a channel that was never opened is 504 CHANNEL_ERROR, a connection error.
func TestChannel_MethodOnAnUnopenedChannelIs504(t *testing.T) {
	c := open(t, newServer(t, nil))
	c.send(7, &proto.QueueDeclare{Queue: "q"})
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(504), cl.ReplyCode)
	assert.Equal(t, "CHANNEL_ERROR - expected 'channel.open'", cl.ReplyText)
	assert.Equal(t, [2]uint16{50, 10}, [2]uint16{cl.FailedClassID, cl.FailedMethodID})
}

// A body longer than frame_max allows is delivered split at frame_max, and a client's split
// body is joined.
func TestContent_SplitAndJoinedAtFrameMax(t *testing.T) {
	c := open(t, newServer(t, &Options{FrameMax: 4096}))
	c.send(1, &proto.QueueDeclare{Queue: "q"})
	expect[*proto.QueueDeclareOk](c)
	body := make([]byte, 10000)
	for i := range body {
		body[i] = byte(i)
	}
	c.send(1, &proto.BasicPublish{RoutingKey: "q"})
	// Split as a client with a frame_max of 1008 would: 1000 bytes of body a frame.
	frames := proto.AppendContent(nil, 1, proto.ClassBasic, &exchange.Publishing{}, body, 1008)
	_, err := c.nc.Write(frames)
	require.NoError(t, err)

	c.send(1, &proto.BasicGet{Queue: "q", NoAck: true})
	expect[*proto.BasicGetOk](c)
	f, _ := c.next()
	require.Equal(t, uint8(proto.FrameHeader), f.Type)
	var got []byte
	for len(got) < len(body) {
		f, _ := c.next()
		require.Equal(t, uint8(proto.FrameBody), f.Type)
		assert.LessOrEqual(t, len(f.Payload)+8, 4096, "a frame, with its 8 bytes of framing, fits frame_max")
		got = append(got, f.Payload...)
	}
	assert.Equal(t, body, got)
}

// The client is sent heartbeats while idle and, silent itself for three intervals, is
// dropped: RabbitMQ drops it after two silent checks, one an interval, which is between two
// and three intervals (3.0 s at heartbeat 1 s, measured on RabbitMQ 3.10.8).
func TestHeartbeat_SentWhenIdleAndASilentClientIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, nil)
		c := dial(t, srv)
		require.NoError(t, c.login("guest", "guest", "/", 10, nil))
		start := time.Now()
		f, err := c.rd.ReadFrame()
		require.NoError(t, err)
		assert.Equal(t, uint8(proto.FrameHeartbeat), f.Type)
		assert.LessOrEqual(t, time.Since(start), 10*time.Second, "within an interval")
		for {
			if _, err = c.rd.ReadFrame(); err != nil {
				break
			}
		}
		assert.ErrorIs(t, err, io.EOF)
		assert.Equal(t, 30*time.Second, time.Since(start).Round(time.Second), "three silent intervals")
	})
}

// A client that keeps sending heartbeats keeps its connection.
func TestHeartbeat_ClientHeartbeatsKeepTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, nil)
		c := dial(t, srv)
		require.NoError(t, c.login("guest", "guest", "/", 10, nil))
		for range 30 {
			time.Sleep(5 * time.Second)
			_, err := c.nc.Write(proto.AppendFrame(nil, proto.FrameHeartbeat, 0, nil))
			require.NoError(t, err)
		}
		c.send(1, &proto.ChannelOpen{})
		expect[*proto.ChannelOpenOk](c)
	})
}

// Connections beyond MaxConnections are refused before the handshake.
func TestServer_MaxConnectionsRefusesTheNext(t *testing.T) {
	srv := newServer(t, &Options{MaxConnections: 1})
	open(t, srv)
	nc, err := srv.Dial("", "")
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(proto.ProtocolHeader[:])
	if err == nil {
		_, err = nc.Read(make([]byte, 1))
	}
	assert.Error(t, err, "closed without a connection.start")
}

// Close tells every open connection 320 CONNECTION_FORCED, and refuses new ones.
func TestServer_CloseSays320ToEveryConnection(t *testing.T) {
	srv := newServer(t, nil)
	c := open(t, srv)
	done := make(chan *proto.ConnectionClose, 1)
	go func() { done <- c.closedBy() }()
	require.NoError(t, srv.Close())
	cl := <-done
	require.NotNil(t, cl)
	assert.Equal(t, uint16(320), cl.ReplyCode)
	assert.Equal(t, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'", cl.ReplyText)
	_, err := srv.Dial("", "")
	assert.ErrorIs(t, err, ErrServerClosed)
}

func TestNewServer_RefusesBadOptions(t *testing.T) {
	r, err := exchange.New(nil)
	require.NoError(t, err)
	defer r.Close()
	for _, o := range []*Options{
		{MaxConnections: -1},
		{FrameMax: 1000},
		{VHosts: map[string]*exchange.Router{"/": r}},
		{VHosts: map[string]*exchange.Router{"other": nil}},
	} {
		_, err := NewServer(r, o)
		assert.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
		assert.ErrorIs(t, o.Validate(), ErrInvalidOptions)
	}
	_, err = NewServer(nil, nil)
	assert.ErrorIs(t, err, ErrInvalidOptions)
}

// After its connection.close the server waits for close-ok, and drops a client that never
// sends it after 30 seconds.
func TestClose_ClientThatNeverSendsCloseOkIsDroppedAfter30s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := open(t, newServer(t, nil))
		c.send(9, &proto.BasicQos{}) // 504: a connection error
		start := time.Now()
		cl := expect[*proto.ConnectionClose](c)
		assert.Equal(t, uint16(504), cl.ReplyCode)
		c.send(1, &proto.QueueDeclare{Queue: "ignored"}) // ignored until close-ok
		_, err := c.rd.ReadFrame()
		assert.ErrorIs(t, err, io.EOF)
		assert.Equal(t, 30*time.Second, time.Since(start))
	})
}

// A consumer whose client reads nothing is held back once the connection's output and the
// socket are full: the queue keeps the rest, nothing in the door grows with the backlog.
func TestFlow_AClientThatStopsReadingHoldsItsConsumerBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, size = 4000, 1 << 10 // 4 MiB queued
		r, srv := backlogServer(t, n, size)
		c := open(t, srv)
		c.send(1, &proto.BasicConsume{Queue: "backlog", NoAck: true}) // no prefetch bound at all
		synctest.Wait()                                               // everyone is blocked: the client reads nothing
		info, err := r.QueueInfo("backlog")
		require.NoError(t, err)
		held := (n - info.Ready) * size
		// What the door holds: the output waiting (maxOut and one delivery), the buffer the
		// writer is writing (as much again), the socket's, and the consumer's window.
		assert.Less(t, held, 2*maxOut+inprocBuffer+(autoAckWindowHeld+2)*size, "taken from the queue: what the output, the writer, the socket and the consumer hold")
		assert.Positive(t, info.Ready)
	})
}

// inprocBuffer is what an in-process socket holds unread (inproc.DefaultBufferSize).
const inprocBuffer = 256 << 10

// autoAckWindowHeld is what the router lets an auto-ack consumer hold unread.
const autoAckWindowHeld = 200

// basic.qos with a prefetch size is 540 NOT_IMPLEMENTED, a connection error, in RabbitMQ's
// words (amqp091-go refuses to send it; pika sends it, and RabbitMQ 3.10.8 answers so).
func TestQos_PrefetchSizeIs540ClosingTheConnection(t *testing.T) {
	c := open(t, newServer(t, nil))
	c.send(1, &proto.BasicQos{PrefetchSize: 1})
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(540), cl.ReplyCode)
	assert.Equal(t, "NOT_IMPLEMENTED - prefetch_size!=0 (1)", cl.ReplyText)
	assert.Equal(t, [2]uint16{60, 10}, [2]uint16{cl.FailedClassID, cl.FailedMethodID})
}

// A publish with immediate is 540, a connection error, as RabbitMQ answers it since 3.0.
func TestPublish_ImmediateIs540ClosingTheConnection(t *testing.T) {
	c := open(t, newServer(t, nil))
	c.send(1, &proto.BasicPublish{RoutingKey: "q", Immediate: true})
	cl := c.closedBy()
	require.NotNil(t, cl)
	assert.Equal(t, uint16(540), cl.ReplyCode)
	assert.Equal(t, "NOT_IMPLEMENTED - immediate=true", cl.ReplyText)
	assert.Equal(t, [2]uint16{60, 40}, [2]uint16{cl.FailedClassID, cl.FailedMethodID})
}

// A client that vanishes, reading nothing and sending nothing while its output is full, is
// dropped after its missed heartbeats like any other: its connection is cleaned up (its
// consumer goes, the queue keeps what was not delivered) without waiting for the server to
// close.
func TestHeartbeat_AVanishedClientWithAFullOutputIsCleanedUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, srv := backlogServer(t, 2000, 1<<10)
		c := dial(t, srv)
		require.NoError(t, c.login("guest", "guest", "/", 10, nil))
		c.send(1, &proto.ChannelOpen{})
		c.send(1, &proto.BasicConsume{Queue: "backlog", ConsumerTag: "gone"}) // manual ack, no prefetch
		time.Sleep(time.Minute)                                               // the client reads and sends nothing more
		synctest.Wait()
		info, err := r.QueueInfo("backlog")
		require.NoError(t, err)
		assert.Equal(t, 0, info.Consumers, "the vanished client's consumer is gone")
		assert.Equal(t, 2000, info.Ready, "what it held unacked is back in the queue")
		srv.mu.Lock()
		assert.Empty(t, srv.conns, "the connection is cleaned up")
		srv.mu.Unlock()
	})
}

// A client that keeps its heartbeats going but reads nothing while the server has frames for
// it is dropped after the send timeout, 15 s, as RabbitMQ's send_timeout drops it; its
// consumer goes and its unacked deliveries return to the queue.
func TestSendTimeout_AClientThatReadsNothingIsDroppedAfter15s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, srv := backlogServer(t, 2000, 1<<10)
		c := dial(t, srv)
		require.NoError(t, c.login("guest", "guest", "/", 10, nil))
		c.send(1, &proto.ChannelOpen{})
		c.send(1, &proto.BasicConsume{Queue: "backlog", ConsumerTag: "stuck"})
		start := time.Now()
		beat := proto.AppendFrame(nil, proto.FrameHeartbeat, 0, nil)
		for range 5 { // heartbeats every 4 s: never silent, never reading
			time.Sleep(4 * time.Second)
			if _, err := c.nc.Write(beat); err != nil {
				break // dropped
			}
		}
		synctest.Wait()
		info, err := r.QueueInfo("backlog")
		require.NoError(t, err)
		assert.Equal(t, 0, info.Consumers, "dropped after the send timeout")
		assert.Equal(t, 2000, info.Ready)
		assert.Less(t, time.Since(start), 30*time.Second)
	})
}

// A client that opens a connection and does not finish the handshake within 10 s
// (RabbitMQ's handshake_timeout) is dropped, whichever step it stops at.
func TestHandshake_TimeoutDropsAStalledClient(t *testing.T) {
	for _, stall := range []string{"before the protocol header", "after connection.start"} {
		t.Run(stall, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newServer(t, nil)
				nc, err := srv.Dial("", "")
				require.NoError(t, err)
				defer nc.Close()
				if stall == "after connection.start" {
					_, err = nc.Write(proto.ProtocolHeader[:])
					require.NoError(t, err)
				}
				start := time.Now()
				_, err = io.Copy(io.Discard, nc) // connection.start, if sent, then the end
				require.NoError(t, err)
				assert.Equal(t, handshakeTimeout, time.Since(start))
			})
		})
	}
}

// A virtual host of Options.VHosts is a router of its own: a queue declared in it is not seen
// from "/".
func TestVHosts_AreSeparateRouters(t *testing.T) {
	other, err := exchange.New(nil)
	require.NoError(t, err)
	defer other.Close()
	srv := newServer(t, &Options{VHosts: map[string]*exchange.Router{"billing": other}})
	c := dial(t, srv)
	require.NoError(t, c.login("guest", "guest", "billing", 0, nil))
	c.send(1, &proto.ChannelOpen{})
	expect[*proto.ChannelOpenOk](c)
	c.send(1, &proto.QueueDeclare{Queue: "invoices"})
	expect[*proto.QueueDeclareOk](c)
	_, err = other.QueueInfo("invoices")
	require.NoError(t, err, "declared in billing's router")
	c.send(1, &proto.QueueDeclare{Queue: "refunds", Passive: true})
	cl := expect[*proto.ChannelClose](c)
	assert.Equal(t, "NOT_FOUND - no queue 'refunds' in vhost 'billing'", cl.ReplyText, "errors name their virtual host")

	root := open(t, srv)
	root.send(1, &proto.QueueDeclare{Queue: "invoices", Passive: true})
	cl = expect[*proto.ChannelClose](root)
	assert.Equal(t, uint16(404), cl.ReplyCode)
	assert.Equal(t, "NOT_FOUND - no queue 'invoices' in vhost '/'", cl.ReplyText)
}

// AMQPLAIN carries the credentials as a field table without its length; a wrong password is
// 403 to a client that asked to be told; an unknown mechanism is dropped with no
// connection.close, as RabbitMQ 3.10.8 resets it.
func TestHandshake_AMQPLAINAndUnknownMechanisms(t *testing.T) {
	srv := newServer(t, nil)
	table := proto.AppendTable(nil, exchange.Table{"LOGIN": "guest", "PASSWORD": "guest"})
	for _, tc := range []struct {
		mechanism, response string
		ok                  bool
	}{
		{"AMQPLAIN", string(table[4:]), true},
		{"AMQPLAIN", string(proto.AppendTable(nil, exchange.Table{"LOGIN": "guest", "PASSWORD": "nope"})[4:]), false},
	} {
		c := dial(t, srv)
		expect[*proto.ConnectionStart](c)
		c.send(0, &proto.ConnectionStartOk{Mechanism: tc.mechanism, Response: tc.response, Locale: "en_US",
			ClientProperties: exchange.Table{"capabilities": exchange.Table{"authentication_failure_close": true}}})
		_, m := c.next()
		if tc.ok {
			assert.IsType(t, &proto.ConnectionTune{}, m, tc.mechanism)
			continue
		}
		cl, isClose := m.(*proto.ConnectionClose)
		require.True(t, isClose, "%s: %#v", tc.mechanism, m)
		assert.Equal(t, uint16(403), cl.ReplyCode, tc.mechanism)
	}
	c := dial(t, srv)
	expect[*proto.ConnectionStart](c)
	c.send(0, &proto.ConnectionStartOk{Mechanism: "SCRAM-SHA-256", Response: "x", Locale: "en_US",
		ClientProperties: exchange.Table{"capabilities": exchange.Table{"authentication_failure_close": true}}})
	assert.Nil(t, c.closedBy(), "dropped with no connection.close")
}
