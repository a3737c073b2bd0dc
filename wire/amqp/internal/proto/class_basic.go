package proto

import "github.com/tribusmq/tribus/exchange"

// The basic class (60): consumers, publishing, delivery and settlement. basic.publish,
// basic.return, basic.deliver and basic.get-ok carry content; their short strings are not
// checked for UTF-8, as RabbitMQ skips the check on content-bearing methods.

func newBasicMethod(id uint16) Method {
	switch id {
	case 10:
		return &BasicQos{}
	case 11:
		return &BasicQosOk{}
	case 20:
		return &BasicConsume{}
	case 21:
		return &BasicConsumeOk{}
	case 30:
		return &BasicCancel{}
	case 31:
		return &BasicCancelOk{}
	case 40:
		return &BasicPublish{}
	case 50:
		return &BasicReturn{}
	case 60:
		return &BasicDeliver{}
	case 70:
		return &BasicGet{}
	case 71:
		return &BasicGetOk{}
	case 72:
		return &BasicGetEmpty{}
	case 80:
		return &BasicAck{}
	case 90:
		return &BasicReject{}
	case 100:
		return &BasicRecoverAsync{}
	case 110:
		return &BasicRecover{}
	case 111:
		return &BasicRecoverOk{}
	case 120:
		return &BasicNack{}
	}
	return nil
}

// BasicQos is basic.qos (60/10): the prefetch window, per consumer or, with Global, per
// channel in RabbitMQ's reading.
type BasicQos struct {
	PrefetchSize  uint32 // bytes; RabbitMQ refuses any but 0
	PrefetchCount uint16
	Global        bool
}

func (*BasicQos) ClassID() uint16  { return ClassBasic }
func (*BasicQos) MethodID() uint16 { return 10 }
func (*BasicQos) HasContent() bool { return false }
func (*BasicQos) name() string     { return "basic.qos" }

func (m *BasicQos) appendArgs(b []byte) []byte {
	return append(appendUint16(appendUint32(b, m.PrefetchSize), m.PrefetchCount), bit(m.Global, 0))
}

func (m *BasicQos) decode(args []byte) error {
	d := decoder{b: args}
	m.PrefetchSize = d.u32()
	m.PrefetchCount = d.u16()
	m.Global = d.u8()&1 != 0
	return d.end()
}

// BasicQosOk is basic.qos-ok (60/11).
type BasicQosOk struct{ noArgs }

func (*BasicQosOk) ClassID() uint16  { return ClassBasic }
func (*BasicQosOk) MethodID() uint16 { return 11 }
func (*BasicQosOk) HasContent() bool { return false }
func (*BasicQosOk) name() string     { return "basic.qos-ok" }

// BasicConsume is basic.consume (60/20). An empty ConsumerTag asks the server for one.
type BasicConsume struct {
	Queue, ConsumerTag                string
	NoLocal, NoAck, Exclusive, NoWait bool
	Arguments                         exchange.Table
}

func (*BasicConsume) ClassID() uint16  { return ClassBasic }
func (*BasicConsume) MethodID() uint16 { return 20 }
func (*BasicConsume) HasContent() bool { return false }
func (*BasicConsume) name() string     { return "basic.consume" }

func (m *BasicConsume) appendArgs(b []byte) []byte {
	b = appendUint16(b, 0) // reserved-1 (ticket)
	b = appendShortstr(b, m.Queue)
	b = appendShortstr(b, m.ConsumerTag)
	b = append(b, bit(m.NoLocal, 0)|bit(m.NoAck, 1)|bit(m.Exclusive, 2)|bit(m.NoWait, 3))
	return AppendTable(b, m.Arguments)
}

func (m *BasicConsume) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	m.ConsumerTag = d.shortstr()
	f := d.u8()
	m.NoLocal, m.NoAck, m.Exclusive, m.NoWait = f&1 != 0, f&2 != 0, f&4 != 0, f&8 != 0
	m.Arguments = d.table(0)
	return d.end()
}

// BasicConsumeOk is basic.consume-ok (60/21).
type BasicConsumeOk struct {
	ConsumerTag string
}

