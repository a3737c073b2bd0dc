package exchange

// The binary encoding of the durable records of record.go, as the store persists them.
//
// Every record starts with two bytes: the format version (codecVersion) and the record kind.
// Strings and byte slices are a uvarint length and the bytes; signed integers are zig-zag
// varints. Where nil and empty must stay distinct (byte slices, tables, arrays, string lists)
// the length is written as n+1, with 0 meaning nil, which costs nothing over a plain length.
//
//	exchange: 1 1 | name | kind | flags(auto-delete 1, internal 2) | alternate exchange | args
//	queue:    1 2 | name | flags(auto-delete 1) | args
//	binding:  1 3 | source | flags(to-exchange 1) | destination | key | args
//	message:  1 4 | flags(redelivered 1) | priority | varint expires-at | varint delivery-count |
//	          uint32le rest-length | body length n+1 | body | rest
//	  rest:   exchange | routing key | content type | content encoding | delivery mode (1 byte) |
//	          correlation id | reply to | expiration | message id | timestamp | type | user id |
//	          app id | cluster id | headers | bcc | deaths
//	  death:  queue | reason | varint count | time | exchange | routing keys | original expiration
//
// The message's index fields come first and the rest's length is stored, so that
// decodeMessageIndex reads a fixed prefix, checks that the lengths add up to the record's size
// (which catches truncation and trailing bytes without walking the tables) and never touches the
// body or the headers: recovery of a million messages reads a few bytes of each.
//
// A time is uvarint(nanoseconds<<1), then varint(Unix seconds); the single byte 1 is the zero
// time, so an unset timestamp costs one byte and decodes as the zero time.
//
// A table is a count n+1, then per field its name and a tagged value. The tags are the letters
// of AMQP 0-9-1 (RabbitMQ's variant) plus 'u' and 'i' for uint16 and uint32, but the payloads are
// not AMQP's: 16-, 32- and 64-bit integers are varints, floats are fixed little-endian.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrCorrupt is wrapped by every decode error: the bytes are not a record this build can read.
var ErrCorrupt = errors.New("tribus/exchange: corrupt record")

// codecVersion is the first byte of every record. A change of layout takes a new version, and
// a decoder refuses versions it does not know instead of misreading them.
const codecVersion = 1

// Record kinds, the second byte of every record, so that a key pointing at the wrong bucket is
// an error and not a garbled record.
const (
	kindExchange = 1
	kindQueue    = 2
	kindBinding  = 3
	kindMessage  = 4
)

var kindNames = [...]string{kindExchange: "exchange", kindQueue: "queue", kindBinding: "binding", kindMessage: "message"}

// Flag bits. Bits a kind does not define must be zero, so a future flag is not silently lost.
const (
	flagAutoDelete  = 1 // exchange, queue
	flagInternal    = 2 // exchange
	flagToExchange  = 1 // binding
	flagRedelivered = 1 // message
)

// Type tags of table values.
const (
	tagVoid    = 'V'
	tagBool    = 't'
	tagInt8    = 'b'
	tagUint8   = 'B'
	tagInt16   = 's'
	tagUint16  = 'u'
	tagInt32   = 'I'
	tagUint32  = 'i'
	tagInt64   = 'l' // also Go int, which decodes as int64
	tagFloat32 = 'f'
	tagFloat64 = 'd'
	tagDecimal = 'D'
	tagString  = 'S'
	tagBytes   = 'x'
	tagTime    = 'T'
	tagTable   = 'F'
	tagArray   = 'A'
)

// messageIndex is what a queue keeps in memory for a message whose body stays on disk.
type messageIndex struct {
	ExpiresAt     int64 // as messageRecord.ExpiresAt
	Priority      uint8 // Publishing.Priority
	DeliveryCount int64
	Redelivered   bool
	BodySize      int64 // len(Publishing.Body), what x-max-length-bytes counts
}

