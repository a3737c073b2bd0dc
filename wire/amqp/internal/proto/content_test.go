package proto_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// properties are the 14 basic properties in flag order, from bit 15 down, each with a
// Publishing that has only it set.
// Reference: rabbitmq-codegen amqp-rabbitmq-0.9.1.json, class basic, "properties".
var properties = []struct {
	name string
	flag uint16
	pub  exchange.Publishing
}{
	{"content-type", 1 << 15, exchange.Publishing{ContentType: "application/json"}},
	{"content-encoding", 1 << 14, exchange.Publishing{ContentEncoding: "gzip"}},
	{"headers", 1 << 13, exchange.Publishing{Headers: exchange.Table{"h": "v", "n": int32(1)}}},
	{"delivery-mode", 1 << 12, exchange.Publishing{DeliveryMode: exchange.Persistent}},
	{"priority", 1 << 11, exchange.Publishing{Priority: 9}},
	{"correlation-id", 1 << 10, exchange.Publishing{CorrelationID: "corr"}},
	{"reply-to", 1 << 9, exchange.Publishing{ReplyTo: "amq.rabbitmq.reply-to"}},
	{"expiration", 1 << 8, exchange.Publishing{Expiration: "60000"}},
	{"message-id", 1 << 7, exchange.Publishing{MessageID: "id-1"}},
	{"timestamp", 1 << 6, exchange.Publishing{Timestamp: time.Unix(1_700_000_000, 0).UTC()}},
	{"type", 1 << 5, exchange.Publishing{Type: "order.created"}},
	{"user-id", 1 << 4, exchange.Publishing{UserID: "guest"}},
	{"app-id", 1 << 3, exchange.Publishing{AppID: "app"}},
	{"cluster-id", 1 << 2, exchange.Publishing{ClusterID: "cluster"}},
}

// headerPayload returns the payload of the header frame AppendContent writes for p.
func headerPayload(t testing.TB, p *exchange.Publishing, bodySize int) []byte {
	t.Helper()
	b := proto.AppendContent(nil, 1, proto.ClassBasic, p, make([]byte, bodySize), 0)
	r := proto.NewReader(bytes.NewReader(b), 0)
	f, err := r.ReadFrame()
	require.NoError(t, err)
	require.Equal(t, uint8(proto.FrameHeader), f.Type)
	return f.Payload
}

func TestContent_EachPropertyFlag(t *testing.T) {
	for _, c := range properties {
		t.Run(c.name, func(t *testing.T) {
			payload := headerPayload(t, &c.pub, 3)
			require.Equal(t, []byte{0, 60, 0, 0}, payload[:4], "class basic, weight 0")
			require.Equal(t, uint64(3), binary.BigEndian.Uint64(payload[4:12]))
			require.Equal(t, c.flag, binary.BigEndian.Uint16(payload[12:14]))

			var got exchange.Publishing
			class, size, err := proto.DecodeHeader(payload, &got)
			require.NoError(t, err)
			require.EqualValues(t, proto.ClassBasic, class)
			require.EqualValues(t, 3, size)
			require.True(t, samePublishing(&c.pub, &got), "%+v", got)
		})
	}
}

func allProperties() exchange.Publishing {
	var p exchange.Publishing
	for _, c := range properties {
		q := c.pub
		switch {
		case q.ContentType != "":
			p.ContentType = q.ContentType
		case q.ContentEncoding != "":
			p.ContentEncoding = q.ContentEncoding
		case q.Headers != nil:
			p.Headers = q.Headers
		case q.DeliveryMode != 0:
			p.DeliveryMode = q.DeliveryMode
		case q.Priority != 0:
			p.Priority = q.Priority
		case q.CorrelationID != "":
			p.CorrelationID = q.CorrelationID
		case q.ReplyTo != "":
			p.ReplyTo = q.ReplyTo
		case q.Expiration != "":
			p.Expiration = q.Expiration
		case q.MessageID != "":
			p.MessageID = q.MessageID
		case !q.Timestamp.IsZero():
			p.Timestamp = q.Timestamp
		case q.Type != "":
			p.Type = q.Type
		case q.UserID != "":
			p.UserID = q.UserID
		case q.AppID != "":
			p.AppID = q.AppID
		case q.ClusterID != "":
			p.ClusterID = q.ClusterID
		}
	}
	return p
}

func TestContent_AllFourteenProperties(t *testing.T) {
	p := allProperties()
	payload := headerPayload(t, &p, 0)
	require.Equal(t, uint16(0xfffc), binary.BigEndian.Uint16(payload[12:14]))
	got := exchange.Publishing{Body: []byte("kept")}
	_, _, err := proto.DecodeHeader(payload, &got)
	require.NoError(t, err)
	require.True(t, samePublishing(&p, &got))
	require.Equal(t, []byte("kept"), got.Body, "Body is not a property")

	// Decoding a header without properties into the same Publishing clears them all.
	_, _, err = proto.DecodeHeader(headerPayload(t, nil, 0), &got)
	require.NoError(t, err)
	require.Equal(t, exchange.Publishing{Body: []byte("kept")}, got)

	for n := range len(payload) {
		_, _, err := proto.DecodeHeader(payload[:n], &got)
		require.ErrorIs(t, err, proto.ErrSyntax, "cut at %d of %d", n, len(payload))
	}
}

