package proto

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/tribusmq/tribus/exchange"
)

// Field tables use RabbitMQ's type letters (rabbit_binary_parser and rabbit_binary_generator),
// which differ from the 0-9-1 spec's grammar in the integer letters, and the Go types
// amqp091-go reads them as (read.go's readField):
//
//	t bool       b int8      B uint8    s int16    u uint16   I int32    i uint32
//	l int64      f float32   d float64  D exchange.Decimal    S string   x []byte
//	A []any      T time.Time (whole seconds, UTC)            F exchange.Table   V nil
//
// RabbitMQ also reads 'L' as a signed 64-bit integer and writes it back as 'l'; so does
// DecodeTable. Each letter decodes to one Go type that encodes back to the same letter, so a
// table a client sent comes back in deliveries and declare-ok answers as RabbitMQ returns it.
// On encode a Go int is 'l' (amqp091-go writes it as 'I', truncating it to 32 bits).

// MaxDepth bounds the nesting of tables and arrays: the values of a table given to
// [AppendTable] or read by [DecodeTable] are at depth 0, those of a table or array inside it
// at depth 1, and a value deeper than MaxDepth is refused. It is [exchange.MaxTableDepth], so
// the engine accepts whatever decodes.
const MaxDepth = exchange.MaxTableDepth

// AppendTable appends t as a field table, its uint32 length included; a nil table is an empty
// one. Field order is Go's map order, so two encodings of one table may differ in order.
//
// t must hold only the Go types listed in [exchange.Table], field names of at most
// [MaxShortString] bytes and at most [MaxDepth] levels, which [exchange.Table.Validate] and the
// engine's checks guarantee; AppendTable panics on anything else, which is a bug in the caller
// that an append cannot report.
func AppendTable(b []byte, t exchange.Table) []byte { return appendTable(b, t, 0) }

func appendTable(b []byte, t exchange.Table, depth int) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	for k, v := range t {
		b = appendShortstr(b, k)
		b = appendValue(b, v, depth)
	}
	return patchLength(b, start)
}

// patchLength writes at b[start:] the uint32 length of what follows it.
func patchLength(b []byte, start int) []byte {
	n := len(b) - start - 4
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("tribus/amqp: field table of %d bytes", n))
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b
}

func appendValue(b []byte, v any, depth int) []byte {
	if depth > MaxDepth {
		panic(fmt.Sprintf("tribus/amqp: field table nested deeper than %d", MaxDepth))
	}
	switch x := v.(type) {
	case nil:
		return append(b, 'V')
	case bool:
		return append(b, 't', bit(x, 0))
	case int8:
		return append(b, 'b', byte(x))
	case uint8:
		return append(b, 'B', x)
	case int16:
		return appendUint16(append(b, 's'), uint16(x))
	case uint16:
		return appendUint16(append(b, 'u'), x)
	case int32:
		return appendUint32(append(b, 'I'), uint32(x))
	case uint32:
		return appendUint32(append(b, 'i'), x)
	case int64:
		return appendUint64(append(b, 'l'), uint64(x))
	case int:
		return appendUint64(append(b, 'l'), uint64(x))
	case float32:
		return appendUint32(append(b, 'f'), math.Float32bits(x))
	case float64:
		return appendUint64(append(b, 'd'), math.Float64bits(x))
	case exchange.Decimal:
		return appendUint32(append(b, 'D', x.Scale), uint32(x.Value))
	case string:
		return appendLongstr(append(b, 'S'), x)
	case []byte:
		return append(appendUint32(append(b, 'x'), uint32(len(x))), x...)
	case time.Time:
		return appendUint64(append(b, 'T'), uint64(x.Unix()))
	case exchange.Table:
		return appendTable(append(b, 'F'), x, depth+1)
	case []any:
		b = append(b, 'A')
		start := len(b)
		b = append(b, 0, 0, 0, 0)
		for _, e := range x {
			b = appendValue(b, e, depth+1)
		}
		return patchLength(b, start)
	}
	panic(fmt.Sprintf("tribus/amqp: field value of type %T is not an AMQP field type", v))
}

// DecodeTable decodes the field table at the start of b, its uint32 length included, and
// returns it with the number of bytes it took. An empty table decodes as an empty, non-nil
// Table. Strings and byte arrays are copies, so the table does not share memory with b. A
// field name that occurs twice keeps its last value. Errors wrap [ErrSyntax].
func DecodeTable(b []byte) (exchange.Table, int, error) {
	d := decoder{b: b}
	t := d.table(0)
	if d.err != nil {
		return nil, 0, d.err
	}
	return t, len(b) - len(d.b), nil
}

// table reads a field table whose values are at depth.
func (d *decoder) table(depth int) exchange.Table {
	n := d.u32()
	body := decoder{b: d.take(uint64(n), "field table")}
	if d.err != nil {
		return nil
	}
	t := make(exchange.Table)
	for len(body.b) > 0 {
		k := body.anyShortstr()
		v := body.value(depth)
		if body.err != nil {
			d.fail(body.err)
			return nil
		}
		t[k] = v
	}
	return t
}

// array reads a field array whose values are at depth.
func (d *decoder) array(depth int) []any {
	n := d.u32()
	body := decoder{b: d.take(uint64(n), "field array")}
	if d.err != nil {
		return nil
	}
	a := []any{}
	for len(body.b) > 0 {
		v := body.value(depth)
		if body.err != nil {
			d.fail(body.err)
			return nil
		}
		a = append(a, v)
	}
	return a
}

func (d *decoder) value(depth int) any {
	if depth > MaxDepth {
		d.fail(syntaxError("field table nested deeper than %d", MaxDepth))
		return nil
	}
	typ := d.u8()
	if d.err != nil {
		return nil
	}
	switch typ {
	case 't':
		return d.u8() != 0
	case 'b':
		return int8(d.u8())
	case 'B':
		return d.u8()
	case 's':
		return int16(d.u16())
	case 'u':
		return d.u16()
	case 'I':
		return int32(d.u32())
	case 'i':
		return d.u32()
	case 'l', 'L':
		return int64(d.u64())
	case 'f':
		return math.Float32frombits(d.u32())
	case 'd':
		return math.Float64frombits(d.u64())
	case 'D':
		scale := d.u8()
		return exchange.Decimal{Scale: scale, Value: int32(d.u32())}
	case 'S':
		return d.longstr()
	case 'x':
		n := d.u32()
		v := d.take(uint64(n), "byte array")
		if d.err != nil {
			return nil
		}
		return append([]byte{}, v...)
	case 'T':
		return timestamp(d.u64())
	case 'F':
		return d.table(depth + 1)
	case 'A':
		return d.array(depth + 1)
	case 'V':
		return nil
	}
	d.fail(syntaxError("unknown field type %q", typ))
	return nil
}

// timestamp converts AMQP's seconds since the epoch, which RabbitMQ reads as unsigned and Go
// clients write from a signed int64, to a time that encodes back to the same 8 bytes.
func timestamp(sec uint64) time.Time { return time.Unix(int64(sec), 0).UTC() }
