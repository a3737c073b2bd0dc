package inproc

import (
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

// DefaultBufferSize is the capacity in bytes of each direction of a connection made by [Pipe]
// or [NewListener]: 256 KiB, about what a Linux TCP socket buffers. A Write blocks while the
// other end has this much unread, the way a socket blocks when its window is full.
const DefaultBufferSize = 256 << 10

// pipe is both ends of one connection, allocated together.
type pipe struct {
	ab, ba half // ab carries what a writes to b, ba what b writes to a
	a, b   conn // a is the client end, b the server end
}

// Pipe returns the two ends of a new in-process connection with [DefaultBufferSize] in each
// direction. What one end writes the other reads, in order; each direction buffers on its
// own, so both ends may write before either reads (unlike [net.Pipe], which has no buffer and
// deadlocks a client that pipelines). Both ends have the [Addr] {"pipe", 0}.
//
// The ends implement every [net.Conn] method, deadlines included, with the blocking, error
// and deadline behaviour the package documentation describes, and are safe for concurrent use.
// Close each end when done; an end dropped without Close is simply collected, as nothing runs
// in the background.
func Pipe() (client, server net.Conn) {
	return PipeSize(DefaultBufferSize)
}

// PipeSize is [Pipe] with n bytes of buffer in each direction instead of
// [DefaultBufferSize]; n <= 0 means the default. A small n makes a slow reader hold back its
// writer sooner, which tests of back-pressure want. Memory is allocated as data is queued,
// starting at 1 KiB, not n up front.
func PipeSize(n int) (client, server net.Conn) {
	p := newPipe(n, Addr{Name: "pipe"}, Addr{Name: "pipe"})
	return &p.a, &p.b
}

func newPipe(size int, client, server Addr) *pipe {
	if size <= 0 {
		size = DefaultBufferSize
	}
	p := new(pipe)
	p.ab.ring.max = size
	p.ba.ring.max = size
	p.a.rx, p.a.tx, p.a.local, p.a.remote = &p.ba, &p.ab, client, server
	p.b.rx, p.b.tx, p.b.local, p.b.remote = &p.ab, &p.ba, server, client
	return p
}

// conn is one end of a pipe.
type conn struct {
	rx            *half // what the other end writes and this end reads
	tx            *half // what this end writes and the other end reads
	local, remote Addr
	readDeadline  deadline
	writeDeadline deadline
	closed        atomic.Bool // Close has been called
}

var _ net.Conn = (*conn)(nil)

// Read returns at once with the bytes queued, up to len(p), and waits only while none are. It
// fails, without taking any byte, once the read deadline has passed or after this end's Close;
// once the other end has closed and every byte it wrote has been read, it returns io.EOF.
func (c *conn) Read(p []byte) (int, error) {
	h := c.rx
	h.mu.Lock()
	defer h.mu.Unlock()
	for spins := 0; ; spins++ {
		switch {
		case h.readerClosed:
			return 0, c.leaveRead(net.ErrClosed)
		case c.readDeadline.expired.Load():
			return 0, c.leaveRead(os.ErrDeadlineExceeded)
		case len(p) == 0:
			return 0, nil
		case h.ring.n > 0:
			n := h.ring.read(p)
			if h.writeWaiters > 0 && h.ring.free() >= h.wantSpace {
				notify(h.writable)
			}
			if h.ring.n == 0 && h.writerClosed {
				h.ring.release() // nothing more will come
			}
			c.leaveRead(nil)
			return n, nil
		case h.writerClosed:
			return 0, c.leaveRead(io.EOF)
		}
		if spins < readSpins {
			// A request's reply, or the next request of a client in a loop, is usually a
			// few scheduling rounds away. Yielding lets the other end run on this thread
			// and answer; parking would cost a wake-up through the operating system, which
			// costs more than the whole exchange.
			h.mu.Unlock()
			runtime.Gosched()
			h.mu.Lock()
			continue
		}
		h.wait(&h.readable, &h.readWaiters, &c.readDeadline)
	}
}

// readSpins is how many times a Read with nothing to read yields before it parks.
const readSpins = 16

// leaveRead passes a wake-up on to the next waiting Read, which the returning one may have
// consumed, and wraps err (but io.EOF) as a socket would. It is called with rx.mu held.
func (c *conn) leaveRead(err error) error {
	h := c.rx
	if h.readWaiters > 0 {
		notify(h.readable)
	}
	if err == nil || err == io.EOF {
		return err
	}
	return c.opError("read", err)
}

// Write queues all of p for the other end and returns len(p), nil. While the other end has
// the full buffer unread it waits for room, so a large p goes through in pieces as the other
// end reads. It fails once the write deadline has passed, after this end's Close, or after the
// other end's Close (io.ErrClosedPipe), and then n counts the bytes of p queued before that;
// those bytes stay queued. Concurrent Writes are serialised: the bytes of one never interleave
// with another's.
func (c *conn) Write(p []byte) (int, error) {
	h := c.tx
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.writing {
		if err := c.writeErr(); err != nil {
			if h.turnWaiters > 0 {
				notify(h.turn) // the wake-up this call may have consumed
			}
			return 0, err
		}
		h.wait(&h.turn, &h.turnWaiters, &c.writeDeadline)
	}
	h.writing = true
	written := 0
	var err error
	for {
		if err = c.writeErr(); err != nil {
			break
		}
		k := h.ring.write(p[written:])
		written += k
		if k > 0 && h.readWaiters > 0 {
			notify(h.readable)
		}
		if written == len(p) {
			break
		}
		// Waking for a sliver of room would cost a goroutine switch per sliver; a quarter of
		// the buffer, or what is left of p if less, amortises it, like TCP's window updates.
		h.wantSpace = max(1, min(len(p)-written, h.ring.max/4))
		h.wait(&h.writable, &h.writeWaiters, &c.writeDeadline)
	}
	h.writing = false
	if h.turnWaiters > 0 {
		notify(h.turn)
	}
	return written, err
}

// writeErr reports why a Write cannot go on, checked in the order a socket checks: this end
// closed, the other end closed, the deadline passed. It is called with tx.mu held.
func (c *conn) writeErr() error {
	h := c.tx
	switch {
	case h.writerClosed:
		return c.opError("write", net.ErrClosed)
	case h.readerClosed:
		return c.opError("write", io.ErrClosedPipe)
	case c.writeDeadline.expired.Load():
		return c.opError("write", os.ErrDeadlineExceeded)
	}
	return nil
}

// Close closes this end. Blocked and later Reads and Writes on it fail with net.ErrClosed;
// bytes queued for it are dropped. The other end reads what this end wrote before closing,
// then io.EOF, and its Writes fail with io.ErrClosedPipe. Close never blocks, and calling it
// again does nothing and returns nil.
func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.readDeadline.stop()
	c.writeDeadline.stop()

	rx := c.rx
	rx.mu.Lock()
	rx.readerClosed = true
	rx.ring.release()
	rx.wakeAll()
	rx.mu.Unlock()

	c.shutWrite()
	return nil
}