// appendExchangeRecord appends the encoding of r to b and returns the extended slice. It panics
// if r.Args holds a value [Table.Validate] rejects (see appendTable).
func appendExchangeRecord(b []byte, r *exchangeRecord) []byte {
	b = append(b, codecVersion, kindExchange)
	b = appendString(b, r.Name)
	b = appendString(b, string(r.Kind))
	b = append(b, flag(r.AutoDelete, flagAutoDelete)|flag(r.Internal, flagInternal))
	b = appendString(b, r.AlternateExchange)
	return appendTable(b, r.Args)
}

// decodeExchangeRecord decodes a record written by appendExchangeRecord. The result shares
// nothing with b. Errors wrap [ErrCorrupt].
func decodeExchangeRecord(b []byte) (exchangeRecord, error) {
	var r exchangeRecord
	d := decoder{b: b}
	d.header(kindExchange)
	d.useArena()
	r.Name = d.str("name")
	r.Kind = Kind(d.str("kind"))
	flags := d.flags(flagAutoDelete | flagInternal)
	r.AutoDelete = flags&flagAutoDelete != 0
	r.Internal = flags&flagInternal != 0
	r.AlternateExchange = d.str("alternate exchange")
	r.Args = d.table("args", 0)
	d.end()
	return r, d.result(kindExchange)
}

// appendQueueRecord appends the encoding of r to b and returns the extended slice. It panics if
// r.Args holds a value [Table.Validate] rejects.
func appendQueueRecord(b []byte, r *queueRecord) []byte {
	b = append(b, codecVersion, kindQueue)
	b = appendString(b, r.Name)
	b = append(b, flag(r.AutoDelete, flagAutoDelete))
	return appendTable(b, r.Args)
}

// decodeQueueRecord decodes a record written by appendQueueRecord. The result shares nothing
// with b. Errors wrap [ErrCorrupt].
func decodeQueueRecord(b []byte) (queueRecord, error) {
	var r queueRecord
	d := decoder{b: b}
	d.header(kindQueue)
	d.useArena()
	r.Name = d.str("name")
	r.AutoDelete = d.flags(flagAutoDelete)&flagAutoDelete != 0
	r.Args = d.table("args", 0)
	d.end()
	return r, d.result(kindQueue)
}

// appendBindingRecord appends the encoding of r to b and returns the extended slice. It panics
// if r.Args holds a value [Table.Validate] rejects.
func appendBindingRecord(b []byte, r *bindingRecord) []byte {
	b = append(b, codecVersion, kindBinding)
	b = appendString(b, r.Source)
	b = append(b, flag(r.ToExchange, flagToExchange))
	b = appendString(b, r.Destination)
	b = appendString(b, r.Key)
	return appendTable(b, r.Args)
}

// decodeBindingRecord decodes a record written by appendBindingRecord. The result shares
// nothing with b. Errors wrap [ErrCorrupt].
func decodeBindingRecord(b []byte) (bindingRecord, error) {
	var r bindingRecord
	d := decoder{b: b}
	d.header(kindBinding)
	d.useArena()
	r.Source = d.str("source")
	r.ToExchange = d.flags(flagToExchange)&flagToExchange != 0
	r.Destination = d.str("destination")
	r.Key = d.str("key")
	r.Args = d.table("args", 0)
	d.end()
	return r, d.result(kindBinding)
}

