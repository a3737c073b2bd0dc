package proto

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Frame types, the frame-end octet and the smallest frame-max (spec section 4.2.3).
const (
	FrameMethod    = 1
	FrameHeader    = 2
	FrameBody      = 3
	FrameHeartbeat = 8

	// FrameEnd is the octet that ends every frame.
	FrameEnd = 0xCE

	// FrameMinSize is frame-min-size: the frame-max every peer accepts, the limit until
	// connection.tune-ok says otherwise, and the smallest frame-max a peer may ask for.
	FrameMinSize = 4096

	// frameOverhead is what a frame adds to its payload: type, channel, size and frame-end.
	frameOverhead = 8
)

// Class ids (RabbitMQ's amqp-rabbitmq-0.9.1.json). Access is gone from the 0-9-1 spec, but
// RabbitMQ still answers access.request.
const (
	ClassConnection = 10
	ClassChannel    = 20
	ClassAccess     = 30
	ClassExchange   = 40
	ClassQueue      = 50
	ClassBasic      = 60
	ClassConfirm    = 85
	ClassTx         = 90
)

// ProtocolHeader is what an AMQP 0-9-1 client sends first, and what a server answers to a
// header it does not speak before closing.
var ProtocolHeader = [8]byte{'A', 'M', 'Q', 'P', 0, 0, 9, 1}

// ReadProtocolHeader reads the 8 bytes of the protocol header from r, exactly 8 and no more,
// so that r can be handed to [NewReader] afterwards. It returns an error wrapping
// [ErrProtocolHeader] when they are not [ProtocolHeader]; I/O errors pass through, io.EOF when
// r ended before the first byte and io.ErrUnexpectedEOF within the header.
//
// RabbitMQ also accepts AMQP 0-9's header (AMQP 1 1 0 9) as 0-9-1; this package does not.
func ReadProtocolHeader(r io.Reader) error {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return err
	}
	if h != ProtocolHeader {
		return fmt.Errorf("%w: %q", ErrProtocolHeader, h[:])
	}
	return nil
}

// Frame is one frame as [Reader.ReadFrame] returns it. Payload points into the Reader's
// buffer: it is valid until the next ReadFrame, and a caller that keeps it copies it.
type Frame struct {
	Type    uint8
	Channel uint16
	Payload []byte
}

// AppendFrame appends a frame of the given type and channel carrying payload, a heartbeat
// being AppendFrame(b, FrameHeartbeat, 0, nil). It checks nothing against a frame-max.
func AppendFrame(b []byte, typ uint8, channel uint16, payload []byte) []byte {
	b = append(b, typ, byte(channel>>8), byte(channel))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(append(b, payload...), FrameEnd)
}

// startFrame appends a frame header whose size endFrame fills in, and returns where it
// starts.
func startFrame(b []byte, typ uint8, channel uint16) ([]byte, int) {
	return append(b, typ, byte(channel>>8), byte(channel), 0, 0, 0, 0), len(b)
}

// endFrame writes the size of the frame started at start and appends the frame-end octet.
func endFrame(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start+3:], uint32(len(b)-start-7))
	return append(b, FrameEnd)
}
