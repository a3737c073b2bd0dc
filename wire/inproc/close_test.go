package inproc_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/wire/inproc"
)

func TestClose_PeerReadDrainsThenEOF(t *testing.T) {
	client, server := inproc.Pipe()
	defer server.Close()

	_, err := client.Write([]byte("last words"))
	require.NoError(t, err)
	require.NoError(t, client.Close())

	buf := make([]byte, 4)
	var got []byte
	for {
		n, err := server.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			assert.Same(t, io.EOF, err, "EOF must be bare for io.Reader callers")
			break
		}
	}
	assert.Equal(t, "last words", string(got))

	n, err := server.Read(buf) // and stays at EOF
	assert.Equal(t, 0, n)
	assert.Same(t, io.EOF, err)
}

func TestClose_WriteAfterPeerCloseFailsWithErrClosedPipe(t *testing.T) {
	client, server := inproc.Pipe()
	defer client.Close()
	require.NoError(t, server.Close())

	n, err := client.Write([]byte("anyone?"))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.ErrClosedPipe)
	assert.NotErrorIs(t, err, net.ErrClosed, "this end is still open")
}

func TestClose_LocalCallsAfterCloseFailWithNetErrClosed(t *testing.T) {
	client, server := inproc.Pipe()
	defer server.Close()
	_, err := server.Write([]byte("unread"))
	require.NoError(t, err)
	require.NoError(t, client.Close())

	_, err = client.Read(make([]byte, 8))
	assert.ErrorIs(t, err, net.ErrClosed, "Read, even with bytes that were queued")
	_, err = client.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed, "Write")
	assert.ErrorIs(t, client.SetDeadline(time.Now()), net.ErrClosed, "SetDeadline")
	assert.ErrorIs(t, client.SetReadDeadline(time.Now()), net.ErrClosed, "SetReadDeadline")
	assert.ErrorIs(t, client.SetWriteDeadline(time.Now()), net.ErrClosed, "SetWriteDeadline")
}

func TestClose_IsIdempotent(t *testing.T) {
	client, server := inproc.Pipe()
	assert.NoError(t, client.Close())
	assert.NoError(t, client.Close())
	assert.NoError(t, server.Close())
	assert.NoError(t, server.Close())
	_, err := client.Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed)
}

// TestClose_UnblocksBlockedCalls closes one end while a Read or a Write waits on either end.
func TestClose_UnblocksBlockedCalls(t *testing.T) {
	tests := []struct {
		name    string
		blocked func(local, peer net.Conn) error // blocks until local.Close
		want    error
	}{
		{"local Read", func(local, _ net.Conn) error {
			_, err := local.Read(make([]byte, 1))
			return err
		}, net.ErrClosed},
		{"local Write", func(local, _ net.Conn) error {
			_, err := local.Write(make([]byte, 64)) // the buffer holds 16
			return err
		}, net.ErrClosed},
		{"peer Read", func(_, peer net.Conn) error {
			_, err := peer.Read(make([]byte, 1))
			return err
		}, io.EOF},
		{"peer Write", func(_, peer net.Conn) error {
			_, err := peer.Write(make([]byte, 64))
			return err
		}, io.ErrClosedPipe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				local, peer := inproc.PipeSize(16)
				defer peer.Close()
				var err error
				returned := false
				go func() {
					err = tt.blocked(local, peer)
					returned = true
				}()
				synctest.Wait()
				require.False(t, returned, "the call did not block")

				require.NoError(t, local.Close())
				synctest.Wait()
				require.True(t, returned, "Close did not unblock the call")
				assert.True(t, errors.Is(err, tt.want), "got %v, want %v", err, tt.want)
			})
		})
	}
}

func TestClose_UnblocksWriteWaitingForItsTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.PipeSize(16)
		defer server.Close()
		errs := make(chan error, 2)
		for range 2 { // one holds the turn waiting for room, the other waits for the turn
			go func() {
				_, err := client.Write(make([]byte, 64))
				errs <- err
			}()
		}
		synctest.Wait()
		require.NoError(t, client.Close())
		assert.ErrorIs(t, <-errs, net.ErrClosed)
		assert.ErrorIs(t, <-errs, net.ErrClosed)
	})
}

func TestPipe_CloseWriteLetsThePeerReadEOFAndStillReply(t *testing.T) {
	client, server := inproc.Pipe()
	defer client.Close()
	defer server.Close()
	_, err := client.Write([]byte("request"))
	require.NoError(t, err)
	require.NoError(t, client.(interface{ CloseWrite() error }).CloseWrite())
	got, err := io.ReadAll(server)
	require.NoError(t, err, "the peer reads what was written, then EOF")
	assert.Equal(t, "request", string(got))
	_, err = server.Write([]byte("reply"))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = io.ReadFull(client, buf)
	require.NoError(t, err, "the half-closed end still reads")
	assert.Equal(t, "reply", string(buf))
	_, err = client.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
}
