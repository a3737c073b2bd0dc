package proto_test

import (
	"testing"
	"time"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// benchPublishing is a typical message: a few properties, two headers, a 1 KiB body.
func benchPublishing() *exchange.Publishing {
	return &exchange.Publishing{
		ContentType: "application/json", DeliveryMode: exchange.Persistent,
		MessageID: "4f1c2a", Timestamp: time.Unix(1_700_000_000, 0),
		Headers: exchange.Table{"trace-id": "abc123", "attempt": int32(1)},
		Body:    make([]byte, 1024),
	}
}

// BenchmarkReader_ReadFrame reads publishes (method, header and body frames) from memory.
func BenchmarkReader_ReadFrame(b *testing.B) {
	p := benchPublishing()
	data := proto.AppendMethod(nil, 1, &proto.BasicPublish{Exchange: "logs", RoutingKey: "app.info"})
	data = proto.AppendContent(data, 1, proto.ClassBasic, p, p.Body, 131072)
	r := proto.NewReader(&cycle{data: data}, 131072)
	b.SetBytes(int64(len(data)) / 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMethod_BasicPublish(b *testing.B) {
	payload := firstPayload(proto.AppendMethod(nil, 1, &proto.BasicPublish{Exchange: "logs", RoutingKey: "app.info"}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.DecodeMethod(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHeader(b *testing.B) {
	p := benchPublishing()
	payload := firstPayload(proto.AppendContent(nil, 1, proto.ClassBasic, p, p.Body, 0))
	var out exchange.Publishing
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := proto.DecodeHeader(payload, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendContent encodes a delivery as a server sends it: basic.deliver, header, body.
func BenchmarkAppendContent(b *testing.B) {
	p := benchPublishing()
	deliver := &proto.BasicDeliver{ConsumerTag: "amq.ctag-1", DeliveryTag: 1, Exchange: "logs", RoutingKey: "app.info"}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(p.Body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = proto.AppendMethod(buf[:0], 1, deliver)
		buf = proto.AppendContent(buf, 1, proto.ClassBasic, p, p.Body, 131072)
	}
}
