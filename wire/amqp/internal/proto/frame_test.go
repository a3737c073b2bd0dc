package proto_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/chunked"

	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// script returns its steps in turn: bytes, or an error.
type script []any

func (s *script) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	step := (*s)[0]
	*s = (*s)[1:]
	if err, ok := step.(error); ok {
		return 0, err
	}
	b := step.([]byte)
	n := copy(p, b)
	if n < len(b) {
		*s = append(script{b[n:]}, *s...)
	}
	return n, nil
}

// cycle repeats data forever.
type cycle struct {
	data []byte
	off  int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}

func readAll(t *testing.T, r *proto.Reader) ([]proto.Frame, error) {
	t.Helper()
	var frames []proto.Frame
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return frames, err
		}
		f.Payload = append([]byte{}, f.Payload...)
		frames = append(frames, f)
	}
}

func someFrames() []byte {
	b := proto.AppendMethod(nil, 1, &proto.BasicPublish{RoutingKey: "k"})
	b = proto.AppendFrame(b, proto.FrameHeader, 1, []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0})
	b = proto.AppendFrame(b, proto.FrameBody, 1, []byte("hello"))
	b = proto.AppendFrame(b, proto.FrameHeartbeat, 0, nil)
	return proto.AppendFrame(b, proto.FrameBody, 2, make([]byte, 10000))
}

func TestAppendFrame_Heartbeat(t *testing.T) {
	require.Equal(t, []byte{8, 0, 0, 0, 0, 0, 0, 0xce}, proto.AppendFrame(nil, proto.FrameHeartbeat, 0, nil))
}

func TestReader_FramesWhateverTheReads(t *testing.T) {
	data := someFrames()
	whole, err := readAll(t, proto.NewReader(bytes.NewReader(data), 0))
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, whole, 5)
	require.Equal(t, proto.Frame{Type: proto.FrameBody, Channel: 1, Payload: []byte("hello")}, whole[2])
	require.Equal(t, proto.Frame{Type: proto.FrameHeartbeat, Payload: []byte{}}, whole[3])
	for _, n := range []int{1, 3, 7, 8, 100, 4096} {
		got, err := readAll(t, proto.NewReader(chunked.NewReader(data, n), 0))
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, whole, got, "reads of %d bytes", n)
	}
}

// A frame is refused when its payload exceeds frame-max; like RabbitMQ, the Reader lets
// the payload reach frame-max itself, 8 bytes over, before refusing.
// Reference: rabbitmq-server deps/rabbit/src/rabbit_reader.erl, FRAME_SIZE_FUDGE.
func TestReader_FrameMax(t *testing.T) {
	const max = proto.FrameMinSize
	ok := proto.AppendFrame(nil, proto.FrameBody, 1, make([]byte, max))
	_, err := proto.NewReader(bytes.NewReader(ok), max).ReadFrame()
	require.NoError(t, err)

	over := proto.AppendFrame(nil, proto.FrameBody, 1, make([]byte, max+1))
	r := proto.NewReader(bytes.NewReader(over[:7]), max) // the header alone decides
	_, err = r.ReadFrame()
	require.ErrorIs(t, err, proto.ErrFrame)
	require.EqualValues(t, 501, proto.Code(err))
	_, again := r.ReadFrame()
	require.Equal(t, err, again, "sticky")

	r = proto.NewReader(bytes.NewReader(over), 0)
	_, err = r.ReadFrame()
	require.NoError(t, err, "0 is no limit")

	r = proto.NewReader(bytes.NewReader(cat(ok, ok)), max)
	_, err = r.ReadFrame()
	require.NoError(t, err)
	r.SetMaxFrame(max - 1)
	_, err = r.ReadFrame()
	require.ErrorIs(t, err, proto.ErrFrame)
}

func TestReader_BadFrameEndIsSticky(t *testing.T) {
	data := proto.AppendFrame(nil, proto.FrameBody, 1, []byte("abc"))
	data[len(data)-1] = 0
	r := proto.NewReader(bytes.NewReader(cat(data, proto.AppendFrame(nil, proto.FrameHeartbeat, 0, nil))), 0)
	_, err := r.ReadFrame()
	require.ErrorIs(t, err, proto.ErrFrame)
	require.ErrorContains(t, err, "frame-end")
	_, err = r.ReadFrame()
	require.ErrorIs(t, err, proto.ErrFrame)
}

