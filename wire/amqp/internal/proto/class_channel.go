package proto

// The channel class (20) opens, pauses and closes channels; the access class (30), gone from
// the 0-9-1 spec, is kept because RabbitMQ still answers access.request with
// access.request-ok (rabbit_channel), and old clients send it.

func newChannelMethod(id uint16) Method {
	switch id {
	case 10:
		return &ChannelOpen{}
	case 11:
		return &ChannelOpenOk{}
	case 20:
		return &ChannelFlow{}
	case 21:
		return &ChannelFlowOk{}
	case 40:
		return &ChannelClose{}
	case 41:
		return &ChannelCloseOk{}
	}
	return nil
}

func newAccessMethod(id uint16) Method {
	switch id {
	case 10:
		return &AccessRequest{}
	case 11:
		return &AccessRequestOk{}
	}
	return nil
}

// ChannelOpen is channel.open (20/10). Its reserved out-of-band argument is written empty.
type ChannelOpen struct{}

func (*ChannelOpen) ClassID() uint16            { return ClassChannel }
func (*ChannelOpen) MethodID() uint16           { return 10 }
func (*ChannelOpen) HasContent() bool           { return false }
func (*ChannelOpen) name() string               { return "channel.open" }
func (*ChannelOpen) appendArgs(b []byte) []byte { return append(b, 0) }

func (*ChannelOpen) decode(args []byte) error {
	d := decoder{b: args}
	d.skipShortstr()
	return d.end()
}

// ChannelOpenOk is channel.open-ok (20/11). Its reserved channel-id argument is written as
// an empty long string.
type ChannelOpenOk struct{}

func (*ChannelOpenOk) ClassID() uint16            { return ClassChannel }
func (*ChannelOpenOk) MethodID() uint16           { return 11 }
func (*ChannelOpenOk) HasContent() bool           { return false }
func (*ChannelOpenOk) name() string               { return "channel.open-ok" }
func (*ChannelOpenOk) appendArgs(b []byte) []byte { return append(b, 0, 0, 0, 0) }

func (*ChannelOpenOk) decode(args []byte) error {
	d := decoder{b: args}
	d.skipLongstr()
	return d.end()
}

// ChannelFlow is channel.flow (20/20): asks the peer to stop (Active false) or resume
// sending content.
type ChannelFlow struct {
	Active bool
}

func (*ChannelFlow) ClassID() uint16              { return ClassChannel }
func (*ChannelFlow) MethodID() uint16             { return 20 }
func (*ChannelFlow) HasContent() bool             { return false }
func (*ChannelFlow) name() string                 { return "channel.flow" }
func (m *ChannelFlow) appendArgs(b []byte) []byte { return append(b, bit(m.Active, 0)) }

func (m *ChannelFlow) decode(args []byte) error {
	var err error
	m.Active, err = decodeBit(args)
	return err
}

// ChannelFlowOk is channel.flow-ok (20/21): the flow state now in effect.
type ChannelFlowOk struct {
	Active bool
}

func (*ChannelFlowOk) ClassID() uint16              { return ClassChannel }
func (*ChannelFlowOk) MethodID() uint16             { return 21 }
func (*ChannelFlowOk) HasContent() bool             { return false }
func (*ChannelFlowOk) name() string                 { return "channel.flow-ok" }
func (m *ChannelFlowOk) appendArgs(b []byte) []byte { return append(b, bit(m.Active, 0)) }

func (m *ChannelFlowOk) decode(args []byte) error {
	var err error
	m.Active, err = decodeBit(args)
	return err
}

// decodeBit decodes arguments that are one bit.
func decodeBit(args []byte) (bool, error) {
	d := decoder{b: args}
	v := d.u8()&1 != 0
	return v, d.end()
}

// ChannelClose is channel.close (20/40), with the fields of [ConnectionClose].
type ChannelClose struct {
	ReplyCode                     uint16
	ReplyText                     string
	FailedClassID, FailedMethodID uint16
}

func (*ChannelClose) ClassID() uint16  { return ClassChannel }
func (*ChannelClose) MethodID() uint16 { return 40 }
func (*ChannelClose) HasContent() bool { return false }
func (*ChannelClose) name() string     { return "channel.close" }

func (m *ChannelClose) appendArgs(b []byte) []byte {
	return appendClose(b, m.ReplyCode, m.ReplyText, m.FailedClassID, m.FailedMethodID)
}

func (m *ChannelClose) decode(args []byte) error {
	var err error
	m.ReplyCode, m.ReplyText, m.FailedClassID, m.FailedMethodID, err = decodeClose(args)
	return err
}

// ChannelCloseOk is channel.close-ok (20/41).
type ChannelCloseOk struct{ noArgs }

func (*ChannelCloseOk) ClassID() uint16  { return ClassChannel }
func (*ChannelCloseOk) MethodID() uint16 { return 41 }
func (*ChannelCloseOk) HasContent() bool { return false }
func (*ChannelCloseOk) name() string     { return "channel.close-ok" }

// AccessRequest is access.request (30/10), from AMQP 0-8 and RabbitMQ's codegen spec.
type AccessRequest struct {
	Realm                                   string
	Exclusive, Passive, Active, Write, Read bool
}

func (*AccessRequest) ClassID() uint16  { return ClassAccess }
func (*AccessRequest) MethodID() uint16 { return 10 }
func (*AccessRequest) HasContent() bool { return false }
func (*AccessRequest) name() string     { return "access.request" }

func (m *AccessRequest) appendArgs(b []byte) []byte {
	b = appendShortstr(b, m.Realm)
	return append(b, bit(m.Exclusive, 0)|bit(m.Passive, 1)|bit(m.Active, 2)|bit(m.Write, 3)|bit(m.Read, 4))
}

func (m *AccessRequest) decode(args []byte) error {
	d := decoder{b: args}
	m.Realm = d.shortstr()
	f := d.u8()
	m.Exclusive, m.Passive, m.Active, m.Write, m.Read = f&1 != 0, f&2 != 0, f&4 != 0, f&8 != 0, f&16 != 0
	return d.end()
}

// AccessRequestOk is access.request-ok (30/11). RabbitMQ answers with Ticket 1.
type AccessRequestOk struct {
	Ticket uint16
}

func (*AccessRequestOk) ClassID() uint16              { return ClassAccess }
func (*AccessRequestOk) MethodID() uint16             { return 11 }
func (*AccessRequestOk) HasContent() bool             { return false }
func (*AccessRequestOk) name() string                 { return "access.request-ok" }
func (m *AccessRequestOk) appendArgs(b []byte) []byte { return appendUint16(b, m.Ticket) }

func (m *AccessRequestOk) decode(args []byte) error {
	d := decoder{b: args}
	m.Ticket = d.u16()
	return d.end()
}