func TestContent_EmptyHeadersArePresent(t *testing.T) {
	payload := headerPayload(t, &exchange.Publishing{Headers: exchange.Table{}}, 0)
	require.Equal(t, uint16(1<<13), binary.BigEndian.Uint16(payload[12:14]))
	var got exchange.Publishing
	_, _, err := proto.DecodeHeader(payload, &got)
	require.NoError(t, err)
	require.NotNil(t, got.Headers)
}

// The body is split so that no frame, framing included, exceeds frame-max.
func TestContent_SplitAtFrameMax(t *testing.T) {
	const frameMax = 100
	const chunk = frameMax - 8
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 2*chunk + 1, 10 * chunk} {
		body := []byte(strings.Repeat("0123456789", 100))[:size]
		wire := proto.AppendContent(nil, 3, proto.ClassBasic, &exchange.Publishing{}, body, frameMax)
		frames, _ := readAll(t, proto.NewReader(bytes.NewReader(wire), frameMax))
		require.Equal(t, uint8(proto.FrameHeader), frames[0].Type)
		var got []byte
		for i, f := range frames[1:] {
			require.Equal(t, uint8(proto.FrameBody), f.Type)
			require.Equal(t, uint16(3), f.Channel)
			require.LessOrEqual(t, len(f.Payload)+8, frameMax)
			if i < len(frames)-2 {
				require.Len(t, f.Payload, chunk, "every frame but the last is full")
			}
			got = append(got, f.Payload...)
		}
		require.Equal(t, (size+chunk-1)/chunk, len(frames)-1, "body of %d bytes", size)
		require.True(t, bytes.Equal(body, got), "body of %d bytes", size)
	}
	body := make([]byte, 1<<20)
	frames, _ := readAll(t, proto.NewReader(bytes.NewReader(proto.AppendContent(nil, 1, proto.ClassBasic, nil, body, 0)), 0))
	require.Len(t, frames, 2, "frame-max 0: one body frame")
	require.Len(t, frames[1].Payload, len(body))
}

// A header frame that amqp091-go's read_test.go (TestParseHeaderFrameConsumesPaddingBytes)
// records from the wild, with bytes after its properties, which amqp091-go skips and so does
// DecodeHeader. (Its comment reads body size 10 and flags 0x5400; the bytes hold body size
// 0xa54, no properties and 4 bytes of padding.)
func TestContent_PaddingAfterProperties(t *testing.T) {
	frame := []byte("\x02\x00\x01\x00\x00\x00\x12\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x54\x00\x00\x00\x00\x00\x00\xce")
	f, err := proto.NewReader(bytes.NewReader(frame), 0).ReadFrame()
	require.NoError(t, err)
	var p exchange.Publishing
	class, size, err := proto.DecodeHeader(f.Payload, &p)
	require.NoError(t, err)
	require.EqualValues(t, 60, class)
	require.EqualValues(t, 0xa54, size)
	require.Equal(t, exchange.Publishing{}, p)
}

// RabbitMQ reads the 14 flags and ignores the last two bits (rabbit_framing_amqp_0_9_1's
// decode_properties: "P13:1, _:2"), so it never reads a continuation word.
func TestContent_LowFlagBitsIgnored(t *testing.T) {
	payload := headerPayload(t, &exchange.Publishing{AppID: "a"}, 0)
	payload[13] |= 3
	var p exchange.Publishing
	_, _, err := proto.DecodeHeader(payload, &p)
	require.NoError(t, err)
	require.Equal(t, exchange.Publishing{AppID: "a"}, p)
}

// A weight other than 0 is refused as RabbitMQ's rabbit_command_assembler refuses it.
func TestContent_WeightIsUnexpectedFrame(t *testing.T) {
	payload := headerPayload(t, nil, 0)
	payload[3] = 1
	_, _, err := proto.DecodeHeader(payload, &exchange.Publishing{})
	require.ErrorIs(t, err, proto.ErrUnexpectedFrame)
	require.EqualValues(t, 505, proto.Code(err))
}

func TestContent_PropertiesAreNotUTF8Checked(t *testing.T) {
	p := exchange.Publishing{ContentType: "\xff"}
	var got exchange.Publishing
	_, _, err := proto.DecodeHeader(headerPayload(t, &p, 0), &got)
	require.NoError(t, err)
	require.Equal(t, p, got)
}

func TestContent_AppendAllocatesNothing(t *testing.T) {
	p := allProperties()
	body := make([]byte, 10000)
	buf := make([]byte, 0, 64<<10)
	allocs := testing.AllocsPerRun(100, func() {
		buf = proto.AppendContent(buf[:0], 1, proto.ClassBasic, &p, body, proto.FrameMinSize)
	})
	require.Zero(t, allocs)
}

func TestContent_AppendPanicsOnLongProperty(t *testing.T) {
	p := exchange.Publishing{MessageID: strings.Repeat("x", 256)}
	require.Panics(t, func() { proto.AppendContent(nil, 1, proto.ClassBasic, &p, nil, 0) })
}

func TestContent_TinyFrameMax(t *testing.T) {
	wire := proto.AppendContent(nil, 1, proto.ClassBasic, nil, []byte("abc"), 3)
	frames, _ := readAll(t, proto.NewReader(bytesReader(wire), 0))
	require.Len(t, frames, 4, "a header and one byte per body frame")
}