// appendMessageRecord appends the encoding of r to b and returns the extended slice. It does not
// allocate when b has room. It panics if r.Pub.Headers holds a value [Table.Validate] rejects,
// or if the record without its body exceeds 4 GiB.
func appendMessageRecord(b []byte, r *messageRecord) []byte {
	p := &r.Pub
	b = append(b, codecVersion, kindMessage, flag(r.Redelivered, flagRedelivered), p.Priority)
	b = binary.AppendVarint(b, r.ExpiresAt)
	b = binary.AppendVarint(b, r.DeliveryCount)
	// The rest's length goes before the body, but is known only once the rest is written: a
	// fixed-width slot patched afterwards avoids a sizing pass over the headers.
	slot := len(b)
	b = append(b, 0, 0, 0, 0)
	b = appendBytes(b, p.Body)
	rest := len(b)
	b = appendString(b, r.Exchange)
	b = appendString(b, r.RoutingKey)
	b = appendString(b, p.ContentType)
	b = appendString(b, p.ContentEncoding)
	b = append(b, p.DeliveryMode)
	b = appendString(b, p.CorrelationID)
	b = appendString(b, p.ReplyTo)
	b = appendString(b, p.Expiration)
	b = appendString(b, p.MessageID)
	b = appendTime(b, p.Timestamp)
	b = appendString(b, p.Type)
	b = appendString(b, p.UserID)
	b = appendString(b, p.AppID)
	b = appendString(b, p.ClusterID)
	b = appendTable(b, p.Headers)
	b = appendStrings(b, r.BCC)
	b = appendNilLen(b, len(r.Deaths), r.Deaths == nil)
	for i := range r.Deaths {
		x := &r.Deaths[i]
		b = appendString(b, x.queue)
		b = appendString(b, x.reason)
		b = binary.AppendVarint(b, x.count)
		b = appendTime(b, x.time)
		b = appendString(b, x.exchange)
		b = appendStrings(b, x.routingKeys)
		b = appendString(b, x.originalExpiration)
	}
	n := len(b) - rest
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("tribus/exchange: message record of %d bytes without its body is too large to encode", n))
	}
	binary.LittleEndian.PutUint32(b[slot:], uint32(n))
	return b
}

// decodeMessageRecord decodes a record written by appendMessageRecord. The result shares
// nothing with b: the body is a fresh copy, and the strings and headers are cut from one copy
// of the record without its body, which stays alive while any of them does. Times decode in
// UTC (see appendTable). Errors wrap [ErrCorrupt].
func decodeMessageRecord(b []byte) (messageRecord, error) {
	return decodeMessageRecordLike(b, &messageRecord{}, nil)
}

// decodeMessageRecordLike is decodeMessageRecord, except that each string property equal to
// like's is like's string (see strLike), so that decoding a queue's records in order, each
// like the one before, copies only the strings that change; and that a non-nil body makes the
// room the body is copied into (it is asked once, for the body's length, unless the body is
// nil), where decodeMessageRecord makes a slice of its own.
func decodeMessageRecordLike(b []byte, like *messageRecord, body func(n int) []byte) (messageRecord, error) {
	var r messageRecord
	d := decoder{b: b}
	idx, bodyNil := d.messagePrefix()
	if d.err != nil {
		return r, d.result(kindMessage)
	}
	p := &r.Pub
	r.ExpiresAt, r.DeliveryCount, r.Redelivered, p.Priority = idx.ExpiresAt, idx.DeliveryCount, idx.Redelivered, idx.Priority
	if !bodyNil {
		if body != nil {
			p.Body = body(int(idx.BodySize))
		} else {
			p.Body = make([]byte, idx.BodySize)
		}
		d.off += copy(p.Body, b[d.off:])
	}
	d.useArena()
	lp := &like.Pub
	r.Exchange = d.strLike("exchange", like.Exchange)
	r.RoutingKey = d.strLike("routing key", like.RoutingKey)
	p.ContentType = d.strLike("content type", lp.ContentType)
	p.ContentEncoding = d.strLike("content encoding", lp.ContentEncoding)
	p.DeliveryMode = d.u8("delivery mode")
	p.CorrelationID = d.strLike("correlation id", lp.CorrelationID)
	p.ReplyTo = d.strLike("reply to", lp.ReplyTo)
	p.Expiration = d.strLike("expiration", lp.Expiration)
	p.MessageID = d.strLike("message id", lp.MessageID)
	p.Timestamp = d.time("timestamp")
	p.Type = d.strLike("type", lp.Type)
	p.UserID = d.strLike("user id", lp.UserID)
	p.AppID = d.strLike("app id", lp.AppID)
	p.ClusterID = d.strLike("cluster id", lp.ClusterID)
	p.Headers = d.table("headers", 0)
	r.BCC = d.strings("bcc")
	// Each death takes at least 7 bytes, one per field.
	if n, isNil := d.nilLen("deaths", 7); !isNil {
		r.Deaths = make([]death, n)
		for i := range r.Deaths {
			x := &r.Deaths[i]
			x.queue = d.str("queue")
			x.reason = d.str("reason")
			x.count = d.varint("count")
			x.time = d.time("time")
			x.exchange = d.str("exchange")
			x.routingKeys = d.strings("routing keys")
			x.originalExpiration = d.str("original expiration")
			if d.err != nil {
				d.err = fmt.Errorf("deaths[%d]: %w", i, d.err)
				break
			}
		}
	}
	d.end()
	return r, d.result(kindMessage)
}

