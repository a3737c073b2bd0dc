package exchange

import (
	"fmt"
	"time"
)

// The limits below are those of the AMQP 0-9-1 wire and of RabbitMQ; the checks run before a
// call touches anything, so a refused call changes nothing (besides closing its session, as
// the matching AMQP channel error closes the channel).
const (
	// MaxShortString is the longest AMQP short string in bytes: exchange and queue names,
	// routing and binding keys, consumer tags, table field names and the string properties
	// of a [Publishing]. Longer ones cannot be put on the wire (amqp091-go's writeShortstr
	// refuses them); tribus refuses them with [ErrSyntaxError].
	MaxShortString = 255

	// MaxPrefetch is the largest prefetch count: basic.qos carries it as a 16-bit integer.
	MaxPrefetch = 65535

	// DefaultMaxMessageSize is [Options.MaxMessageSize] when it is 0: 16 MiB, RabbitMQ 4.x's
	// default max_message_size.
	DefaultMaxMessageSize = 16 << 20

	// MaxMessageSizeLimit is the largest [Options.MaxMessageSize] New accepts: 512 MiB,
	// RabbitMQ's hard limit (rabbit.schema's max_message_size validator refuses more).
	MaxMessageSizeLimit = 512 << 20

	// MaxTableFields bounds the fields of one table (headers or arguments), counting every
	// value of nested tables and arrays. A table of that many fields could not even be sent
	// to a RabbitMQ with its default frame_max of 128 KiB, which a method or content header
	// must fit in; the bound keeps a hostile table from costing unbounded time to check.
	MaxTableFields = 1 << 16

	// MaxTableDepth bounds the nesting of tables and arrays in a table, so a cyclic or absurd
	// table is an error and not a stack overflow.
	MaxTableDepth = maxTableDepth

	// maxExpiryMs is RabbitMQ's largest TTL, x-expires and per-message expiration: ten years
	// in milliseconds (rabbit_misc:check_expiry).
	maxExpiryMs = 315_360_000_000
)

// maxMessageSize resolves Options.MaxMessageSize.
func maxMessageSize(n int64) (int64, error) {
	switch {
	case n == 0:
		return DefaultMaxMessageSize, nil
	case n < 0 || n > MaxMessageSizeLimit:
		return 0, fmt.Errorf("%w: MaxMessageSize %d, want 0 (default %d) up to %d",
			ErrInvalidOptions, n, DefaultMaxMessageSize, MaxMessageSizeLimit)
	}
	return n, nil
}

// checkShort refuses a string the AMQP wire can only carry as a short string when it is
// longer than one.
func checkShort(what, s string) error {
	if len(s) > MaxShortString {
		return fmt.Errorf("%w: %s is %d bytes, an AMQP short string holds at most %d",
			ErrSyntaxError, what, len(s), MaxShortString)
	}
	return nil
}

