package resp_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/leakcheck"
	"github.com/tribusmq/tribus/internal/resptest"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/wire/resp"
)

func TestServer_CloseEndsConnectionsListenersAndGoroutines(t *testing.T) {
	leakcheck.Check(t)
	hub, err := pubsub.New(nil)
	require.NoError(t, err)
	defer hub.Close()
	srv, err := resp.NewServer(hub, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	tcp, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer tcp.Close()
	tc := &resptest.Client{T: t, NC: tcp, BR: bufio.NewReader(tcp)}
	tc.Do("SUBSCRIBE", "a") // a subscribed connection has a pump goroutine too
	tc.Expect(resptest.Frame('*', "subscribe", "a", 1))
	in := resptest.Dial(t, srv)
	in.Do("PING")
	in.Expect("+PONG\r\n")

	require.NoError(t, srv.Close())
	assert.ErrorIs(t, <-served, resp.ErrServerClosed)
	tc.ExpectClosed()
	in.ExpectClosed()
	assert.Equal(t, 0, hub.Stats().Subscriptions, "the subscription ended with its connection")
	_, err = srv.Dial(context.Background(), "", "")
	assert.ErrorIs(t, err, resp.ErrServerClosed)
	assert.ErrorIs(t, srv.Serve(ln), resp.ErrServerClosed)
	require.NoError(t, srv.Close(), "Close is idempotent")
}

func TestServer_ClientLeavingEndsItsSubscription(t *testing.T) {
	srv, hub := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("SUBSCRIBE", "a")
	c.Expect(resptest.Frame('*', "subscribe", "a", 1))
	c.Do("QUIT")
	c.Expect("+OK\r\n")
	c.ExpectClosed()
	assert.Equal(t, 0, hub.Publish("a", nil), "nobody is subscribed once the client has gone")
}

func TestSlow_R24_SlowSubscriberConnectionIsClosed(t *testing.T) {
	srv, hub := resptest.NewServer(t, &resp.Options{Limits: pubsub.Limits{MaxBytes: 64 << 10}})
	c := resptest.Dial(t, srv)
	c.Do("SUBSCRIBE", "firehose")
	c.Expect(resptest.Frame('*', "subscribe", "firehose", 1))
	// The client reads nothing: the in-memory pipe (256 KiB) fills, the pump blocks, the hub
	// buffers up to the 64 KiB limit and then cuts the subscriber off, closing its connection.
	payload := bytes.Repeat([]byte("x"), 1024)
	for hub.Stats().Disconnects == 0 {
		hub.Publish("firehose", payload) // never blocks, whatever the subscriber does
	}
	// The client can read what reached it, then the close.
	require.NoError(t, c.NC.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := c.BR.WriteTo(discard{})
	require.NoError(t, err)
	assert.Equal(t, 0, hub.Publish("firehose", payload), "it is no longer counted")
	assert.Equal(t, 0, srv.Stats().Connections)
	// Reference: R24, redis.conf client-output-buffer-limit pubsub
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestServer_IdleTimeoutClosesIdleButNotSubscribedClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := resptest.NewServer(t, &resp.Options{IdleTimeout: 30 * time.Second})
		idle, subscribed := resptest.Dial(t, srv), resptest.Dial(t, srv)
		subscribed.Do("SUBSCRIBE", "a")
		subscribed.Expect(resptest.Frame('*', "subscribe", "a", 1))
		idle.Do("PING")
		idle.Expect("+PONG\r\n")
		time.Sleep(29 * time.Second) // the fake clock: just under the timeout
		idle.Do("PING")
		idle.Expect("+PONG\r\n")
		time.Sleep(31 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, srv.Stats().Connections, "the idle client was closed")
		idle.ExpectClosed()
		subscribed.Do("PING")
		subscribed.Expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
		// Reference: redis.conf timeout (pub/sub clients are exempt)
	})
}

func TestServer_DialHonoursContext(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := srv.Dial(ctx, "tcp", "x")
	assert.ErrorIs(t, err, context.Canceled)
}

// FuzzServer sends arbitrary bytes on one connection: the server must answer or close that
// connection only, never panic, and keep serving others.
func FuzzServer(f *testing.F) {
	for _, seed := range []string{
		"PING\r\nSUBSCRIBE a\r\nPUBLISH a b\r\n", "HELLO 3\r\nSUBSCRIBE a b\r\nPUBLISH a x\r\nRESET\r\n",
		"*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n", "CLIENT SETNAME x\r\nCLIENT INFO\r\nCOMMAND DOCS\r\n",
		"INFO\r\nCONFIG GET *\r\nCOMMAND\r\n", "PSUBSCRIBE *\r\nPUNSUBSCRIBE\r\nUNSUBSCRIBE\r\n",
		"*1\r\n$x\r\n", "AUTH a b c\r\nSELECT 99\r\nQUIT\r\n",
	} {
		f.Add([]byte(seed))
	}
	srv, hub := resptest.NewServer(f, &resp.Options{MaxBulkLen: 1 << 20})
	watcher, err := hub.PSubscribe("*")
	require.NoError(f, err)
	defer watcher.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := srv.Dial(context.Background(), "", "")
		require.NoError(t, err)
		go func() {
			nc.Write(data)
			nc.(interface{ CloseWrite() error }).CloseWrite()
		}()
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		_, err = bufio.NewReader(nc).WriteTo(discard{})
		require.NoError(t, err, "the server closes the connection once the input ends")
		nc.Close()
		other := resptest.Dial(t, srv)
		other.Do("PING")
		other.Expect("+PONG\r\n")
	})
}

// A client that writes a long pipeline before reading any reply: the replies outgrow the
// in-process pipe, and the server must keep reading requests while they wait, as Redis keeps
// them in an output buffer, rather than wait for the client, which waits for it.
func TestServer_KeepsReadingWhileRepliesWait(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	const n = 200000 // 1.2 MB of requests, 1.4 MB of replies; the pipe holds 256 KiB
	c.Send(strings.Repeat("PING\r\n", n))
	c.Expect(strings.Repeat("+PONG\r\n", n))
}

// A subscriber that keeps sending commands and reads nothing: each command moves the
// messages ahead of its reply into the connection's output, so the hub's buffer never fills;
// the output's own hard limit cuts it off instead.
func TestSlow_R24_SubscriberSendingCommandsIsCutOffByItsOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, hub := resptest.NewServer(t, &resp.Options{Limits: pubsub.Limits{MaxBytes: 64 << 10}})
		c := resptest.Dial(t, srv)
		c.Do("HELLO", "3")
		c.Reply()
		c.Do("SUBSCRIBE", "firehose")
		c.Expect(resptest.Frame('>', "subscribe", "firehose", 1))
		payload := bytes.Repeat([]byte("x"), 1024)
		ping := []byte("PING\r\n")
		for range 10000 {
			hub.Publish("firehose", payload)
			if _, err := c.NC.Write(ping); err != nil {
				break // the server has closed the connection
			}
			if srv.Stats().Connections == 0 {
				break
			}
		}
		synctest.Wait() // the server's side of the closed connection has ended
		assert.Equal(t, 0, srv.Stats().Connections, "the subscriber was cut off")
		assert.Equal(t, 0, hub.Publish("firehose", payload))
		// Reference: R24, redis.conf client-output-buffer-limit pubsub
	})
}