// decodeMessageIndex decodes what a queue keeps in memory for a message whose body stays on
// disk. It reads only the record's prefix and never allocates: the body and the rest are
// skipped by their stored lengths, so it checks that the record has exactly the size they
// announce but not what the rest holds; decodeMessageRecord may still find it corrupt.
func decodeMessageIndex(b []byte) (messageIndex, error) {
	d := decoder{b: b}
	idx, _ := d.messagePrefix()
	return idx, d.result(kindMessage)
}

// appendTable appends the encoding of t to b and returns the extended slice. A nil table and an
// empty one stay distinct. Field order follows map iteration, so equal tables may encode to
// different bytes. A Go int is written as an int64 and decodes as one; a time.Time keeps its
// seconds and nanoseconds but not its location or monotonic reading, and decodes in UTC.
//
// It panics on a value that [Table.Validate] rejects (a type that is not an AMQP field type,
// nesting deeper than 64): tables are validated where they enter the router, so such a value
// here is a bug, and writing it some other way would corrupt the store silently.
func appendTable(b []byte, t Table) []byte { return appendTableAt(b, t, 0) }

func appendTableAt(b []byte, t Table, depth int) []byte {
	b = appendNilLen(b, len(t), t == nil)
	for k, v := range t {
		b = appendString(b, k)
		b = appendValue(b, v, depth)
	}
	return b
}

// appendValue writes a tagged value. depth counts the containers above v the way
// validateValue does, so the encoder refuses exactly what Validate refuses.
func appendValue(b []byte, v any, depth int) []byte {
	if depth > maxTableDepth {
		panic(fmt.Sprintf("tribus/exchange: cannot encode a table nested deeper than %d", maxTableDepth))
	}
	switch x := v.(type) {
	case nil:
		return append(b, tagVoid)
	case bool:
		return append(b, tagBool, flag(x, 1))
	case int8:
		return append(b, tagInt8, byte(x))
	case uint8:
		return append(b, tagUint8, x)
	case int16:
		return binary.AppendVarint(append(b, tagInt16), int64(x))
	case uint16:
		return binary.AppendUvarint(append(b, tagUint16), uint64(x))
	case int32:
		return binary.AppendVarint(append(b, tagInt32), int64(x))
	case uint32:
		return binary.AppendUvarint(append(b, tagUint32), uint64(x))
	case int64:
		return binary.AppendVarint(append(b, tagInt64), x)
	case int:
		return binary.AppendVarint(append(b, tagInt64), int64(x))
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(x))
	case Decimal:
		return binary.AppendVarint(append(b, tagDecimal, x.Scale), int64(x.Value))
	case string:
		return appendString(append(b, tagString), x)
	case []byte:
		return appendBytes(append(b, tagBytes), x)
	case time.Time:
		return appendTime(append(b, tagTime), x)
	case Table:
		return appendTableAt(append(b, tagTable), x, depth+1)
	case []any:
		b = appendNilLen(append(b, tagArray), len(x), x == nil)
		for _, e := range x {
			b = appendValue(b, e, depth+1)
		}
		return b
	}
	panic(fmt.Sprintf("tribus/exchange: cannot encode %T in a table: not an AMQP field type", v))
}

