package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// initialBuffer is a Reader's first buffer; it grows to the largest frame read.
const initialBuffer = 4096

// maxEmptyReads is how many reads in a row may return nothing before the Reader gives up
// with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// Reader reads frames from an io.Reader through a buffer of its own, which it reuses: once
// the buffer has grown to the largest frame, reading allocates nothing. It reads ahead as
// much as one Read returns. A Reader is not safe for concurrent use.
type Reader struct {
	r     io.Reader
	buf   []byte // buf[start:end] has been read and not yet returned
	start int
	end   int
	max   uint32 // frame-max, 0 for none
	// readErr is an error Read returned together with bytes; it is returned once those
	// bytes are not enough.
	readErr error
	// broken is the sticky error after the stream lost its framing.
	broken error
}

// NewReader returns a Reader of frames from r. maxFrame is the frame-max, counted as the
// spec counts it: payload plus the 8 bytes of framing; 0 means no limit (frame-max 0 in
// connection.tune). A server passes [FrameMinSize] until connection.tune-ok and then calls
// [Reader.SetMaxFrame] with the negotiated value.
//
// Like RabbitMQ, which tolerates clients that are off by up to the framing's 8 bytes
// (rabbit_reader's FRAME_SIZE_FUDGE), a Reader refuses a frame only when its payload alone
// exceeds maxFrame. Whatever the limit, the buffer grows only as bytes arrive, so a size field
// claiming more than the peer sends costs no memory.
func NewReader(r io.Reader, maxFrame uint32) *Reader {
	return &Reader{r: r, max: maxFrame}
}

// SetMaxFrame sets the frame-max for the frames read from now on, as [NewReader] counts it.
func (r *Reader) SetMaxFrame(n uint32) { r.max = n }

// ReadFrame reads the next frame. Its Payload is valid until the next call.
//
// It returns an error wrapping [ErrFrame] for a payload over the frame-max (checked on the
// frame's first 7 bytes, before the payload is read) and for a frame-end octet other than
// [FrameEnd]: the stream has lost its framing, and every later call returns the same error.
// For a frame of unknown type, or a heartbeat with a payload, it consumes the whole frame and
// returns it with an error wrapping ErrFrame, and the next call reads on: RabbitMQ answers
// both kinds with 501, but stops reading only after the first.
//
// Errors from the underlying reader pass through: io.EOF at a frame boundary,
// io.ErrUnexpectedEOF within a frame. After any other error, such as a read deadline's
// timeout, the bytes read so far are kept and the next call resumes where this one stopped.
func (r *Reader) ReadFrame() (Frame, error) {
	if r.broken != nil {
		return Frame{}, r.broken
	}
	if err := r.fill(7); err != nil {
		return Frame{}, err
	}
	h := r.buf[r.start : r.start+7]
	f := Frame{Type: h[0], Channel: binary.BigEndian.Uint16(h[1:3])}
	size := binary.BigEndian.Uint32(h[3:7])
	if r.max != 0 && size > r.max {
		r.broken = &FrameSizeError{Type: f.Type, Size: size, Max: r.max}
		return Frame{}, r.broken
	}
	if uint64(size) > math.MaxInt-frameOverhead {
		r.broken = fmt.Errorf("%w: payload of %d bytes", ErrFrame, size)
		return Frame{}, r.broken
	}
	total := int(size) + frameOverhead
	if err := r.fill(total); err != nil {
		return Frame{}, err
	}
	raw := r.buf[r.start : r.start+total]
	if end := raw[total-1]; end != FrameEnd {
		r.broken = fmt.Errorf("%w: frame-end octet %#02x, want %#02x", ErrFrame, end, FrameEnd)
		return Frame{}, r.broken
	}
	r.start += total
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	f.Payload = raw[7 : total-1]
	switch f.Type {
	case FrameMethod, FrameHeader, FrameBody:
		return f, nil
	case FrameHeartbeat:
		if size != 0 {
			return f, fmt.Errorf("%w: heartbeat with a payload of %d bytes", ErrFrame, size)
		}
		return f, nil
	}
	return f, fmt.Errorf("%w: unknown frame type %d", ErrFrame, f.Type)
}

// fill reads until n bytes are buffered. The buffer grows only when it is full of bytes
// already read, at most doubling, so memory follows what the peer sent, not what it claimed.
func (r *Reader) fill(n int) error {
	empty := 0
	for r.end-r.start < n {
		if r.readErr != nil {
			err := r.readErr
			r.readErr = nil
			return r.eof(err)
		}
		if len(r.buf)-r.start < n && r.start > 0 {
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		}
		if r.end == len(r.buf) {
			r.grow(n)
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		if err != nil {
			r.readErr = err
			continue
		}
		if m == 0 {
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// grow enlarges the full buffer towards n bytes.
func (r *Reader) grow(n int) {
	size := min(max(2*len(r.buf), initialBuffer), max(n, initialBuffer))
	buf := make([]byte, size)
	r.end = copy(buf, r.buf[r.start:r.end])
	r.start = 0
	r.buf = buf
}

// eof turns io.EOF into io.ErrUnexpectedEOF when part of a frame has been read.
func (r *Reader) eof(err error) error {
	if errors.Is(err, io.EOF) && r.end > r.start {
		return io.ErrUnexpectedEOF
	}
	return err
}
