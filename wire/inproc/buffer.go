package inproc

// initialBufferSize is what a direction allocates on its first Write, unless that Write needs
// more. It keeps a pipe that only ever carries a few small commands small; the buffer doubles
// from here, up to its capacity, as more is queued at once.
const initialBufferSize = 1 << 10

// ring is a bounded byte FIFO: the bytes queued in one direction of a connection. It has no
// locks, goroutines or clock; [half] drives it under its mutex.
//
// buf is nil until the first write and grows, never shrinks, until release.
type ring struct {
	buf []byte // len(buf) is the current allocation, at most max
	r   int    // index in buf of the oldest queued byte
	n   int    // number of queued bytes, at most len(buf)
	max int    // capacity in bytes: write accepts nothing more once n == max
}

// free reports how many more bytes write would accept now.
func (b *ring) free() int { return b.max - b.n }

// write queues as much of p as fits under max, growing buf if needed, and reports how many
// bytes it took.
func (b *ring) write(p []byte) int {
	k := min(len(p), b.free())
	if k == 0 {
		return 0
	}
	if b.n+k > len(b.buf) {
		b.grow(b.n + k)
	}
	w := b.r + b.n
	if w >= len(b.buf) {
		w -= len(b.buf)
	}
	c := copy(b.buf[w:], p[:k])
	copy(b.buf, p[c:k]) // the part that wraps around, if any
	b.n += k
	return k
}

// read moves up to len(p) queued bytes, oldest first, into p and reports how many.
func (b *ring) read(p []byte) int {
	k := min(len(p), b.n)
	c := copy(p[:k], b.buf[b.r:min(b.r+k, len(b.buf))])
	copy(p[c:k], b.buf) // the part that wraps around, if any
	b.r += k
	if b.r >= len(b.buf) {
		b.r -= len(b.buf)
	}
	b.n -= k
	if b.n == 0 {
		b.r = 0 // keeps the next writes contiguous
	}
	return k
}

// grow reallocates buf to hold at least need bytes (need <= max), doubling from its current
// size, and moves the queued bytes to its start.
func (b *ring) grow(need int) {
	size := max(len(b.buf), initialBufferSize)
	for size < need {
		size *= 2
	}
	size = min(size, b.max)
	buf := make([]byte, size)
	c := copy(buf, b.buf[b.r:min(b.r+b.n, len(b.buf))])
	copy(buf[c:b.n], b.buf)
	b.buf, b.r = buf, 0
}

// release drops the queued bytes and the memory holding them.
func (b *ring) release() {
	b.buf, b.r, b.n = nil, 0, 0
}
