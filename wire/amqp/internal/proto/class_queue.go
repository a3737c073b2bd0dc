package proto

import "github.com/tribusmq/tribus/exchange"

// The queue class (50). Every request starts with the reserved ticket, written as 0.

func newQueueMethod(id uint16) Method {
	switch id {
	case 10:
		return &QueueDeclare{}
	case 11:
		return &QueueDeclareOk{}
	case 20:
		return &QueueBind{}
	case 21:
		return &QueueBindOk{}
	case 30:
		return &QueuePurge{}
	case 31:
		return &QueuePurgeOk{}
	case 40:
		return &QueueDelete{}
	case 41:
		return &QueueDeleteOk{}
	case 50:
		return &QueueUnbind{}
	case 51:
		return &QueueUnbindOk{}
	}
	return nil
}

// QueueDeclare is queue.declare (50/10). An empty Queue asks the server to name it.
type QueueDeclare struct {
	Queue                                           string
	Passive, Durable, Exclusive, AutoDelete, NoWait bool
	Arguments                                       exchange.Table
}

func (*QueueDeclare) ClassID() uint16  { return ClassQueue }
func (*QueueDeclare) MethodID() uint16 { return 10 }
func (*QueueDeclare) HasContent() bool { return false }
func (*QueueDeclare) name() string     { return "queue.declare" }

func (m *QueueDeclare) appendArgs(b []byte) []byte {
	b = appendShortstr(appendUint16(b, 0), m.Queue)
	b = append(b, bit(m.Passive, 0)|bit(m.Durable, 1)|bit(m.Exclusive, 2)|bit(m.AutoDelete, 3)|bit(m.NoWait, 4))
	return AppendTable(b, m.Arguments)
}

func (m *QueueDeclare) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	f := d.u8()
	m.Passive, m.Durable, m.Exclusive, m.AutoDelete, m.NoWait = f&1 != 0, f&2 != 0, f&4 != 0, f&8 != 0, f&16 != 0
	m.Arguments = d.table(0)
	return d.end()
}

// QueueDeclareOk is queue.declare-ok (50/11): the queue's name (chosen by the server when
// the declare left it empty) and its ready messages and consumers.
type QueueDeclareOk struct {
	Queue                       string
	MessageCount, ConsumerCount uint32
}

func (*QueueDeclareOk) ClassID() uint16  { return ClassQueue }
func (*QueueDeclareOk) MethodID() uint16 { return 11 }
func (*QueueDeclareOk) HasContent() bool { return false }
func (*QueueDeclareOk) name() string     { return "queue.declare-ok" }

func (m *QueueDeclareOk) appendArgs(b []byte) []byte {
	return appendUint32(appendUint32(appendShortstr(b, m.Queue), m.MessageCount), m.ConsumerCount)
}

func (m *QueueDeclareOk) decode(args []byte) error {
	d := decoder{b: args}
	m.Queue = d.shortstr()
	m.MessageCount = d.u32()
	m.ConsumerCount = d.u32()
	return d.end()
}

// QueueBind is queue.bind (50/20).
type QueueBind struct {
	Queue, Exchange, RoutingKey string
	NoWait                      bool
	Arguments                   exchange.Table
}

func (*QueueBind) ClassID() uint16  { return ClassQueue }
func (*QueueBind) MethodID() uint16 { return 20 }
func (*QueueBind) HasContent() bool { return false }
func (*QueueBind) name() string     { return "queue.bind" }

func (m *QueueBind) appendArgs(b []byte) []byte {
	b = appendUint16(b, 0) // reserved-1 (ticket)
	b = appendShortstr(b, m.Queue)
	b = appendShortstr(b, m.Exchange)
	b = appendShortstr(b, m.RoutingKey)
	return AppendTable(append(b, bit(m.NoWait, 0)), m.Arguments)
}

func (m *QueueBind) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	m.Exchange = d.shortstr()
	m.RoutingKey = d.shortstr()
	m.NoWait = d.u8()&1 != 0
	m.Arguments = d.table(0)
	return d.end()
}

// QueueBindOk is queue.bind-ok (50/21).
type QueueBindOk struct{ noArgs }

func (*QueueBindOk) ClassID() uint16  { return ClassQueue }
func (*QueueBindOk) MethodID() uint16 { return 21 }
func (*QueueBindOk) HasContent() bool { return false }
func (*QueueBindOk) name() string     { return "queue.bind-ok" }

// QueuePurge is queue.purge (50/30).
type QueuePurge struct {
	Queue  string
	NoWait bool
}

