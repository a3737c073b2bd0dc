package inproc_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/leakcheck"
	"github.com/tribusmq/tribus/wire/inproc"
)

// pattern returns n bytes that differ from one offset to the next, so a byte lost, repeated
// or reordered shows.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7+i/251) + seed
	}
	return p
}

func closeBoth(t *testing.T, a, b net.Conn) {
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
}

func TestPipe_RoundTripBothDirections(t *testing.T) {
	client, server := inproc.Pipe()
	closeBoth(t, client, server)

	// Each end writes before the other reads: the buffers make that legal.
	_, err := client.Write([]byte("PING"))
	require.NoError(t, err)
	_, err = server.Write([]byte("PONG"))
	require.NoError(t, err)

	buf := make([]byte, 16)
	n, err := server.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "PING", string(buf[:n]))
	n, err = client.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "PONG", string(buf[:n]))
}

func TestPipe_ReadReturnsQueuedBytesWithoutFillingBuffer(t *testing.T) {
	client, server := inproc.Pipe()
	closeBoth(t, client, server)

	_, err := client.Write([]byte("abc"))
	require.NoError(t, err)
	buf := make([]byte, 1024)
	n, err := server.Read(buf) // would block forever if Read waited to fill buf
	require.NoError(t, err)
	assert.Equal(t, "abc", string(buf[:n]))

	// A short buffer takes a prefix; the rest stays for the next Read.
	_, err = client.Write([]byte("defgh"))
	require.NoError(t, err)
	n, err = server.Read(buf[:2])
	require.NoError(t, err)
	assert.Equal(t, "de", string(buf[:n]))
	n, err = server.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "fgh", string(buf[:n]))
}

func TestPipe_ZeroLengthReadAndWriteReturnAtOnce(t *testing.T) {
	client, server := inproc.Pipe()
	closeBoth(t, client, server)

	n, err := server.Read(nil) // nothing queued: must not wait
	assert.Equal(t, 0, n)
	assert.NoError(t, err)
	n, err = client.Write(nil)
	assert.Equal(t, 0, n)
	assert.NoError(t, err)
}

func TestPipe_LargeWriteThroughSmallBufferArrivesInOrder(t *testing.T) {
	leakcheck.Check(t)
	client, server := inproc.PipeSize(4 << 10)
	closeBoth(t, client, server)

	want := pattern(4<<20, 1)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := client.Write(want) // 1024 times the buffer: must go through in pieces
		done <- result{n, err}
	}()

	got := make([]byte, 0, len(want))
	chunk := make([]byte, 777) // odd size, so reads straddle the ring's wrap point
	for len(got) < len(want) {
		n, err := server.Read(chunk)
		require.NoError(t, err)
		got = append(got, chunk[:n]...)
	}
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, len(want), r.n)
	assert.True(t, bytes.Equal(want, got), "bytes arrived altered or out of order")
}

func TestPipe_ConcurrentReadersAndWritersBothWays_Race(t *testing.T) {
	leakcheck.Check(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	client, server := inproc.PipeSize(1000)
	closeBoth(t, client, server)

	const total = 256 << 10
	var wg sync.WaitGroup
	stream := func(name string, w, r net.Conn, tag byte, rng *rand.Rand) {
		want := pattern(total, tag)
		sizes := make([]int, 0, 1024)
		for sum := 0; sum < total; {
			n := min(1+rng.IntN(3000), total-sum)
			sizes = append(sizes, n)
			sum += n
		}
		readSizes := make([]int, 1024)
		for i := range readSizes {
			readSizes[i] = 1 + rng.IntN(2000)
		}
		wg.Go(func() {
			off := 0
			for _, n := range sizes {
				k, err := w.Write(want[off : off+n])
				assert.NoError(t, err, name)
				assert.Equal(t, n, k, name)
				off += n
			}
		})
		wg.Go(func() {
			got := make([]byte, 0, total)
			buf := make([]byte, 2000)
			for i := 0; len(got) < total; i++ {
				n, err := r.Read(buf[:readSizes[i%len(readSizes)]])
				if !assert.NoError(t, err, name) {
					return
				}
				got = append(got, buf[:n]...)
			}
			assert.True(t, bytes.Equal(want, got), "%s: stream altered (seed %d)", name, seed)
		})
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	stream("client→server", client, server, 3, rand.New(rand.NewPCG(rng.Uint64(), 2)))
	stream("server→client", server, client, 5, rand.New(rand.NewPCG(rng.Uint64(), 3)))

	// Deadline calls from a third goroutine race with the blocked calls; far-off deadlines
	// and clears must not disturb them.
	stop := make(chan struct{})
	var dl sync.WaitGroup
	dl.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			far := time.Now().Add(time.Hour)
			if i%2 == 0 {
				far = time.Time{}
			}
			assert.NoError(t, client.SetDeadline(far))
			assert.NoError(t, server.SetReadDeadline(far))
			assert.NoError(t, server.SetWriteDeadline(far))
		}
	})
	wg.Wait()
	close(stop)
	dl.Wait()
}

