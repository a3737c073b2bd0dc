package door

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errClosed = errors.New("closed")

// echo serves nc by copying what it reads back to it until either side closes.
func echo(nc net.Conn) func() {
	return func() {
		io.Copy(nc, nc)
		nc.Close()
	}
}

func TestAdmitBeyondMaxCallsRefuse(t *testing.T) {
	var s Set
	defer s.Close()
	a, _ := net.Pipe()
	b, _ := net.Pipe()
	require.True(t, s.Admit(a, 1, func(net.Conn) { t.Fatal("first connection refused") }, echo(a)))
	refused := false
	require.True(t, s.Admit(b, 1, func(nc net.Conn) { refused = true; nc.Close() }, echo(b)))
	require.True(t, refused)
	require.Equal(t, 1, s.Len())
}

func TestConnectionLeavesSetWhenServeReturns(t *testing.T) {
	var s Set
	defer s.Close()
	done := make(chan struct{})
	client, err := s.Dial(context.Background(), errClosed, func(nc net.Conn) bool {
		return s.Admit(nc, 0, nil, func() { echo(nc)(); close(done) })
	})
	require.NoError(t, err)
	_, err = client.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(client, buf)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf))
	client.Close()
	<-done
	s.Close() // waits for the connection goroutine, whose deferred Remove has then run
	require.Equal(t, 0, s.Len())
}

func TestCloseEndsConnectionsAndRefusesNewOnes(t *testing.T) {
	var s Set
	admit := func(nc net.Conn) bool { return s.Admit(nc, 0, nil, echo(nc)) }
	client, err := s.Dial(context.Background(), errClosed, admit)
	require.NoError(t, err)
	s.Close()
	_, err = client.Read(make([]byte, 1))
	require.Error(t, err, "a connection in the set is closed by Close")
	_, err = s.Dial(context.Background(), errClosed, admit)
	require.ErrorIs(t, err, errClosed)
	nc, _ := net.Pipe()
	require.False(t, s.Admit(nc, 0, nil, echo(nc)))
}

func TestDialHonoursContext(t *testing.T) {
	var s Set
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Dial(ctx, errClosed, func(net.Conn) bool { t.Fatal("admitted"); return false })
	require.ErrorIs(t, err, context.Canceled)
}

func TestServeReturnsClosedErrAfterClose(t *testing.T) {
	var s Set
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(ln, errClosed, slog.New(slog.DiscardHandler), func(nc net.Conn) {
			s.Admit(nc, 0, nil, echo(nc))
		})
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte("x"))
	require.NoError(t, err)
	_, err = io.ReadFull(nc, make([]byte, 1))
	require.NoError(t, err)
	s.Close()
	require.ErrorIs(t, <-served, errClosed)
	require.ErrorIs(t, s.Serve(ln, errClosed, slog.New(slog.DiscardHandler), nil), errClosed)
}

func TestShutRefusesNewConnectionsAndKeepsOpenOnes(t *testing.T) {
	var s Set
	defer s.Close()
	admit := func(nc net.Conn) bool { return s.Admit(nc, 0, nil, echo(nc)) }
	client, err := s.Dial(context.Background(), errClosed, admit)
	require.NoError(t, err)
	s.Shut()
	_, err = s.Dial(context.Background(), errClosed, admit)
	require.ErrorIs(t, err, errClosed)
	_, err = client.Write([]byte("k"))
	require.NoError(t, err)
	_, err = io.ReadFull(client, make([]byte, 1))
	require.NoError(t, err, "a connection admitted before Shut is still served")
}

// Observe sees a connection join and leave once each, whatever removes it and however often.
func TestSet_ObserveSeesEachConnectionOpenAndCloseOnce(t *testing.T) {
	var mu sync.Mutex
	var got []string
	s := &Set{Observe: func(opened bool, _ net.Conn, n int) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%v %d", opened, n))
		mu.Unlock()
	}}
	client, server := net.Pipe()
	defer client.Close()
	done := make(chan struct{})
	require.True(t, s.Admit(server, 0, nil, func() { <-done }))
	s.Remove(server) // taken out early, as a door does before it says goodbye
	close(done)
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"true 1", "false 0"}, got)
}
