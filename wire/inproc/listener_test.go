package inproc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/leakcheck"
	"github.com/tribusmq/tribus/wire/inproc"
)

func TestListener_DialBeforeAcceptQueuesConnection(t *testing.T) {
	l := inproc.NewListener("redis")
	defer l.Close()

	client, err := l.Dial(context.Background(), "tcp", "ignored:6379")
	require.NoError(t, err)
	defer client.Close()
	_, err = client.Write([]byte("PING")) // nobody has accepted yet: it is buffered
	require.NoError(t, err)

	server, err := l.Accept()
	require.NoError(t, err)
	defer server.Close()
	buf := make([]byte, 8)
	n, err := server.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "PING", string(buf[:n]))
}

func TestListener_AddrsNumberEachDial(t *testing.T) {
	l := inproc.NewListener("")
	defer l.Close()
	assert.Equal(t, inproc.Addr{Name: "inproc"}, l.Addr())
	assert.Equal(t, "inproc", l.Addr().Network())

	for i := uint64(1); i <= 2; i++ {
		client, err := l.Dial(context.Background(), "", "")
		require.NoError(t, err)
		server, err := l.Accept()
		require.NoError(t, err)
		want := inproc.Addr{Name: "inproc", ID: i}
		assert.Equal(t, want, client.LocalAddr())
		assert.Equal(t, want, server.RemoteAddr())
		assert.Equal(t, l.Addr(), client.RemoteAddr())
		assert.Equal(t, l.Addr(), server.LocalAddr())
		assert.Equal(t, fmt.Sprintf("inproc:%d", i), client.LocalAddr().String())
		client.Close()
		server.Close()
	}
}

func TestListener_AcceptAfterCloseFails(t *testing.T) {
	l := inproc.NewListener("x")
	require.NoError(t, l.Close())
	c, err := l.Accept()
	assert.Nil(t, c)
	assert.ErrorIs(t, err, inproc.ErrListenerClosed)
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.NoError(t, l.Close(), "Close is idempotent")
}

func TestListener_CloseUnblocksAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := inproc.NewListener("x")
		var err error
		go func() { _, err = l.Accept() }()
		synctest.Wait()
		require.NoError(t, err)
		require.NoError(t, l.Close())
		synctest.Wait()
		assert.ErrorIs(t, err, net.ErrClosed)
	})
}

func TestListener_DialAfterCloseFailsWithNetErrClosed(t *testing.T) {
	l := inproc.NewListener("x")
	require.NoError(t, l.Close())
	c, err := l.Dial(context.Background(), "tcp", "x")
	assert.Nil(t, c)
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.ErrorIs(t, err, inproc.ErrListenerClosed)
	var op *net.OpError
	require.True(t, errors.As(err, &op))
	assert.Equal(t, "dial", op.Op)
}

func TestListener_CloseClosesQueuedButKeepsAcceptedConnections(t *testing.T) {
	l := inproc.NewListener("x")
	accepted, err := l.Dial(context.Background(), "", "")
	require.NoError(t, err)
	defer accepted.Close()
	serverEnd, err := l.Accept()
	require.NoError(t, err)
	defer serverEnd.Close()
	queued, err := l.Dial(context.Background(), "", "")
	require.NoError(t, err)
	defer queued.Close()

	require.NoError(t, l.Close())

	_, err = queued.Read(make([]byte, 1))
	assert.Same(t, io.EOF, err, "a connection nobody accepted is closed, like a reset")
	_, err = accepted.Write([]byte("still here"))
	require.NoError(t, err)
	buf := make([]byte, 16)
	n, err := serverEnd.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "still here", string(buf[:n]))
}

func TestListener_DialWaitsForBacklogRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := inproc.NewListener("x")
		defer l.Close()
		for range inproc.DefaultBacklog {
			c, err := l.Dial(context.Background(), "", "")
			require.NoError(t, err)
			defer c.Close()
		}
		var dialed net.Conn
		var err error
		go func() { dialed, err = l.Dial(context.Background(), "", "") }()
		synctest.Wait()
		require.Nil(t, dialed, "Dial did not wait with the backlog full")

		first, aerr := l.Accept()
		require.NoError(t, aerr)
		defer first.Close()
		synctest.Wait()
		require.NoError(t, err)
		require.NotNil(t, dialed)
		dialed.Close()
	})
}

func TestListener_DialContextEndsWhileBacklogFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := inproc.NewListener("x")
		defer l.Close()
		for range inproc.DefaultBacklog {
			_, err := l.Dial(context.Background(), "", "")
			require.NoError(t, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		c, err := l.Dial(ctx, "", "")
		assert.Nil(t, c)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(start))

		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		_, err = l.Dial(ctx, "", "")
		assert.ErrorIs(t, err, context.Canceled, "a done ctx fails Dial even with room")
	})
}

func TestListener_CloseUnblocksDialWaitingForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := inproc.NewListener("x")
		for range inproc.DefaultBacklog {
			_, err := l.Dial(context.Background(), "", "")
			require.NoError(t, err)
		}
		var err error
		go func() { _, err = l.Dial(context.Background(), "", "") }()
		synctest.Wait()
		require.NoError(t, l.Close())
		synctest.Wait()
		assert.ErrorIs(t, err, inproc.ErrListenerClosed)
	})
}

// TestListener_ServesNetHTTP runs a real client library, net/http's, over the listener: its
// Transport.DialContext has Dial's signature.
func TestListener_ServesNetHTTP(t *testing.T) {
	leakcheck.Check(t)
	l := inproc.NewListener("http")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	tr := &http.Transport{DialContext: l.Dial}
	defer func() {
		tr.CloseIdleConnections()
		require.NoError(t, srv.Close())
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
	}()

	client := &http.Client{Transport: tr}
	for _, path := range []string{"/a", "/b", "/c"} { // reuses one keep-alive connection
		resp, err := client.Get("http://tribus.invalid" + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "hello "+path, string(body))
	}
}
