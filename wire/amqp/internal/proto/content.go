package proto

import (
	"fmt"
	"time"

	"github.com/tribusmq/tribus/exchange"
)

// A content header (spec section 4.2.6.1) is class-id, weight (always 0), body size and the
// property flags, then the properties that are present. The flags' bits run from 15 down,
// in the order of the basic class's properties.
const (
	flagContentType     = 1 << 15
	flagContentEncoding = 1 << 14
	flagHeaders         = 1 << 13
	flagDeliveryMode    = 1 << 12
	flagPriority        = 1 << 11
	flagCorrelationID   = 1 << 10
	flagReplyTo         = 1 << 9
	flagExpiration      = 1 << 8
	flagMessageID       = 1 << 7
	flagTimestamp       = 1 << 6
	flagType            = 1 << 5
	flagUserID          = 1 << 4
	flagAppID           = 1 << 3
	flagClusterID       = 1 << 2
)

// AppendContent appends a content header frame for p and body, then body in body frames of
// at most frameMax bytes each, framing included. frameMax 0 puts the body in one frame; an
// empty body has no body frame, as RabbitMQ sends it. (A negotiated frame-max is at least
// [FrameMinSize]; one of 8 or less, which leaves no room, is taken as 9.) The header frame is not split, so its
// properties must fit the frame-max. A nil p has no properties. classID is the method's
// class, [ClassBasic] in AMQP 0-9-1, whose properties are the only ones there are.
//
// A property is present on the wire when it is set in p: a string property when not empty,
// DeliveryMode and Priority when not 0, Timestamp when not the zero time, Headers when not
// nil. It allocates nothing beyond b's growth, and panics on properties the wire cannot
// carry (see [AppendTable] and [MaxShortString]), which the engine's checks exclude.
func AppendContent(b []byte, channel uint16, classID uint16, p *exchange.Publishing, body []byte, frameMax uint32) []byte {
	b, start := startFrame(b, FrameHeader, channel)
	b = appendUint16(b, classID)
	b = appendUint16(b, 0) // weight
	b = appendUint64(b, uint64(len(body)))
	b = appendProperties(b, p)
	b = endFrame(b, start)
	chunk := len(body)
	if frameMax != 0 {
		room := uint64(max(frameMax, frameOverhead+1) - frameOverhead)
		chunk = int(min(room, uint64(len(body))))
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		b = AppendFrame(b, FrameBody, channel, body[:n])
		body = body[n:]
	}
	return b
}

func appendProperties(b []byte, p *exchange.Publishing) []byte {
	if p == nil {
		return appendUint16(b, 0)
	}
	var flags uint16
	set := func(present bool, flag uint16) {
		if present {
			flags |= flag
		}
	}
	set(p.ContentType != "", flagContentType)
	set(p.ContentEncoding != "", flagContentEncoding)
	set(p.Headers != nil, flagHeaders)
	set(p.DeliveryMode != 0, flagDeliveryMode)
	set(p.Priority != 0, flagPriority)
	set(p.CorrelationID != "", flagCorrelationID)
	set(p.ReplyTo != "", flagReplyTo)
	set(p.Expiration != "", flagExpiration)
	set(p.MessageID != "", flagMessageID)
	set(!p.Timestamp.IsZero(), flagTimestamp)
	set(p.Type != "", flagType)
	set(p.UserID != "", flagUserID)
	set(p.AppID != "", flagAppID)
	set(p.ClusterID != "", flagClusterID)
	b = appendUint16(b, flags)

	short := func(flag uint16, s string) {
		if flags&flag != 0 {
			b = appendShortstr(b, s)
		}
	}
	short(flagContentType, p.ContentType)
	short(flagContentEncoding, p.ContentEncoding)
	if flags&flagHeaders != 0 {
		b = AppendTable(b, p.Headers)
	}
	if flags&flagDeliveryMode != 0 {
		b = append(b, p.DeliveryMode)
	}
	if flags&flagPriority != 0 {
		b = append(b, p.Priority)
	}
	short(flagCorrelationID, p.CorrelationID)
	short(flagReplyTo, p.ReplyTo)
	short(flagExpiration, p.Expiration)
	short(flagMessageID, p.MessageID)
	if flags&flagTimestamp != 0 {
		b = appendUint64(b, uint64(p.Timestamp.Unix()))
	}
	short(flagType, p.Type)
	short(flagUserID, p.UserID)
	short(flagAppID, p.AppID)
	short(flagClusterID, p.ClusterID)
	return b
}

// DecodeHeader decodes the payload of a content header frame into p, which must not be nil,
// and returns the header's class id and body size. It sets every property of p, to its zero
// value when absent, and leaves p.Body alone; strings and the headers table are copies, not
// sharing memory with payload. A timestamp is in UTC.
//
// The properties are read as the basic class's whatever classID says: a server checks that
// classID is its method's (RabbitMQ answers a mismatch with 505 UNEXPECTED_FRAME). Like
// RabbitMQ it ignores the two lowest flag bits, so it never reads a second flags word, and
// like amqp091-go it ignores bytes after the last property, which some peers pad with. It
// returns an error wrapping [ErrUnexpectedFrame] for a weight other than 0, and one wrapping
// [ErrSyntax] for a header that does not decode, after which p's properties are unspecified.
// bodySize is not checked against anything.
func DecodeHeader(payload []byte, p *exchange.Publishing) (classID uint16, bodySize uint64, err error) {
	d := decoder{b: payload}
	classID = d.u16()
	weight := d.u16()
	bodySize = d.u64()
	flags := d.u16()
	if d.err != nil {
		return 0, 0, syntaxError("content header of %d bytes", len(payload))
	}
	if weight != 0 {
		return 0, 0, fmt.Errorf("%w: content header of weight %d", ErrUnexpectedFrame, weight)
	}
	short := func(flag uint16) string {
		if flags&flag == 0 {
			return ""
		}
		return d.anyShortstr()
	}
	octet := func(flag uint16) uint8 {
		if flags&flag == 0 {
			return 0
		}
		return d.u8()
	}
	p.ContentType = short(flagContentType)
	p.ContentEncoding = short(flagContentEncoding)
	p.Headers = nil
	if flags&flagHeaders != 0 {
		p.Headers = d.table(0)
	}
	p.DeliveryMode = octet(flagDeliveryMode)
	p.Priority = octet(flagPriority)
	p.CorrelationID = short(flagCorrelationID)
	p.ReplyTo = short(flagReplyTo)
	p.Expiration = short(flagExpiration)
	p.MessageID = short(flagMessageID)
	p.Timestamp = time.Time{}
	if flags&flagTimestamp != 0 {
		p.Timestamp = timestamp(d.u64())
	}
	p.Type = short(flagType)
	p.UserID = short(flagUserID)
	p.AppID = short(flagAppID)
	p.ClusterID = short(flagClusterID)
	if d.err != nil {
		return 0, 0, d.err
	}
	return classID, bodySize, nil
}