func (*QueuePurge) ClassID() uint16  { return ClassQueue }
func (*QueuePurge) MethodID() uint16 { return 30 }
func (*QueuePurge) HasContent() bool { return false }
func (*QueuePurge) name() string     { return "queue.purge" }

func (m *QueuePurge) appendArgs(b []byte) []byte {
	return append(appendShortstr(appendUint16(b, 0), m.Queue), bit(m.NoWait, 0))
}

func (m *QueuePurge) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	m.NoWait = d.u8()&1 != 0
	return d.end()
}

// QueuePurgeOk is queue.purge-ok (50/31): the number of messages purged.
type QueuePurgeOk struct {
	MessageCount uint32
}

func (*QueuePurgeOk) ClassID() uint16              { return ClassQueue }
func (*QueuePurgeOk) MethodID() uint16             { return 31 }
func (*QueuePurgeOk) HasContent() bool             { return false }
func (*QueuePurgeOk) name() string                 { return "queue.purge-ok" }
func (m *QueuePurgeOk) appendArgs(b []byte) []byte { return appendUint32(b, m.MessageCount) }

func (m *QueuePurgeOk) decode(args []byte) error {
	var err error
	m.MessageCount, err = decodeCount(args)
	return err
}

// QueueDelete is queue.delete (50/40).
type QueueDelete struct {
	Queue                     string
	IfUnused, IfEmpty, NoWait bool
}

func (*QueueDelete) ClassID() uint16  { return ClassQueue }
func (*QueueDelete) MethodID() uint16 { return 40 }
func (*QueueDelete) HasContent() bool { return false }
func (*QueueDelete) name() string     { return "queue.delete" }

func (m *QueueDelete) appendArgs(b []byte) []byte {
	b = appendShortstr(appendUint16(b, 0), m.Queue)
	return append(b, bit(m.IfUnused, 0)|bit(m.IfEmpty, 1)|bit(m.NoWait, 2))
}

func (m *QueueDelete) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	f := d.u8()
	m.IfUnused, m.IfEmpty, m.NoWait = f&1 != 0, f&2 != 0, f&4 != 0
	return d.end()
}

// QueueDeleteOk is queue.delete-ok (50/41): the number of messages deleted with the queue.
type QueueDeleteOk struct {
	MessageCount uint32
}

func (*QueueDeleteOk) ClassID() uint16              { return ClassQueue }
func (*QueueDeleteOk) MethodID() uint16             { return 41 }
func (*QueueDeleteOk) HasContent() bool             { return false }
func (*QueueDeleteOk) name() string                 { return "queue.delete-ok" }
func (m *QueueDeleteOk) appendArgs(b []byte) []byte { return appendUint32(b, m.MessageCount) }

func (m *QueueDeleteOk) decode(args []byte) error {
	var err error
	m.MessageCount, err = decodeCount(args)
	return err
}

// decodeCount decodes arguments that are one long.
func decodeCount(args []byte) (uint32, error) {
	d := decoder{b: args}
	n := d.u32()
	return n, d.end()
}

// QueueUnbind is queue.unbind (50/50). Unlike queue.bind it has no no-wait bit.
type QueueUnbind struct {
	Queue, Exchange, RoutingKey string
	Arguments                   exchange.Table
}

func (*QueueUnbind) ClassID() uint16  { return ClassQueue }
func (*QueueUnbind) MethodID() uint16 { return 50 }
func (*QueueUnbind) HasContent() bool { return false }
func (*QueueUnbind) name() string     { return "queue.unbind" }

func (m *QueueUnbind) appendArgs(b []byte) []byte {
	b = appendUint16(b, 0) // reserved-1 (ticket)
	b = appendShortstr(b, m.Queue)
	b = appendShortstr(b, m.Exchange)
	b = appendShortstr(b, m.RoutingKey)
	return AppendTable(b, m.Arguments)
}

func (m *QueueUnbind) decode(args []byte) error {
	d := decoder{b: args}
	d.u16()
	m.Queue = d.shortstr()
	m.Exchange = d.shortstr()
	m.RoutingKey = d.shortstr()
	m.Arguments = d.table(0)
	return d.end()
}

// QueueUnbindOk is queue.unbind-ok (50/51).
type QueueUnbindOk struct{ noArgs }

func (*QueueUnbindOk) ClassID() uint16  { return ClassQueue }
func (*QueueUnbindOk) MethodID() uint16 { return 51 }
func (*QueueUnbindOk) HasContent() bool { return false }
func (*QueueUnbindOk) name() string     { return "queue.unbind-ok" }
