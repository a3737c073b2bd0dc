package proto

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/tribusmq/tribus/exchange"
)

// The primitive types of AMQP 0-9-1 (spec section 4.2.5): integers are big-endian, a short
// string is a length octet and at most 255 bytes, a long string a uint32 length and bytes.
// Encoding appends to the caller's slice; decoding reads through a decoder, whose first
// failure sticks, so that a method's decode reads straight through its fields and checks once.

// MaxShortString is the longest short string in bytes.
const MaxShortString = exchange.MaxShortString

func appendUint16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// appendShortstr appends s as a short string. A string over MaxShortString bytes is a bug in
// the caller, which this package cannot report through an append: it panics rather than cut
// a name short or write a frame the peer would misread.
func appendShortstr(b []byte, s string) []byte {
	if len(s) > MaxShortString {
		panic(fmt.Sprintf("tribus/amqp: short string of %d bytes, at most %d fit", len(s), MaxShortString))
	}
	return append(append(b, byte(len(s))), s...)
}

func appendLongstr(b []byte, s string) []byte {
	return append(appendUint32(b, uint32(len(s))), s...)
}

// bit returns v as the n-th bit of an octet: consecutive bit arguments share one octet,
// the first in the lowest bit.
func bit(v bool, n uint) byte {
	if v {
		return 1 << n
	}
	return 0
}

// ShortText returns s as it fits a short string: unchanged up to [MaxShortString] bytes,
// else cut at a UTF-8 boundary to leave room for "...", which ends it, as RabbitMQ cuts a long
// reply-text. It is for free text, never for names: a name that does not fit is refused, not
// shortened.
func ShortText(s string) string {
	if len(s) <= MaxShortString {
		return s
	}
	n := MaxShortString - len("...")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// decoder reads AMQP fields from the front of b. After the first failure err is set and
// every read returns a zero value, so that no read ever indexes out of range.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

// take returns the next n bytes, or nil and a failure when fewer remain. It runs before any
// allocation sized by a length prefix, so a prefix larger than the input costs nothing.
func (d *decoder) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(syntaxError("%s needs %d bytes, %d left", what, n, len(d.b)))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.take(1, "octet"); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if v := d.take(2, "short"); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4, "long"); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8, "longlong"); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// shortstr reads a short string argument of a method without content and checks that it is
// UTF-8, as RabbitMQ's generated decoders do (rabbit_binary_parser:assert_utf8).
func (d *decoder) shortstr() string { return string(d.checkedShortBytes()) }

func (d *decoder) checkedShortBytes() []byte {
	v := d.shortBytes()
	if d.err == nil && !utf8.Valid(v) {
		d.fail(syntaxError("malformed UTF-8 in shortstr"))
		return nil
	}
	return v
}

// anyShortstr reads a short string without the UTF-8 check: RabbitMQ skips it on
// content-bearing methods for speed and never makes it on properties and field names.
func (d *decoder) anyShortstr() string { return string(d.shortBytes()) }

func (d *decoder) shortBytes() []byte {
	n := d.u8()
	return d.take(uint64(n), "shortstr")
}

func (d *decoder) longstr() string {
	n := d.u32()
	return string(d.take(uint64(n), "longstr"))
}

// skipShortstr and skipLongstr read a reserved argument and drop it.
func (d *decoder) skipShortstr() { d.checkedShortBytes() }
func (d *decoder) skipLongstr()  { d.take(uint64(d.u32()), "longstr") }

// end returns the first failure, or a failure if bytes are left over: RabbitMQ matches a
// method's arguments against the whole payload and refuses both.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail(syntaxError("%d bytes after the last argument", len(d.b)))
	}
	return d.err
}