func (*BasicConsumeOk) ClassID() uint16              { return ClassBasic }
func (*BasicConsumeOk) MethodID() uint16             { return 21 }
func (*BasicConsumeOk) HasContent() bool             { return false }
func (*BasicConsumeOk) name() string                 { return "basic.consume-ok" }
func (m *BasicConsumeOk) appendArgs(b []byte) []byte { return appendShortstr(b, m.ConsumerTag) }

func (m *BasicConsumeOk) decode(args []byte) error {
	var err error
	m.ConsumerTag, err = decodeTag(args)
	return err
}

// BasicCancel is basic.cancel (60/30), sent by a client, or by a server that cancels a
// consumer when the client announced the consumer_cancel_notify capability.
type BasicCancel struct {
	ConsumerTag string
	NoWait      bool
}

func (*BasicCancel) ClassID() uint16  { return ClassBasic }
func (*BasicCancel) MethodID() uint16 { return 30 }
func (*BasicCancel) HasContent() bool { return false }
func (*BasicCancel) name() string     { return "basic.cancel" }

func (m *BasicCancel) appendArgs(b []byte) []byte {
	return append(appendShortstr(b, m.ConsumerTag), bit(m.NoWait, 0))
}

func (m *BasicCancel) decode(args []byte) error {
	d := decoder{b: args}
	m.ConsumerTag = d.shortstr()
	m.NoWait = d.u8()&1 != 0
	return d.end()
}

// BasicCancelOk is basic.cancel-ok (60/31).
type BasicCancelOk struct {
	ConsumerTag string
}

func (*BasicCancelOk) ClassID() uint16              { return ClassBasic }
func (*BasicCancelOk) MethodID() uint16             { return 31 }
func (*BasicCancelOk) HasContent() bool             { return false }
func (*BasicCancelOk) name() string                 { return "basic.cancel-ok" }
func (m *BasicCancelOk) appendArgs(b []byte) []byte { return appendShortstr(b, m.ConsumerTag) }

func (m *BasicCancelOk) decode(args []byte) error {
	var err error
	m.ConsumerTag, err = decodeTag(args)
	return err
}

// decodeTag decodes arguments that are one short string.
func decodeTag(args []byte) (string, error) {
	d := decoder{b: args}
	s := d.shortstr()
	return s, d.end()
}

// BasicPublish is basic.publish (60/40); content follows.
type BasicPublish struct {
	Exchange, RoutingKey string
	Mandatory, Immediate bool
}

func (*BasicPublish) ClassID() uint16  { return ClassBasic }
func (*BasicPublish) MethodID() uint16 { return 40 }
func (*BasicPublish) HasContent() bool { return true }
func (*BasicPublish) name() string     { return "basic.publish" }

func (m *BasicPublish) appendArgs(b []byte) []byte {
	b = appendUint16(b, 0) // reserved-1 (ticket)
	b = appendShortstr(b, m.Exchange)
	b = appendShortstr(b, m.RoutingKey)
	return append(b, bit(m.Mandatory, 0)|bit(m.Immediate, 1))
}

func (m *BasicPublish) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Exchange = d.anyShortstr()
	m.RoutingKey = d.anyShortstr()
	f := d.u8()
	m.Mandatory, m.Immediate = f&1 != 0, f&2 != 0
	return d.end()
}

// BasicReturn is basic.return (60/50): an unroutable mandatory message coming back; content
// follows.
type BasicReturn struct {
	ReplyCode                       uint16
	ReplyText, Exchange, RoutingKey string
}

func (*BasicReturn) ClassID() uint16  { return ClassBasic }
func (*BasicReturn) MethodID() uint16 { return 50 }
func (*BasicReturn) HasContent() bool { return true }
func (*BasicReturn) name() string     { return "basic.return" }

func (m *BasicReturn) appendArgs(b []byte) []byte {
	b = appendShortstr(appendUint16(b, m.ReplyCode), m.ReplyText)
	return appendShortstr(appendShortstr(b, m.Exchange), m.RoutingKey)
}

