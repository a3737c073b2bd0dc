package inproc_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/wire/inproc"
)

// requireTimeout checks err the way net/http and client libraries test for a timeout.
func requireTimeout(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.True(t, errors.As(err, &ne), "%T is not a net.Error", err)
	require.True(t, ne.Timeout(), "Timeout() is false")
}

func TestDeadline_ReadFiresWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.Pipe()
		closeBoth(t, client, server)
		start := time.Now()
		require.NoError(t, server.SetReadDeadline(start.Add(time.Minute)))

		n, err := server.Read(make([]byte, 8))
		assert.Equal(t, 0, n)
		requireTimeout(t, err)
		assert.Equal(t, time.Minute, time.Since(start), "fired on the fake clock, on time")
	})
}

func TestDeadline_PastFailsAtOnceEvenWithBytesQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.Pipe()
		closeBoth(t, client, server)
		start := time.Now()
		_, err := client.Write([]byte("queued"))
		require.NoError(t, err)

		require.NoError(t, server.SetReadDeadline(start.Add(-time.Second)))
		_, err = server.Read(make([]byte, 8))
		requireTimeout(t, err)
		require.NoError(t, client.SetWriteDeadline(start))
		n, err := client.Write([]byte("more"))
		assert.Equal(t, 0, n)
		requireTimeout(t, err)
		assert.Zero(t, time.Since(start), "no time passed")

		// The bytes are still there once the deadline is cleared.
		require.NoError(t, server.SetReadDeadline(time.Time{}))
		buf := make([]byte, 8)
		n, err = server.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "queued", string(buf[:n]))
	})
}

func TestDeadline_PastDeadlineUnblocksPendingCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.PipeSize(16)
		closeBoth(t, client, server)
		var readErr, writeErr error
		var written int
		// One end, both ways blocked: nothing to read, no room to write.
		go func() { _, readErr = client.Read(make([]byte, 8)) }()
		go func() { written, writeErr = client.Write(make([]byte, 40)) }()
		synctest.Wait()
		require.NoError(t, readErr)
		require.NoError(t, writeErr)

		start := time.Now()
		require.NoError(t, client.SetReadDeadline(start.Add(-time.Nanosecond)))
		require.NoError(t, client.SetWriteDeadline(start)) // "now" is already past
		synctest.Wait()
		requireTimeout(t, readErr)
		requireTimeout(t, writeErr)
		assert.Equal(t, 16, written, "the Write reports what it queued before the deadline")
		assert.Zero(t, time.Since(start))
	})
}

func TestDeadline_ClearedLetsLaterReadBlockAndSucceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.Pipe()
		closeBoth(t, client, server)
		require.NoError(t, server.SetReadDeadline(time.Now().Add(time.Second)))
		_, err := server.Read(make([]byte, 8))
		requireTimeout(t, err)

		require.NoError(t, server.SetReadDeadline(time.Time{}))
		var n int
		buf := make([]byte, 8)
		done := false
		go func() {
			n, err = server.Read(buf)
			done = true
		}()
		time.Sleep(time.Hour) // advances the fake clock: no deadline is left to fire
		synctest.Wait()
		require.False(t, done, "Read returned with no data and no deadline")

		_, werr := client.Write([]byte("late"))
		require.NoError(t, werr)
		synctest.Wait()
		require.True(t, done)
		require.NoError(t, err)
		assert.Equal(t, "late", string(buf[:n]))
	})
}

func TestDeadline_MovedWhileBlockedAppliesToThatCall(t *testing.T) {
	tests := []struct {
		name  string
		first time.Duration // deadline set before the Read, from the start
		moved time.Duration // deadline set at one second, from the start
	}{
		{"extended", 2 * time.Second, 5 * time.Second},
		{"shortened", time.Hour, 3 * time.Second},
		{"cleared then set", 2 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, server := inproc.Pipe()
				closeBoth(t, client, server)
				start := time.Now()
				require.NoError(t, server.SetReadDeadline(start.Add(tt.first)))

				var err error
				var returnedAt time.Duration
				go func() {
					_, err = server.Read(make([]byte, 8))
					returnedAt = time.Since(start)
				}()
				time.Sleep(time.Second)
				if tt.moved == 0 {
					// Cleared, the Read outlives its first deadline; a new one ends it.
					require.NoError(t, server.SetReadDeadline(time.Time{}))
					time.Sleep(time.Hour)
					synctest.Wait()
					require.Zero(t, returnedAt, "a cleared deadline fired")
					require.NoError(t, server.SetReadDeadline(time.Now().Add(time.Second)))
					synctest.Wait()
					time.Sleep(time.Second)
					synctest.Wait()
					requireTimeout(t, err)
					assert.Equal(t, time.Hour+2*time.Second, returnedAt)
					return
				}
				require.NoError(t, server.SetReadDeadline(start.Add(tt.moved)))
				time.Sleep(time.Hour)
				synctest.Wait()
				requireTimeout(t, err)
				assert.Equal(t, tt.moved, returnedAt)
			})
		})
	}
}

func TestDeadline_WriteFiresWhileBufferFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.PipeSize(16)
		closeBoth(t, client, server)
		start := time.Now()
		require.NoError(t, client.SetWriteDeadline(start.Add(time.Second)))

		msg := pattern(40, 9)
		n, err := client.Write(msg)
		requireTimeout(t, err)
		assert.Equal(t, 16, n, "n counts what fitted before the deadline")
		assert.Equal(t, time.Second, time.Since(start))

		// Exactly those n bytes are queued: nothing lost, nothing extra.
		buf := make([]byte, 64)
		k, err := server.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, msg[:n], buf[:k])

		// With the deadline cleared the rest goes through.
		require.NoError(t, client.SetWriteDeadline(time.Time{}))
		n, err = client.Write(msg[16:24])
		require.NoError(t, err)
		assert.Equal(t, 8, n)
	})
}

func TestDeadline_TimedOutReadLosesNoData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.Pipe()
		closeBoth(t, client, server)
		require.NoError(t, server.SetReadDeadline(time.Now().Add(time.Second)))
		_, err := server.Read(make([]byte, 8))
		requireTimeout(t, err)

		msg := pattern(3000, 4)
		_, err = client.Write(msg)
		require.NoError(t, err)
		_, err = server.Read(make([]byte, 8))
		requireTimeout(t, err) // still past: fails without taking a byte

		require.NoError(t, server.SetReadDeadline(time.Time{}))
		got := make([]byte, 0, len(msg))
		buf := make([]byte, 1000)
		for len(got) < len(msg) {
			n, err := server.Read(buf)
			require.NoError(t, err)
			got = append(got, buf[:n]...)
		}
		assert.Equal(t, msg, got)
	})
}

func TestDeadline_ReusedAcrossManyCallsOnOneTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.Pipe()
		closeBoth(t, client, server)
		// go-redis sets a deadline before every command; each must behave afresh.
		buf := make([]byte, 1)
		for i := range 100 {
			require.NoError(t, server.SetReadDeadline(time.Now().Add(time.Second)))
			if i%10 == 9 {
				_, err := server.Read(buf)
				requireTimeout(t, err)
				continue
			}
			_, err := client.Write([]byte{byte(i)})
			require.NoError(t, err)
			_, err = server.Read(buf)
			require.NoError(t, err)
			require.Equal(t, byte(i), buf[0])
		}
	})
}
