package proto

import (
	"errors"
	"fmt"
)

var (
	// ErrProtocolHeader is returned by [ReadProtocolHeader] when the peer's first 8 bytes are
	// not [ProtocolHeader]. It has no reply code: a server answers by writing ProtocolHeader,
	// the version it speaks, and closing the connection. RabbitMQ does so for "AMQP" 0 0 9 x
	// (rabbit_reader's version_negotiation); to other headers it answers with AMQP 1.0's SASL
	// header, since it speaks 1.0 too.
	ErrProtocolHeader = errors.New("tribus/amqp: bad protocol header")

	// ErrFrame (501 FRAME_ERROR) is returned by [Reader.ReadFrame] for a frame whose payload
	// exceeds the frame-max, whose frame-end octet is not [FrameEnd], whose type is unknown,
	// or a heartbeat with a payload. The first two leave the stream out of step and are
	// sticky; after the others the next frame can be read (see [Reader.ReadFrame]).
	ErrFrame = errors.New("tribus/amqp: frame error")

	// ErrSyntax is returned by the decoders for bytes that do not decode: arguments shorter or
	// longer than the method's, a length prefix beyond the bytes that follow, an unknown field
	// type letter, tables nested deeper than [MaxDepth], a short string argument of a method
	// without content that is not UTF-8.
	//
	// Its reply code is 501 FRAME_ERROR, not 502 SYNTAX_ERROR. RabbitMQ answers arguments
	// that do not match their method with "FRAME_ERROR - cannot decode" (rabbit_framing's
	// decode_method_fields falls through to rabbit_misc:frame_error) and malformed UTF-8 with
	// "FRAME_ERROR - Malformed UTF-8 in shortstr"; the spec, too, keeps 501 for a frame "the
	// recipient could not decode" and 502 for well-formed fields with illegal values, which
	// this package does not judge. For a bad table RabbitMQ does worse: rabbit_binary_parser
	// fails a match, which is 541 INTERNAL_ERROR for a method on channel 0 of an open
	// connection and a dropped connection otherwise; 501 is what it means to say.
	ErrSyntax = errors.New("tribus/amqp: cannot decode")

	// ErrUnknownMethod is wrapped by the [*MethodError] [DecodeMethod] returns for a class or
	// method id this package does not know.
	//
	// RabbitMQ sends no reply at all: rabbit_framing_amqp_0_9_1:lookup_method_name exits with
	// {unknown_method_id, Id}, which rabbit_reader does not catch, so the connection process
	// dies and the socket is closed without a connection.close. A server that copies RabbitMQ
	// closes the socket; one that explains itself sends connection.close with [Code]'s 540
	// NOT_IMPLEMENTED, the spec's code for functionality the server lacks. (A method that is
	// known but that a server does not accept, such as basic.deliver sent by a client, is the
	// server's to refuse: RabbitMQ's rabbit_channel answers 503 COMMAND_INVALID "unimplemented
	// method".)
	ErrUnknownMethod = errors.New("tribus/amqp: unknown method")

	// ErrUnexpectedFrame (505 UNEXPECTED_FRAME) is returned by [DecodeHeader] for a content
	// header whose weight is not 0, which RabbitMQ's rabbit_command_assembler refuses as "got
	// non content header frame". A server returns it too for frames out of sequence.
	ErrUnexpectedFrame = errors.New("tribus/amqp: unexpected frame")
)

// FrameSizeError is the error [Reader.ReadFrame] returns for a frame whose payload is over
// the frame-max. It wraps [ErrFrame].
type FrameSizeError struct {
	Type      uint8  // the frame's type
	Size, Max uint32 // its payload size, and the frame-max it exceeds
}

func (e *FrameSizeError) Error() string {
	return fmt.Sprintf("%v: payload of %d bytes over frame-max %d", ErrFrame, e.Size, e.Max)
}

func (e *FrameSizeError) Unwrap() error { return ErrFrame }

// MethodError is the error [DecodeMethod] returns for a method frame it cannot decode. It
// names the method, which connection.close reports in its class-id and method-id, and wraps
// [ErrSyntax] or [ErrUnknownMethod].
type MethodError struct {
	ClassID, MethodID uint16
	Err               error // wraps ErrSyntax or ErrUnknownMethod
}

func (e *MethodError) Error() string {
	if name := MethodName(e.ClassID, e.MethodID); name != "" {
		return fmt.Sprintf("%v (%s)", e.Err, name)
	}
	return fmt.Sprintf("%v (class %d, method %d)", e.Err, e.ClassID, e.MethodID)
}

func (e *MethodError) Unwrap() error { return e.Err }

// Code returns the AMQP reply code for an error of this package: 501 for [ErrFrame] and
// [ErrSyntax], 505 for [ErrUnexpectedFrame], 540 for [ErrUnknownMethod]. It returns 0 for nil
// and for every other error, [ErrProtocolHeader] and I/O errors included: those get no
// connection.close.
func Code(err error) uint16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrFrame), errors.Is(err, ErrSyntax):
		return 501 // FRAME_ERROR
	case errors.Is(err, ErrUnexpectedFrame):
		return 505 // UNEXPECTED_FRAME
	case errors.Is(err, ErrUnknownMethod):
		return 540 // NOT_IMPLEMENTED
	}
	return 0
}

// syntaxError returns an error wrapping ErrSyntax.
func syntaxError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}