func (m *BasicReturn) decode(args []byte) error {
	d := decoder{b: args}
	m.ReplyCode = d.u16()
	m.ReplyText = d.anyShortstr()
	m.Exchange = d.anyShortstr()
	m.RoutingKey = d.anyShortstr()
	return d.end()
}

// BasicDeliver is basic.deliver (60/60): a message pushed to a consumer; content follows.
type BasicDeliver struct {
	ConsumerTag          string
	DeliveryTag          uint64
	Redelivered          bool
	Exchange, RoutingKey string
}

func (*BasicDeliver) ClassID() uint16  { return ClassBasic }
func (*BasicDeliver) MethodID() uint16 { return 60 }
func (*BasicDeliver) HasContent() bool { return true }
func (*BasicDeliver) name() string     { return "basic.deliver" }

func (m *BasicDeliver) appendArgs(b []byte) []byte {
	b = appendUint64(appendShortstr(b, m.ConsumerTag), m.DeliveryTag)
	b = append(b, bit(m.Redelivered, 0))
	return appendShortstr(appendShortstr(b, m.Exchange), m.RoutingKey)
}

func (m *BasicDeliver) decode(args []byte) error {
	d := decoder{b: args}
	m.ConsumerTag = d.anyShortstr()
	m.DeliveryTag = d.u64()
	m.Redelivered = d.u8()&1 != 0
	m.Exchange = d.anyShortstr()
	m.RoutingKey = d.anyShortstr()
	return d.end()
}

// BasicGet is basic.get (60/70).
type BasicGet struct {
	Queue string
	NoAck bool
}

func (*BasicGet) ClassID() uint16  { return ClassBasic }
func (*BasicGet) MethodID() uint16 { return 70 }
func (*BasicGet) HasContent() bool { return false }
func (*BasicGet) name() string     { return "basic.get" }

func (m *BasicGet) appendArgs(b []byte) []byte {
	return append(appendShortstr(appendUint16(b, 0), m.Queue), bit(m.NoAck, 0))
}

func (m *BasicGet) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	m.NoAck = d.u8()&1 != 0
	return d.end()
}

// BasicGetOk is basic.get-ok (60/71): the message fetched, with the ready messages left
// behind it; content follows.
type BasicGetOk struct {
	DeliveryTag          uint64
	Redelivered          bool
	Exchange, RoutingKey string
	MessageCount         uint32
}

func (*BasicGetOk) ClassID() uint16  { return ClassBasic }
func (*BasicGetOk) MethodID() uint16 { return 71 }
func (*BasicGetOk) HasContent() bool { return true }
func (*BasicGetOk) name() string     { return "basic.get-ok" }

func (m *BasicGetOk) appendArgs(b []byte) []byte {
	b = append(appendUint64(b, m.DeliveryTag), bit(m.Redelivered, 0))
	b = appendShortstr(appendShortstr(b, m.Exchange), m.RoutingKey)
	return appendUint32(b, m.MessageCount)
}

func (m *BasicGetOk) decode(args []byte) error {
	d := decoder{b: args}
	m.DeliveryTag = d.u64()
	m.Redelivered = d.u8()&1 != 0
	m.Exchange = d.anyShortstr()
	m.RoutingKey = d.anyShortstr()
	m.MessageCount = d.u32()
	return d.end()
}

// BasicGetEmpty is basic.get-empty (60/72). Its reserved cluster-id argument is written
// empty.
type BasicGetEmpty struct{}

func (*BasicGetEmpty) ClassID() uint16            { return ClassBasic }
func (*BasicGetEmpty) MethodID() uint16           { return 72 }
func (*BasicGetEmpty) HasContent() bool           { return false }
func (*BasicGetEmpty) name() string               { return "basic.get-empty" }
func (*BasicGetEmpty) appendArgs(b []byte) []byte { return append(b, 0) }

func (*BasicGetEmpty) decode(args []byte) error {
	d := decoder{b: args}
	d.skipShortstr()
	return d.end()
}

// BasicAck is basic.ack (60/80): from a client it settles deliveries, from a server in
// confirm mode it confirms publishes; Multiple covers every tag up to DeliveryTag.
type BasicAck struct {
	DeliveryTag uint64
	Multiple    bool
}

