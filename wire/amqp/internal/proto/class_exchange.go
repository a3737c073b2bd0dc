package proto

import "github.com/tribusmq/tribus/exchange"

// The exchange class (40). Every request starts with the reserved ticket, written as 0.

func newExchangeMethod(id uint16) Method {
	switch id {
	case 10:
		return &ExchangeDeclare{}
	case 11:
		return &ExchangeDeclareOk{}
	case 20:
		return &ExchangeDelete{}
	case 21:
		return &ExchangeDeleteOk{}
	case 30:
		return &ExchangeBind{}
	case 31:
		return &ExchangeBindOk{}
	case 40:
		return &ExchangeUnbind{}
	case 51:
		return &ExchangeUnbindOk{}
	}
	return nil
}

// ExchangeDeclare is exchange.declare (40/10).
type ExchangeDeclare struct {
	Exchange, Type                                 string
	Passive, Durable, AutoDelete, Internal, NoWait bool
	Arguments                                      exchange.Table
}

func (*ExchangeDeclare) ClassID() uint16  { return ClassExchange }
func (*ExchangeDeclare) MethodID() uint16 { return 10 }
func (*ExchangeDeclare) HasContent() bool { return false }
func (*ExchangeDeclare) name() string     { return "exchange.declare" }

func (m *ExchangeDeclare) appendArgs(b []byte) []byte {
	b = appendUint16(b, 0) // reserved-1 (ticket)
	b = appendShortstr(b, m.Exchange)
	b = appendShortstr(b, m.Type)
	b = append(b, bit(m.Passive, 0)|bit(m.Durable, 1)|bit(m.AutoDelete, 2)|bit(m.Internal, 3)|bit(m.NoWait, 4))
	return AppendTable(b, m.Arguments)
}

func (m *ExchangeDeclare) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Exchange = d.shortstr()
	m.Type = d.shortstr()
	f := d.u8()
	m.Passive, m.Durable, m.AutoDelete, m.Internal, m.NoWait = f&1 != 0, f&2 != 0, f&4 != 0, f&8 != 0, f&16 != 0
	m.Arguments = d.table(0)
	return d.end()
}

// ExchangeDeclareOk is exchange.declare-ok (40/11).
type ExchangeDeclareOk struct{ noArgs }

func (*ExchangeDeclareOk) ClassID() uint16  { return ClassExchange }
func (*ExchangeDeclareOk) MethodID() uint16 { return 11 }
func (*ExchangeDeclareOk) HasContent() bool { return false }
func (*ExchangeDeclareOk) name() string     { return "exchange.declare-ok" }

// ExchangeDelete is exchange.delete (40/20).
type ExchangeDelete struct {
	Exchange         string
	IfUnused, NoWait bool
}

func (*ExchangeDelete) ClassID() uint16  { return ClassExchange }
func (*ExchangeDelete) MethodID() uint16 { return 20 }
func (*ExchangeDelete) HasContent() bool { return false }
func (*ExchangeDelete) name() string     { return "exchange.delete" }

func (m *ExchangeDelete) appendArgs(b []byte) []byte {
	b = appendShortstr(appendUint16(b, 0), m.Exchange)
	return append(b, bit(m.IfUnused, 0)|bit(m.NoWait, 1))
}

func (m *ExchangeDelete) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Exchange = d.shortstr()
	f := d.u8()
	m.IfUnused, m.NoWait = f&1 != 0, f&2 != 0
	return d.end()
}

// ExchangeDeleteOk is exchange.delete-ok (40/21).
type ExchangeDeleteOk struct{ noArgs }

func (*ExchangeDeleteOk) ClassID() uint16  { return ClassExchange }
func (*ExchangeDeleteOk) MethodID() uint16 { return 21 }
func (*ExchangeDeleteOk) HasContent() bool { return false }
func (*ExchangeDeleteOk) name() string     { return "exchange.delete-ok" }

// ExchangeBind is exchange.bind (40/30), a RabbitMQ extension: bind exchange Destination to
// exchange Source.
type ExchangeBind struct {
	Destination, Source, RoutingKey string
	NoWait                          bool
	Arguments                       exchange.Table
}

func (*ExchangeBind) ClassID() uint16  { return ClassExchange }
func (*ExchangeBind) MethodID() uint16 { return 30 }
func (*ExchangeBind) HasContent() bool { return false }
func (*ExchangeBind) name() string     { return "exchange.bind" }

func (m *ExchangeBind) appendArgs(b []byte) []byte {
	return appendExchangeBinding(b, m.Destination, m.Source, m.RoutingKey, m.NoWait, m.Arguments)
}

func (m *ExchangeBind) decode(args []byte) error {
	var err error
	m.Destination, m.Source, m.RoutingKey, m.NoWait, m.Arguments, err = decodeExchangeBinding(args)
	return err
}

// ExchangeBindOk is exchange.bind-ok (40/31).
type ExchangeBindOk struct{ noArgs }

func (*ExchangeBindOk) ClassID() uint16  { return ClassExchange }
func (*ExchangeBindOk) MethodID() uint16 { return 31 }
func (*ExchangeBindOk) HasContent() bool { return false }
func (*ExchangeBindOk) name() string     { return "exchange.bind-ok" }

// ExchangeUnbind is exchange.unbind (40/40), the fields of [ExchangeBind].
type ExchangeUnbind struct {
	Destination, Source, RoutingKey string
	NoWait                          bool
	Arguments                       exchange.Table
}

func (*ExchangeUnbind) ClassID() uint16  { return ClassExchange }
func (*ExchangeUnbind) MethodID() uint16 { return 40 }
func (*ExchangeUnbind) HasContent() bool { return false }
func (*ExchangeUnbind) name() string     { return "exchange.unbind" }

func (m *ExchangeUnbind) appendArgs(b []byte) []byte {
	return appendExchangeBinding(b, m.Destination, m.Source, m.RoutingKey, m.NoWait, m.Arguments)
}

func (m *ExchangeUnbind) decode(args []byte) error {
	var err error
	m.Destination, m.Source, m.RoutingKey, m.NoWait, m.Arguments, err = decodeExchangeBinding(args)
	return err
}

// ExchangeUnbindOk is exchange.unbind-ok (40/51: RabbitMQ numbers it 51, not 41, and
// clients follow).
type ExchangeUnbindOk struct{ noArgs }

func (*ExchangeUnbindOk) ClassID() uint16  { return ClassExchange }
func (*ExchangeUnbindOk) MethodID() uint16 { return 51 }
func (*ExchangeUnbindOk) HasContent() bool { return false }
func (*ExchangeUnbindOk) name() string     { return "exchange.unbind-ok" }

func appendExchangeBinding(b []byte, dst, src, key string, noWait bool, args exchange.Table) []byte {
	b = appendUint16(b, 0) // reserved-1 (ticket)
	b = appendShortstr(b, dst)
	b = appendShortstr(b, src)
	b = appendShortstr(b, key)
	return AppendTable(append(b, bit(noWait, 0)), args)
}

func decodeExchangeBinding(args []byte) (dst, src, key string, noWait bool, t exchange.Table, err error) {
	d := decoder{b: args}
	d.u16()
	dst = d.shortstr()
	src = d.shortstr()
	key = d.shortstr()
	noWait = d.u8()&1 != 0
	t = d.table(0)
	return dst, src, key, noWait, t, d.end()
}