func TestPipe_ConcurrentWritesDoNotInterleave(t *testing.T) {
	leakcheck.Check(t)
	client, server := inproc.PipeSize(1 << 10)
	closeBoth(t, client, server)

	const size, writers = 50 << 10, 4 // each Write is 50 times the buffer
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			n, err := client.Write(bytes.Repeat([]byte{byte('a' + w)}, size))
			assert.NoError(t, err)
			assert.Equal(t, size, n)
		})
	}
	got := make([]byte, 0, size*writers)
	buf := make([]byte, 4096)
	for len(got) < size*writers {
		n, err := server.Read(buf)
		require.NoError(t, err)
		got = append(got, buf[:n]...)
	}
	wg.Wait()
	seen := map[byte]bool{}
	for i := 0; i < len(got); i += size {
		run := got[i : i+size]
		assert.Equal(t, bytes.Repeat(run[:1], size), run, "the Write at offset %d was interleaved", i)
		assert.False(t, seen[run[0]], "writer %c appears twice", run[0])
		seen[run[0]] = true
	}
}

// TestPipe_PipeliningDoesNotDeadlock runs the exchange net.Pipe deadlocks on: the client writes
// every request before reading any reply while the server replies to each as it arrives. With
// net.Pipe the server's first reply blocks until the client reads, while the client blocks
// writing its second request. Inside the bubble a deadlock would panic rather than hang.
func TestPipe_PipeliningDoesNotDeadlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.Pipe()
		defer client.Close()

		const requests, size = 2000, 64 // 125 KiB each way: both fit the 256 KiB buffers
		go func() {
			defer server.Close()
			req := make([]byte, size)
			for {
				if _, err := io.ReadFull(server, req); err != nil {
					return
				}
				req[0] = '+'
				if _, err := server.Write(req); err != nil {
					return
				}
			}
		}()

		for i := range requests {
			req := pattern(size, byte(i))
			req[0] = '*'
			_, err := client.Write(req)
			require.NoError(t, err)
		}
		reply := make([]byte, size)
		for i := range requests {
			_, err := io.ReadFull(client, reply)
			require.NoError(t, err)
			want := pattern(size, byte(i))
			want[0] = '+'
			require.Equal(t, want, reply, "reply %d", i)
		}
	})
}

func TestPipe_SlowReaderBlocksWriterAtCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := inproc.PipeSize(100)
		closeBoth(t, client, server)

		var n int
		var err error
		go func() { n, err = client.Write(make([]byte, 250)) }()
		synctest.Wait()
		// Blocked with the buffer full: exactly the capacity is queued.
		buf := make([]byte, 1000)
		k, rerr := server.Read(buf)
		require.NoError(t, rerr)
		assert.Equal(t, 100, k)

		for total := k; total < 250; total += k {
			k, rerr = server.Read(buf)
			require.NoError(t, rerr)
		}
		synctest.Wait()
		assert.NoError(t, err)
		assert.Equal(t, 250, n)
	})
}

func TestPipe_AddrsNamePipe(t *testing.T) {
	client, server := inproc.Pipe()
	closeBoth(t, client, server)
	for _, a := range []net.Addr{client.LocalAddr(), client.RemoteAddr(), server.LocalAddr(), server.RemoteAddr()} {
		assert.Equal(t, "inproc", a.Network())
		assert.Equal(t, "pipe", a.String())
		assert.Equal(t, inproc.Addr{Name: "pipe"}, a)
	}
}

func TestPipe_OpErrorsAreNetOpErrors(t *testing.T) {
	client, server := inproc.Pipe()
	require.NoError(t, client.Close())
	_, err := client.Read(make([]byte, 1))
	var op *net.OpError
	require.True(t, errors.As(err, &op), "%T", err)
	assert.Equal(t, "read", op.Op)
	assert.Equal(t, "inproc", op.Net)
	assert.Equal(t, server.LocalAddr(), op.Addr)
	server.Close()
}