func checkShorts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkShort(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// checkPublish checks a basic.publish before it is routed: the short strings, the body size
// against MaxMessageSize (RabbitMQ's check_msg_size: 406 "message size N is larger than
// configured max size M"), the headers table and the expiration's range.
func (r *Router) checkPublish(exName, key string, msg *Publishing) error {
	if err := checkShorts("exchange name", exName, "routing key", key,
		"content-type", msg.ContentType, "content-encoding", msg.ContentEncoding,
		"correlation-id", msg.CorrelationID, "reply-to", msg.ReplyTo, "expiration", msg.Expiration,
		"message-id", msg.MessageID, "type", msg.Type, "user-id", msg.UserID, "app-id", msg.AppID,
		"cluster-id", msg.ClusterID); err != nil {
		return err
	}
	if n := int64(len(msg.Body)); n > r.maxMsg {
		return fmt.Errorf("%w: message size %d is larger than configured max size %d", ErrMessageTooLarge, n, r.maxMsg)
	}
	if err := checkTable("headers", msg.Headers, r.maxMsg); err != nil {
		return err
	}
	if msg.Expiration != "" {
		ttl, err := parseExpiration(msg.Expiration)
		if err != nil {
			return err
		}
		if ttl > maxExpiryMs {
			return fmt.Errorf("%w: invalid expiration %q: value_too_large, at most %d ms",
				ErrPreconditionFailed, msg.Expiration, int64(maxExpiryMs))
		}
	}
	return nil
}

// checkPublish is the router's checkPublish, then the user-id property against the connection's
// user (A64), for Session.Publish and Publisher.Publish alike. A ReplyTo of [ReplyToQueue] is
// rewritten to the address of the session's reply consumer.
func (s *Session) checkPublish(exName, key string, msg *Publishing) error {
	if err := s.r.checkPublish(exName, key, msg); err != nil {
		return err
	}
	if msg.UserID != "" && msg.UserID != s.conn.user {
		return fmt.Errorf("%w: user_id property set to '%s' but authenticated user was '%s'",
			ErrPreconditionFailed, msg.UserID, s.conn.user) // A64
	}
	if msg.ReplyTo == ReplyToQueue {
		addr, err := s.replyAddress()
		if err != nil {
			return err
		}
		msg.ReplyTo = addr
	}
	return nil
}

// checkBind checks queue.bind, exchange.bind and their unbinds.
func (r *Router) checkBind(src, dst, key string, args Table) error {
	if err := checkShorts("source exchange name", src, "destination name", dst, "binding key", key); err != nil {
		return err
	}
	return checkTable("binding arguments", args, r.maxMsg)
}

// checkConsume checks basic.consume: queue name, consumer tag, prefetch and arguments. Any
// consumer tag of at most 255 bytes is accepted, as RabbitMQ takes a client's tag as given,
// amq.ctag- prefix and non-UTF-8 bytes included (rabbit_channel's basic.consume handler).
func (r *Router) checkConsume(queue string, o *ConsumeOptions) error {
	if err := checkShorts("queue name", queue, "consumer tag", o.Tag); err != nil {
		return err
	}
	if err := checkPrefetch(o.Prefetch); err != nil {
		return err
	}
	return checkTable("consumer arguments", o.Args, r.maxMsg)
}

// checkPrefetch refuses a prefetch count basic.qos cannot carry.
func checkPrefetch(n int) error {
	if n > MaxPrefetch {
		return fmt.Errorf("%w: prefetch count %d does not fit basic.qos's 16 bits (at most %d)",
			ErrSyntaxError, n, MaxPrefetch)
	}
	return nil
}

// checkQueueArgs checks what parseQueueArgs does not: the table's limits and the upper bound
// RabbitMQ puts on x-message-ttl and x-expires (rabbit_misc:check_expiry, ten years).
func (r *Router) checkQueueArgs(args Table) error {
	if err := checkTable("queue arguments", args, r.maxMsg); err != nil {
		return err
	}
	for _, key := range [...]string{"x-message-ttl", "x-expires"} {
		if n, ok := asInt64(args[key]); ok && n > maxExpiryMs {
			return fmt.Errorf("%w: invalid arg '%s' (%d): value_too_large, at most %d ms",
				ErrPreconditionFailed, key, n, int64(maxExpiryMs))
		}
	}
	return nil
}

// checkTable checks a field table against the wire and the limits: field names are short
// strings, at most MaxTableFields values, MaxTableDepth levels, and an AMQP encoding of at
// most limit bytes. Unsupported value types are left to [Table.Validate].
func checkTable(what string, t Table, limit int64) error {
	if len(t) == 0 {
		return nil
	}
	w := tableWalk{what: what, limit: limit}
	return w.table(t, 0)
}

type tableWalk struct {
	what   string
	fields int
	size   int64 // the AMQP encoding's bytes so far
	limit  int64
}

func (w *tableWalk) table(t Table, depth int) error {
	w.size += 4
	for k, v := range t {
		if err := checkShort(w.what+" field name", k); err != nil {
			return err
		}
		w.size += 1 + int64(len(k))
		if err := w.value(v, depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *tableWalk) value(v any, depth int) error {
	if depth > MaxTableDepth {
		return fmt.Errorf("%w: %s nested deeper than %d", ErrTableTooLarge, w.what, MaxTableDepth)
	}
	if w.fields++; w.fields > MaxTableFields {
		return fmt.Errorf("%w: %s hold more than %d fields", ErrTableTooLarge, w.what, MaxTableFields)
	}
	w.size++ // the type octet
	switch x := v.(type) {
	case bool, int8, uint8:
		w.size++
	case int16, uint16:
		w.size += 2
	case int32, uint32, float32:
		w.size += 4
	case int64, int, float64, time.Time:
		w.size += 8
	case Decimal:
		w.size += 5
	case string:
		w.size += 4 + int64(len(x))
	case []byte:
		w.size += 4 + int64(len(x))
	case Table:
		if err := w.table(x, depth+1); err != nil {
			return err
		}
	case []any:
		w.size += 4
		for _, e := range x {
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
	}
	if w.size > w.limit {
		return fmt.Errorf("%w: %s encode to more than %d bytes (MaxMessageSize)", ErrTableTooLarge, w.what, w.limit)
	}
	return nil
}