// An unknown type, or a heartbeat with a payload, is consumed whole: RabbitMQ answers 501
// and reads on (rabbit_reader's frame_error, not fatal_frame_error).
func TestReader_UnknownTypeReadsOn(t *testing.T) {
	next := proto.AppendFrame(nil, proto.FrameHeartbeat, 0, nil)
	for _, bad := range [][]byte{
		proto.AppendFrame(nil, 9, 3, []byte("xyz")),
		proto.AppendFrame(nil, 0, 3, nil),
		proto.AppendFrame(nil, proto.FrameHeartbeat, 0, []byte("x")),
	} {
		r := proto.NewReader(bytes.NewReader(cat(bad, next)), 0)
		f, err := r.ReadFrame()
		require.ErrorIs(t, err, proto.ErrFrame)
		require.Equal(t, bad[0], f.Type)
		require.Equal(t, bad[7:len(bad)-1], f.Payload)
		f, err = r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, uint8(proto.FrameHeartbeat), f.Type)
	}
}

func TestReader_EOF(t *testing.T) {
	data := proto.AppendFrame(nil, proto.FrameBody, 1, []byte("abc"))
	_, err := proto.NewReader(bytes.NewReader(nil), 0).ReadFrame()
	require.Equal(t, io.EOF, err, "at a frame boundary")
	for n := 1; n < len(data); n++ {
		_, err := proto.NewReader(bytes.NewReader(data[:n]), 0).ReadFrame()
		require.Equal(t, io.ErrUnexpectedEOF, err, "cut at %d", n)
	}
}

// After a read error, such as a deadline's timeout, the next call resumes where the last
// stopped: a server can wake up for heartbeats in the middle of a frame.
func TestReader_ResumesAfterTimeout(t *testing.T) {
	data := someFrames()
	s := script{data[:5], os.ErrDeadlineExceeded, data[5:30], os.ErrDeadlineExceeded, data[30:]}
	r := proto.NewReader(&s, 0)
	var frames []proto.Frame
	timeouts := 0
	for {
		f, err := r.ReadFrame()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			timeouts++
			continue
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		frames = append(frames, proto.Frame{Type: f.Type, Channel: f.Channel, Payload: append([]byte{}, f.Payload...)})
	}
	require.Equal(t, 2, timeouts)
	want, _ := readAll(t, proto.NewReader(bytes.NewReader(data), 0))
	require.Equal(t, want, frames)
}

func TestReader_NoProgress(t *testing.T) {
	_, err := proto.NewReader(readerFunc(func([]byte) (int, error) { return 0, nil }), 0).ReadFrame()
	require.ErrorIs(t, err, io.ErrNoProgress)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// A size field claiming a gigabyte costs memory only as bytes arrive.
func TestReader_ClaimedSizeCostsNothing(t *testing.T) {
	header := []byte{proto.FrameBody, 0, 1, 0x40, 0, 0, 0} // 1 GiB
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := proto.NewReader(bytes.NewReader(cat(header, make([]byte, 100))), 0).ReadFrame()
	runtime.ReadMemStats(&after)
	require.Equal(t, io.ErrUnexpectedEOF, err)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func TestReader_SteadyStateAllocatesNothing(t *testing.T) {
	r := proto.NewReader(&cycle{data: someFrames()}, 0)
	for range 10 {
		_, err := r.ReadFrame()
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadFrame(); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestReadProtocolHeader(t *testing.T) {
	r := bytes.NewReader(cat(proto.ProtocolHeader[:], []byte("next")))
	require.NoError(t, proto.ReadProtocolHeader(r))
	rest, _ := io.ReadAll(r)
	require.Equal(t, "next", string(rest), "reads exactly 8 bytes")

	for _, bad := range []string{"AMQP\x01\x01\x00\x09", "AMQP\x00\x00\x09\x00", "GET / HTTP/1.1\r\n", "AMQP\x03\x01\x00\x00"} {
		err := proto.ReadProtocolHeader(bytes.NewReader([]byte(bad)))
		require.ErrorIs(t, err, proto.ErrProtocolHeader, "%q", bad)
		require.Zero(t, proto.Code(err))
	}
	require.Equal(t, io.EOF, proto.ReadProtocolHeader(bytes.NewReader(nil)))
	require.Equal(t, io.ErrUnexpectedEOF, proto.ReadProtocolHeader(bytes.NewReader([]byte("AMQP"))))
}