// CloseWrite shuts down the writing direction only, as (*net.TCPConn).CloseWrite does: the
// other end reads what this end wrote, then io.EOF, and this end can still read. Later Writes
// fail with net.ErrClosed. After Close it fails with net.ErrClosed.
func (c *conn) CloseWrite() error {
	if c.closed.Load() {
		return c.opError("close", net.ErrClosed)
	}
	c.shutWrite()
	return nil
}

func (c *conn) shutWrite() {
	tx := c.tx
	tx.mu.Lock()
	tx.writerClosed = true
	if tx.ring.n == 0 {
		tx.ring.release()
	}
	tx.wakeAll()
	tx.mu.Unlock()
}

// LocalAddr returns this end's [Addr].
func (c *conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the other end's [Addr].
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both the read and the write deadline, as SetReadDeadline and
// SetWriteDeadline do.
func (c *conn) SetDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	return nil
}

// SetReadDeadline makes Reads fail with os.ErrDeadlineExceeded from t on, including a Read
// already waiting. A t in the past fails them at once; a zero t removes the deadline. Moving
// the deadline while a Read waits applies to that Read. The deadline is measured with the time
// package, so a testing/synctest bubble's fake clock drives it.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	c.readDeadline.set(t)
	return nil
}

// SetWriteDeadline is SetReadDeadline for Writes. A Write that times out has queued
// the bytes it reports, and only those.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opError("set", net.ErrClosed)
	}
	c.writeDeadline.set(t)
	return nil
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: Network, Source: c.local, Addr: c.remote, Err: err}
}
