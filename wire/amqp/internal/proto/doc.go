// Package proto is the AMQP 0-9-1 wire codec of tribus's AMQP front door: frames, methods,
// content headers and field tables, as RabbitMQ reads and writes them. It decodes what
// clients send and encodes what servers send, and both directions of every method, so that
// tests round-trip and a test client can be built on it.
//
// # Basics
//
// A server reads the protocol header, then frames:
//
//	if err := proto.ReadProtocolHeader(conn); err != nil {
//		conn.Write(proto.ProtocolHeader[:]) // the version we speak, as RabbitMQ answers
//		return conn.Close()
//	}
//	r := proto.NewReader(conn, proto.FrameMinSize) // SetMaxFrame after tune-ok
//	for {
//		f, err := r.ReadFrame()
//		...
//		switch f.Type {
//		case proto.FrameMethod:
//			m, err := proto.DecodeMethod(f.Payload) // *proto.QueueDeclare, ...
//		case proto.FrameHeader:
//			class, size, err := proto.DecodeHeader(f.Payload, &pub)
//		case proto.FrameBody: // f.Payload is part of the body
//		}
//	}
//
// and writes by appending to a buffer it reuses:
//
//	out = proto.AppendMethod(out[:0], ch, &proto.BasicDeliver{...})
//	out = proto.AppendContent(out, ch, proto.ClassBasic, pub, pub.Body, frameMax)
//	conn.Write(out)
//
// There is one struct per method of the classes connection, channel, access, exchange,
// queue, basic, confirm and tx, named after it (queue.declare-ok is [QueueDeclareOk]), with
// the spec's arguments as fields, except the reserved ones, which are written as zero values
// and skipped when read. [Code] maps the decoders' errors to AMQP reply codes.
//
// # Guarantees
//
// Decoders never panic, whatever the input (the fuzz tests hold them to it), and allocate no
// more than the input justifies: a length prefix larger than the bytes after it is an error
// before anything is allocated, tables and arrays nest at most [MaxDepth] deep, and a Reader's
// buffer grows only with bytes actually received. What decodes encodes back to bytes that
// decode to the same value. Decoded methods and properties share no memory with the input.
//
// Encoders append to the caller's slice and allocate nothing else. They cannot fail; values
// the wire cannot carry — short strings over [MaxShortString] bytes, table values that are not
// AMQP field types, tables nested deeper than MaxDepth — are bugs of the caller, excluded by
// the engine's checks ([exchange.Table.Validate] and the short-string limits), and the
// encoders panic on them rather than cut a name short or write a frame the peer would misread.
// [ShortText] cuts free text such as a reply-text to fit.
//
// Field tables use RabbitMQ's type letters (see [AppendTable]), and every letter decodes to a
// Go type that encodes back to the same letter, so a table stored by the engine goes back to
// clients as RabbitMQ would send it.
//
// # Concurrency
//
// The package has no goroutines, locks or global state. A [Reader] is owned by one goroutine,
// the connection's reading loop, and is not safe for concurrent use; the Payload of the frame
// it returned is valid until that goroutine's next ReadFrame. Everything else is a function of
// its arguments, safe to call from any goroutine on values that are not being modified.
//
// # Time
//
// Nothing here reads a clock. Timestamps (the timestamp property and field type 'T') are whole
// seconds on the wire: encoding drops the fraction, decoding gives a time in UTC.
//
// # Caveats
//
//   - A property is present on the wire exactly when it is set in the [exchange.Publishing]:
//     a property present with an empty or zero value (content-type "", priority 0) decodes the
//     same as an absent one and is sent back absent. RabbitMQ keeps the difference.
//   - Table fields come out in Go's map order, not the order the client sent them, and a
//     field name sent twice keeps its last value; RabbitMQ keeps both in order.
//   - Only the 0-9-1 protocol header is accepted; RabbitMQ also takes 0-9's.
//   - basic.credit (RabbitMQ's internal extension, 60/200–202) is not decoded: it is
//     [ErrUnknownMethod], where RabbitMQ's channel refuses it with 503.
package proto
