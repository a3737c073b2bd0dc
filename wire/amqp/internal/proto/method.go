package proto

import "encoding/binary"

// Method is one AMQP 0-9-1 method: a pointer to one of this package's method structs, such
// as *QueueDeclare. The set is closed; the unexported methods encode and decode the arguments.
type Method interface {
	// ClassID and MethodID are the method's ids, as RabbitMQ's codegen spec numbers them.
	ClassID() uint16
	MethodID() uint16
	// HasContent says whether a content header and body frames follow the method frame.
	HasContent() bool

	// name is the method's spec name, "queue.declare".
	name() string
	// appendArgs appends the method's arguments, reserved ones as zero values.
	appendArgs(b []byte) []byte
	// decode sets the method's fields from args, the payload after the two ids, and
	// returns an error wrapping ErrSyntax if args are not exactly its arguments.
	decode(args []byte) error
}

// AppendMethod appends m as a whole method frame on channel. It allocates nothing beyond
// b's growth, and panics on arguments the wire cannot carry (see [AppendTable] and
// [MaxShortString]), which the engine's checks exclude.
func AppendMethod(b []byte, channel uint16, m Method) []byte {
	b, start := startFrame(b, FrameMethod, channel)
	b = binary.BigEndian.AppendUint16(b, m.ClassID())
	b = binary.BigEndian.AppendUint16(b, m.MethodID())
	b = m.appendArgs(b)
	return endFrame(b, start)
}

// DecodeMethod decodes the payload of a method frame and returns a pointer to the method's
// struct, such as *QueueDeclare. The method shares no memory with payload. It allocates the
// struct, its strings and its tables, nothing else.
//
// A payload too short for the two ids returns an error wrapping [ErrSyntax]; any other
// failure is a [*MethodError] naming the method and wrapping ErrSyntax (arguments that do not
// decode) or [ErrUnknownMethod].
func DecodeMethod(payload []byte) (Method, error) {
	if len(payload) < 4 {
		return nil, syntaxError("method frame of %d bytes", len(payload))
	}
	classID := binary.BigEndian.Uint16(payload)
	methodID := binary.BigEndian.Uint16(payload[2:])
	m := newMethod(classID, methodID)
	if m == nil {
		return nil, &MethodError{ClassID: classID, MethodID: methodID, Err: ErrUnknownMethod}
	}
	if err := m.decode(payload[4:]); err != nil {
		return nil, &MethodError{ClassID: classID, MethodID: methodID, Err: err}
	}
	return m, nil
}

// MethodName returns the spec name of a method, "queue.declare", or "" for ids this package
// does not know.
func MethodName(classID, methodID uint16) string {
	if m := newMethod(classID, methodID); m != nil {
		return m.name()
	}
	return ""
}

// newMethod returns a new zero method struct for the ids, or nil.
func newMethod(classID, methodID uint16) Method {
	switch classID {
	case ClassConnection:
		return newConnectionMethod(methodID)
	case ClassChannel:
		return newChannelMethod(methodID)
	case ClassAccess:
		return newAccessMethod(methodID)
	case ClassExchange:
		return newExchangeMethod(methodID)
	case ClassQueue:
		return newQueueMethod(methodID)
	case ClassBasic:
		return newBasicMethod(methodID)
	case ClassConfirm:
		return newConfirmMethod(methodID)
	case ClassTx:
		return newTxMethod(methodID)
	}
	return nil
}

// noArgs is embedded by the methods without arguments.
type noArgs struct{}

func (noArgs) appendArgs(b []byte) []byte { return b }

func (noArgs) decode(args []byte) error {
	d := decoder{b: args}
	return d.end()
}