func (*BasicAck) ClassID() uint16  { return ClassBasic }
func (*BasicAck) MethodID() uint16 { return 80 }
func (*BasicAck) HasContent() bool { return false }
func (*BasicAck) name() string     { return "basic.ack" }

func (m *BasicAck) appendArgs(b []byte) []byte {
	return append(appendUint64(b, m.DeliveryTag), bit(m.Multiple, 0))
}

func (m *BasicAck) decode(args []byte) error {
	d := decoder{b: args}
	m.DeliveryTag = d.u64()
	m.Multiple = d.u8()&1 != 0
	return d.end()
}

// BasicReject is basic.reject (60/90).
type BasicReject struct {
	DeliveryTag uint64
	Requeue     bool
}

func (*BasicReject) ClassID() uint16  { return ClassBasic }
func (*BasicReject) MethodID() uint16 { return 90 }
func (*BasicReject) HasContent() bool { return false }
func (*BasicReject) name() string     { return "basic.reject" }

func (m *BasicReject) appendArgs(b []byte) []byte {
	return append(appendUint64(b, m.DeliveryTag), bit(m.Requeue, 0))
}

func (m *BasicReject) decode(args []byte) error {
	d := decoder{b: args}
	m.DeliveryTag = d.u64()
	m.Requeue = d.u8()&1 != 0
	return d.end()
}

// BasicRecoverAsync is basic.recover-async (60/100), deprecated by the spec and still
// accepted by RabbitMQ.
type BasicRecoverAsync struct {
	Requeue bool
}

func (*BasicRecoverAsync) ClassID() uint16              { return ClassBasic }
func (*BasicRecoverAsync) MethodID() uint16             { return 100 }
func (*BasicRecoverAsync) HasContent() bool             { return false }
func (*BasicRecoverAsync) name() string                 { return "basic.recover-async" }
func (m *BasicRecoverAsync) appendArgs(b []byte) []byte { return append(b, bit(m.Requeue, 0)) }

func (m *BasicRecoverAsync) decode(args []byte) error {
	var err error
	m.Requeue, err = decodeBit(args)
	return err
}

// BasicRecover is basic.recover (60/110): redeliver the channel's unacked messages.
type BasicRecover struct {
	Requeue bool
}

func (*BasicRecover) ClassID() uint16              { return ClassBasic }
func (*BasicRecover) MethodID() uint16             { return 110 }
func (*BasicRecover) HasContent() bool             { return false }
func (*BasicRecover) name() string                 { return "basic.recover" }
func (m *BasicRecover) appendArgs(b []byte) []byte { return append(b, bit(m.Requeue, 0)) }

func (m *BasicRecover) decode(args []byte) error {
	var err error
	m.Requeue, err = decodeBit(args)
	return err
}

// BasicRecoverOk is basic.recover-ok (60/111).
type BasicRecoverOk struct{ noArgs }

func (*BasicRecoverOk) ClassID() uint16  { return ClassBasic }
func (*BasicRecoverOk) MethodID() uint16 { return 111 }
func (*BasicRecoverOk) HasContent() bool { return false }
func (*BasicRecoverOk) name() string     { return "basic.recover-ok" }

// BasicNack is basic.nack (60/120), a RabbitMQ extension: reject one or, with Multiple,
// several deliveries, or negatively confirm publishes.
type BasicNack struct {
	DeliveryTag       uint64
	Multiple, Requeue bool
}

func (*BasicNack) ClassID() uint16  { return ClassBasic }
func (*BasicNack) MethodID() uint16 { return 120 }
func (*BasicNack) HasContent() bool { return false }
func (*BasicNack) name() string     { return "basic.nack" }

func (m *BasicNack) appendArgs(b []byte) []byte {
	return append(appendUint64(b, m.DeliveryTag), bit(m.Multiple, 0)|bit(m.Requeue, 1))
}

func (m *BasicNack) decode(args []byte) error {
	d := decoder{b: args}
	m.DeliveryTag = d.u64()
	f := d.u8()
	m.Multiple, m.Requeue = f&1 != 0, f&2 != 0
	return d.end()
}
