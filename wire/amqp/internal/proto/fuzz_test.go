package proto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/chunked"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// The fuzz tests hold the decoders to the package's guarantees: no panic on any input, errors
// of the documented kinds, and whatever decodes encodes back to bytes that decode to the same
// value. Seeds are in testdata/fuzz and below.

func frameSeeds() [][]byte {
	bad := proto.AppendFrame(nil, proto.FrameBody, 1, []byte("x"))
	bad[len(bad)-1] = 0
	return [][]byte{
		someFrames(),
		proto.AppendFrame(nil, proto.FrameHeartbeat, 0, nil),
		proto.AppendFrame(nil, 9, 1, []byte("?")),
		cat(proto.AppendFrame(nil, proto.FrameHeartbeat, 0, []byte("x")), proto.AppendFrame(nil, 1, 0, nil)),
		bad,
		{proto.FrameBody, 0, 1, 0xff, 0xff, 0xff, 0xff},
	}
}

func FuzzReadFrame(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add(s, uint16(0), uint8(7))
		f.Add(s, uint16(100), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxFrame uint16, chunk uint8) {
		whole, wholeErr, again := readFrames(t, bytes.NewReader(data), uint32(maxFrame))
		split, splitErr, _ := readFrames(t, chunked.NewReader(data, int(chunk)+1), uint32(maxFrame))
		require.Equal(t, whole, split, "frames do not depend on how reads split the input")
		require.Equal(t, wholeErr, splitErr)
		require.True(t, bytes.HasPrefix(data, again), "each frame encodes back to its bytes")
	})
}

// readFrames reads until an error that ends the stream, and returns the frames, the final
// error's text and the frames encoded again.
func readFrames(t *testing.T, src io.Reader, maxFrame uint32) ([]proto.Frame, string, []byte) {
	r := proto.NewReader(src, maxFrame)
	var frames []proto.Frame
	var again []byte
	for {
		f, err := r.ReadFrame()
		if err != nil && (f.Payload == nil || !errors.Is(err, proto.ErrFrame)) {
			if !errors.Is(err, proto.ErrFrame) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error %v", err)
			}
			return frames, err.Error(), again
		}
		if maxFrame != 0 {
			require.LessOrEqual(t, len(f.Payload), int(maxFrame))
		}
		again = proto.AppendFrame(again, f.Type, f.Channel, f.Payload)
		f.Payload = append([]byte{}, f.Payload...)
		frames = append(frames, f)
	}
}

func methodSeeds() [][]byte {
	var seeds [][]byte
	for _, s := range specs {
		seeds = append(seeds, firstPayload(proto.AppendMethod(nil, 1, s.m)))
	}
	return append(seeds, []byte{0, 60}, []byte{0, 60, 3, 0xe7}, []byte{0, 50, 0, 10, 0, 0, 1, 0xff, 0, 0, 0, 0, 0})
}

func FuzzDecodeMethod(f *testing.F) {
	for _, s := range methodSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := proto.DecodeMethod(payload)
		if err != nil {
			require.True(t, errors.Is(err, proto.ErrSyntax) || errors.Is(err, proto.ErrUnknownMethod), "%v", err)
			require.NotZero(t, proto.Code(err))
			return
		}
		require.Equal(t, binary.BigEndian.Uint16(payload), m.ClassID())
		require.Equal(t, binary.BigEndian.Uint16(payload[2:]), m.MethodID())
		m2, err := proto.DecodeMethod(payloadOf(t, proto.AppendMethod(nil, 1, m)))
		require.NoError(t, err)
		require.True(t, sameMethod(m, m2), "%#v\n%#v", m, m2)
	})
}

func tableSeeds() [][]byte {
	seeds := [][]byte{proto.AppendTable(nil, nil), {0xff, 0xff, 0xff, 0xff}}
	for _, c := range letters {
		seeds = append(seeds, oneField(c.bytes...))
	}
	in := exchange.Table{}
	for i, c := range letters {
		in[string(rune('a'+i))] = c.value
	}
	return append(seeds, proto.AppendTable(nil, in), proto.AppendTable(nil, exchange.Table{"a": nest(proto.MaxDepth, false)}))
}

func FuzzDecodeTable(f *testing.F) {
	for _, s := range tableSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, n, err := proto.DecodeTable(b)
		if err != nil {
			require.ErrorIs(t, err, proto.ErrSyntax)
			return
		}
		require.LessOrEqual(t, n, len(b))
		require.NoError(t, tab.Validate(), "the engine accepts what decodes")
		enc := proto.AppendTable(nil, tab)
		tab2, n2, err := proto.DecodeTable(enc)
		require.NoError(t, err)
		require.Equal(t, len(enc), n2)
		require.True(t, sameTable(tab, tab2), "%#v\n%#v", tab, tab2)
	})
}

func headerSeeds() [][]byte {
	p := allProperties()
	seeds := [][]byte{firstPayload(proto.AppendContent(nil, 1, proto.ClassBasic, &p, []byte("hello"), 0)),
		firstPayload(proto.AppendContent(nil, 1, proto.ClassBasic, nil, nil, 0))}
	for _, c := range properties {
		seeds = append(seeds, firstPayload(proto.AppendContent(nil, 1, proto.ClassBasic, &c.pub, []byte("x"), 0)))
	}
	return seeds
}

func FuzzDecodeHeader(f *testing.F) {
	for _, s := range headerSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var p exchange.Publishing
		class, size, err := proto.DecodeHeader(payload, &p)
		if err != nil {
			require.True(t, errors.Is(err, proto.ErrSyntax) || errors.Is(err, proto.ErrUnexpectedFrame), "%v", err)
			return
		}
		require.NoError(t, p.Headers.Validate())
		enc := proto.AppendContent(nil, 1, class, &p, nil, 0)
		enc = enc[7 : len(enc)-1]
		binary.BigEndian.PutUint64(enc[4:], size) // the body size, without a body that long
		var p2 exchange.Publishing
		class2, size2, err := proto.DecodeHeader(enc, &p2)
		require.NoError(t, err)
		require.Equal(t, class, class2)
		require.Equal(t, size, size2)
		require.True(t, samePublishing(&p, &p2), "%#v\n%#v", p, p2)
	})
}

// firstPayload returns the payload of the first frame in b, which an Append wrote.
func firstPayload(b []byte) []byte { return b[7 : 7+binary.BigEndian.Uint32(b[3:7])] }