// decodeTable decodes a table written by appendTable that fills all of b. The result shares
// nothing with b; its strings are cut from one copy of b. Every table it returns passes
// [Table.Validate]. Errors wrap [ErrCorrupt].
func decodeTable(b []byte) (Table, error) {
	d := decoder{b: b}
	d.useArena()
	t := d.table("", 0)
	d.end()
	if d.err != nil {
		return nil, fmt.Errorf("%w: table: %w", ErrCorrupt, d.err)
	}
	return t, nil
}

// flag is f if ok, else 0.
func flag(ok bool, f byte) byte {
	if ok {
		return f
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendNilLen writes a length or count as n+1, or 0 for nil.
func appendNilLen(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

func appendBytes(b, v []byte) []byte {
	b = appendNilLen(b, len(v), v == nil)
	return append(b, v...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = appendNilLen(b, len(ss), ss == nil)
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 1)
	}
	b = binary.AppendUvarint(b, uint64(t.Nanosecond())<<1)
	return binary.AppendVarint(b, t.Unix())
}

// decoder reads a record. The first error sticks and moves off to the end, so a record decoder
// reads its fields straight through and checks once; loops over counts stop on it.
type decoder struct {
	b   []byte
	off int
	err error
	// arena is a copy of b[arenaAt:]. Strings decoded past arenaAt are cut from it, which costs
	// one allocation per record instead of one per string and never aliases b (bbolt's memory
	// is valid only inside its transaction). With arenaOn, the first string that needs a copy
	// makes it, so a record whose strings are all empty, or all shared (strLike), makes none.
	arena   string
	arenaAt int
	arenaOn bool
}

var errTruncated = errors.New("truncated")

// fail records err, prefixed with what was being read, unless an error is already recorded.
func (d *decoder) fail(what string, err error) {
	if d.err == nil {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		d.err = err
	}
	d.off = len(d.b)
}

// result is d's error, if any, wrapped in ErrCorrupt and naming the record kind.
func (d *decoder) result(kind int) error {
	if d.err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s record: %w", ErrCorrupt, kindNames[kind], d.err)
}

// header checks the version and kind bytes.
func (d *decoder) header(kind byte) {
	switch {
	case len(d.b) < 2:
		d.fail("header", errTruncated)
	case d.b[0] != codecVersion:
		d.fail("", fmt.Errorf("unknown format version %d (this build reads %d)", d.b[0], codecVersion))
	case d.b[1] == kind:
		d.off = 2
	case int(d.b[1]) < len(kindNames) && kindNames[d.b[1]] != "":
		d.fail("", fmt.Errorf("found kind %d (%s)", d.b[1], kindNames[d.b[1]]))
	default:
		d.fail("", fmt.Errorf("unknown record kind %d", d.b[1]))
	}
}

// useArena makes the strings to come share one copy of the rest of the record, taken at the
// first of them that needs one.
func (d *decoder) useArena() { d.arenaOn = true }

// end rejects bytes left over after the last field.
func (d *decoder) end() {
	if d.err == nil && d.off != len(d.b) {
		d.fail("", fmt.Errorf("%d trailing bytes", len(d.b)-d.off))
	}
}

// messagePrefix reads the header and the fixed prefix of a message record and checks that the
// body and rest lengths add up to the bytes that follow. It leaves off at the body.
func (d *decoder) messagePrefix() (idx messageIndex, bodyNil bool) {
	d.header(kindMessage)
	idx.Redelivered = d.flags(flagRedelivered)&flagRedelivered != 0
	idx.Priority = d.u8("priority")
	idx.ExpiresAt = d.varint("expires at")
	idx.DeliveryCount = d.varint("delivery count")
	restLen := binary.LittleEndian.Uint32(d.fixed("rest length", 4))
	n, bodyNil := d.nilLen("body", 1)
	if d.err != nil {
		return messageIndex{}, true
	}
	idx.BodySize = int64(n)
	want, left := uint64(n)+uint64(restLen), uint64(len(d.b)-d.off)
	switch {
	case left < want:
		d.fail("", fmt.Errorf("truncated: body and rest take %d bytes, %d left", want, left))
	case left > want:
		d.fail("", fmt.Errorf("%d trailing bytes", left-want))
	}
	return idx, bodyNil
}

func (d *decoder) u8(what string) byte {
	if d.off >= len(d.b) {
		d.fail(what, errTruncated)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// flags reads a flags byte, rejecting bits outside known.
func (d *decoder) flags(known byte) byte {
	f := d.u8("flags")
	if f&^known != 0 {
		d.fail("flags", fmt.Errorf("unknown bits 0x%02x", f&^known))
	}
	return f
}

func (d *decoder) uvarint(what string) uint64 {
	if d.off < len(d.b) && d.b[d.off] < 0x80 {
		d.off++
		return uint64(d.b[d.off-1])
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		if n == 0 {
			d.fail(what, errTruncated)
		} else {
			d.fail(what, errors.New("varint overflows 64 bits"))
		}
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	u := d.uvarint(what)
	return int64(u>>1) ^ -int64(u&1) // zig-zag, as binary.AppendVarint writes
}

// fixed reads n bytes; on error it returns zeros, so the caller need not check.
func (d *decoder) fixed(what string, n int) []byte {
	if len(d.b)-d.off < n {
		d.fail(what, errTruncated)
		return make([]byte, n)
	}
	d.off += n
	return d.b[d.off-n : d.off]
}

// nilLen reads a length or count written by appendNilLen and checks that n elements of at least
// min bytes each fit in what is left, so no garbage length makes the caller allocate more than
// a small multiple of the input. It reports nil on error.
func (d *decoder) nilLen(what string, min int) (n int, isNil bool) {
	v := d.uvarint(what)
	if v == 0 {
		return 0, true
	}
	left := uint64(len(d.b) - d.off)
	if v-1 > left/uint64(min) {
		d.fail(what, fmt.Errorf("length %d exceeds the %d bytes left", v-1, left))
		return 0, true
	}
	return int(v - 1), false
}

func (d *decoder) str(what string) string { return d.strLike(what, "") }

// strLike is str, except that a string equal to like is like itself, not a copy: decoding
// records one after another, passing each field of the one before, shares the strings that
// repeat (a queue's messages mostly have the same exchange, routing key and content type).
func (d *decoder) strLike(what, like string) string {
	n := d.uvarint(what)
	if n > uint64(len(d.b)-d.off) {
		d.fail(what, fmt.Errorf("length %d exceeds the %d bytes left", n, len(d.b)-d.off))
		return ""
	}
	if n == 0 {
		return ""
	}
	i := d.off
	d.off += int(n)
	v := d.b[i:d.off]
	if string(v) == like {
		return like
	}
	if d.arenaOn && d.arena == "" {
		d.arena, d.arenaAt = string(d.b[i:]), i
	}
	if i >= d.arenaAt && d.off-d.arenaAt <= len(d.arena) {
		return d.arena[i-d.arenaAt : d.off-d.arenaAt]
	}
	return string(v)
}

func (d *decoder) bytes(what string) []byte {
	n, isNil := d.nilLen(what, 1)
	if isNil {
		return nil
	}
	v := make([]byte, n)
	d.off += copy(v, d.b[d.off:])
	return v
}

func (d *decoder) strings(what string) []string {
	n, isNil := d.nilLen(what, 1)
	if isNil {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str(what)
	}
	return ss
}

func (d *decoder) time(what string) time.Time {
	v := d.uvarint(what)
	if v&1 != 0 {
		if v != 1 {
			d.fail(what, fmt.Errorf("bad zero-time marker %d", v))
		}
		return time.Time{}
	}
	ns := v >> 1
	if ns >= 1e9 {
		d.fail(what, fmt.Errorf("nanoseconds %d out of range", ns))
		return time.Time{}
	}
	return time.Unix(d.varint(what), int64(ns)).UTC()
}

// table reads a table whose values sit at depth (see appendValue). Errors inside a field are
// prefixed with the field's name, and with what unless it is empty.
func (d *decoder) table(what string, depth int) Table {
	// Each field takes at least 2 bytes: an empty name and a tag.
	n, isNil := d.nilLen(what, 2)
	if isNil {
		return nil
	}
	t := make(Table, n)
	for range n {
		k := d.str("field name")
		if d.err == nil {
			t[k] = d.value(depth)
			if d.err != nil {
				d.err = fmt.Errorf("field %q: %w", k, d.err)
			}
		}
		if d.err != nil {
			if what != "" {
				d.err = fmt.Errorf("%s: %w", what, d.err)
			}
			return nil
		}
	}
	return t
}

// value reads one tagged value at depth, refusing what validateValue would.
func (d *decoder) value(depth int) any {
	if depth > maxTableDepth {
		d.fail("", fmt.Errorf("nested deeper than %d", maxTableDepth))
		return nil
	}
	tag := d.u8("type tag")
	switch tag {
	case tagVoid:
		return nil
	case tagBool:
		c := d.u8("bool")
		if c > 1 {
			d.fail("bool", fmt.Errorf("byte %d is neither 0 nor 1", c))
		}
		return c == 1
	case tagInt8:
		return int8(d.u8("int8"))
	case tagUint8:
		return d.u8("uint8")
	case tagInt16:
		return int16(d.sint("int16", 16))
	case tagUint16:
		return uint16(d.uint("uint16", 16))
	case tagInt32:
		return int32(d.sint("int32", 32))
	case tagUint32:
		return uint32(d.uint("uint32", 32))
	case tagInt64:
		return d.varint("int64")
	case tagFloat32:
		return math.Float32frombits(binary.LittleEndian.Uint32(d.fixed("float32", 4)))
	case tagFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(d.fixed("float64", 8)))
	case tagDecimal:
		scale := d.u8("decimal")
		return Decimal{Scale: scale, Value: int32(d.sint("decimal", 32))}
	case tagString:
		return d.str("string")
	case tagBytes:
		return d.bytes("byte array")
	case tagTime:
		return d.time("timestamp")
	case tagTable:
		return d.table("", depth+1)
	case tagArray:
		// Each element takes at least its tag byte.
		n, isNil := d.nilLen("array", 1)
		if isNil {
			return []any(nil)
		}
		a := make([]any, n)
		for i := range a {
			a[i] = d.value(depth + 1)
			if d.err != nil {
				d.err = fmt.Errorf("[%d]: %w", i, d.err)
				return nil
			}
		}
		return a
	}
	if d.err == nil {
		d.fail("", fmt.Errorf("unknown type tag 0x%02x", tag))
	}
	return nil
}

// sint reads a varint that must fit in a signed integer of the given width.
func (d *decoder) sint(what string, bits uint) int64 {
	v := d.varint(what)
	if v<<(64-bits)>>(64-bits) != v {
		d.fail(what, fmt.Errorf("value %d out of range", v))
	}
	return v
}

// uint reads a uvarint that must fit in an unsigned integer of the given width.
func (d *decoder) uint(what string, bits uint) uint64 {
	v := d.uvarint(what)
	if v>>bits != 0 {
		d.fail(what, fmt.Errorf("value %d out of range", v))
	}
	return v
}
