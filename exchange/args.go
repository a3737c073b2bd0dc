package exchange

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Kind is an exchange type.
type Kind string

// The exchange types of AMQP 0-9-1 that RabbitMQ ships.
const (
	Direct  Kind = "direct"
	Fanout  Kind = "fanout"
	Topic   Kind = "topic"
	Headers Kind = "headers"
)

// Overflow is the x-overflow behaviour of a queue at its length limit (A34, A35).
type Overflow string

// The x-overflow values.
const (
	DropHead          Overflow = "drop-head"
	RejectPublish     Overflow = "reject-publish"
	RejectPublishDLX  Overflow = "reject-publish-dlx"
	defaultQuorumDLim          = 20
)

// ExchangeOptions are the flags and arguments of exchange.declare.
type ExchangeOptions struct {
	Durable    bool
	AutoDelete bool // deleted when its last binding as a source goes (A10)
	Internal   bool // cannot be published to directly, only through exchange bindings
	// Passive only checks that the exchange exists (ErrNotFound otherwise) and changes nothing.
	Passive bool
	// AlternateExchange receives what this exchange cannot route (A13); the same as the
	// "alternate-exchange" argument.
	AlternateExchange string
	Args              Table
}

// QueueOptions are the flags and arguments of queue.declare. The typed fields are the x-
// arguments of RabbitMQ, one to one, and are merged into Args (giving both with different
// values is ErrPreconditionFailed). A typed field at its zero value is not set; arguments
// whose zero value means something (a TTL of 0, the default exchange "" as dead-letter
// exchange) are given in Args.
type QueueOptions struct {
	Durable    bool
	Exclusive  bool // usable only by the declaring session, deleted when it closes (A22)
	AutoDelete bool // deleted when its last consumer goes (A23)
	// Passive only checks that the queue exists (ErrNotFound otherwise) and changes nothing.
	Passive bool

	MessageTTL           time.Duration // x-message-ttl, whole milliseconds (A27)
	Expires              time.Duration // x-expires: deleted after being unused this long (A32)
	MaxLength            int           // x-max-length, ready messages (A33)
	MaxLengthBytes       int64         // x-max-length-bytes, ready body bytes (A33)
	Overflow             Overflow      // x-overflow, default DropHead (A34, A35)
	DeadLetterExchange   string        // x-dead-letter-exchange (A40)
	DeadLetterRoutingKey string        // x-dead-letter-routing-key (A41)
	MaxPriority          uint8         // x-max-priority, 1–255 (A36)
	SingleActiveConsumer bool          // x-single-active-consumer (A37)
	DeliveryLimit        int           // x-delivery-limit, quorum queues only (A38); default 20
	QueueType            string        // x-queue-type: "classic" (default) or "quorum"

	Args Table
}

// args returns the options' arguments as one AMQP table.
func (o *QueueOptions) args() (Table, error) {
	if err := o.Args.Validate(); err != nil {
		return nil, err
	}
	t := o.Args.clone()
	if t == nil {
		t = Table{}
	}
	set := func(key string, v any) error {
		if old, ok := t[key]; ok && !valuesEqual(old, v) {
			return fmt.Errorf("%w: %s given as %v in Args and %v in QueueOptions", ErrPreconditionFailed, key, old, v)
		}
		t[key] = v
		return nil
	}
	var errs []error
	if o.MessageTTL != 0 {
		errs = append(errs, set("x-message-ttl", o.MessageTTL.Milliseconds()))
	}
	if o.Expires != 0 {
		errs = append(errs, set("x-expires", o.Expires.Milliseconds()))
	}
	if o.MaxLength != 0 {
		errs = append(errs, set("x-max-length", int64(o.MaxLength)))
	}
	if o.MaxLengthBytes != 0 {
		errs = append(errs, set("x-max-length-bytes", o.MaxLengthBytes))
	}
	if o.Overflow != "" {
		errs = append(errs, set("x-overflow", string(o.Overflow)))
	}
	if o.DeadLetterExchange != "" {
		errs = append(errs, set("x-dead-letter-exchange", o.DeadLetterExchange))
	}
	if o.DeadLetterRoutingKey != "" {
		errs = append(errs, set("x-dead-letter-routing-key", o.DeadLetterRoutingKey))
	}
	if o.MaxPriority != 0 {
		errs = append(errs, set("x-max-priority", int64(o.MaxPriority)))
	}
	if o.SingleActiveConsumer {
		errs = append(errs, set("x-single-active-consumer", true))
	}
	if o.DeliveryLimit != 0 {
		errs = append(errs, set("x-delivery-limit", int64(o.DeliveryLimit)))
	}
	if o.QueueType != "" {
		errs = append(errs, set("x-queue-type", o.QueueType))
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// queueConfig is a queue's arguments decoded. -1 means "not set" for the numbers.
type queueConfig struct {
	messageTTL     int64 // ms
	expires        int64 // ms
	maxLength      int64
	maxLengthBytes int64
	overflow       Overflow
	hasDLX         bool
	dlx            string
	hasDLRK        bool
	dlrk           string
	maxPriority    int // 0 = not a priority queue
	singleActive   bool
	deliveryLimit  int64
	quorum         bool
}

// knownQueueArgs are the arguments RabbitMQ checks for equivalence on redeclaration (A20);
// other x- arguments are kept and ignored.
var knownQueueArgs = []string{
	"x-message-ttl", "x-expires", "x-max-length", "x-max-length-bytes", "x-overflow",
	"x-dead-letter-exchange", "x-dead-letter-routing-key", "x-max-priority",
	"x-single-active-consumer", "x-delivery-limit", "x-queue-type",
}

// parseQueueArgs decodes and checks the known arguments of queue name. A known argument of
// the wrong type or out of range is ErrPreconditionFailed with RabbitMQ's "invalid arg" text,
// whose reason is the Erlang term rabbit_amqqueue's checks return ({value_negative,-1}).
func parseQueueArgs(name string, t Table) (queueConfig, error) {
	c := queueConfig{messageTTL: -1, expires: -1, maxLength: -1, maxLengthBytes: -1,
		overflow: DropHead, deliveryLimit: -1}
	invalid := func(key string, reason string) error {
		return fmt.Errorf("%w: invalid arg '%s' for queue '%s': %s", ErrPreconditionFailed, key, name, reason)
	}
	unacceptable := func(key string, v any) error {
		return invalid(key, "{unacceptable_type,"+fieldType(v)+"}")
	}
	intArg := func(key string, min int64, dst *int64) error {
		v, ok := t[key]
		if !ok {
			return nil
		}
		n, ok := asInt64(v)
		if !ok {
			return invalid(key, `"expected integer, got `+fieldType(v)+`"`)
		}
		switch {
		case n < 0 && n < min:
			return invalid(key, fmt.Sprintf("{value_negative,%d}", n))
		case n < min:
			return invalid(key, fmt.Sprintf("{value_zero,%d}", n))
		}
		*dst = n
		return nil
	}
	strArg := func(key string, has *bool, dst *string) error {
		v, ok := t[key]
		if !ok {
			return nil
		}
		s, ok := asString(v)
		if !ok {
			return unacceptable(key, v)
		}
		*has, *dst = true, s
		return nil
	}
	var has bool
	var overflow, qtype string
	var prio int64 = -1
	for _, err := range []error{
		intArg("x-message-ttl", 0, &c.messageTTL),
		intArg("x-expires", 1, &c.expires),
		intArg("x-max-length", 0, &c.maxLength),
		intArg("x-max-length-bytes", 0, &c.maxLengthBytes),
		intArg("x-max-priority", 0, &prio),
		intArg("x-delivery-limit", -1, &c.deliveryLimit),
		strArg("x-dead-letter-exchange", &c.hasDLX, &c.dlx),
		strArg("x-dead-letter-routing-key", &c.hasDLRK, &c.dlrk),
		strArg("x-overflow", &has, &overflow),
		strArg("x-queue-type", &has, &qtype),
	} {
		if err != nil {
			return c, err
		}
	}
	if prio > 255 {
		return c, invalid("x-max-priority", fmt.Sprintf("{max_value_exceeded,%d}", prio))
	}
	if prio > 0 {
		c.maxPriority = int(prio)
	}
	switch Overflow(overflow) {
	case "":
	case DropHead, RejectPublish, RejectPublishDLX:
		c.overflow = Overflow(overflow)
	default:
		return c, invalid("x-overflow", "invalid_overflow")
	}
	if v, ok := t["x-single-active-consumer"]; ok {
		b, ok := v.(bool)
		if !ok {
			return c, unacceptable("x-single-active-consumer", v)
		}
		c.singleActive = b
	}
	switch qtype {
	case "", "classic":
	case "quorum":
		c.quorum = true
		if c.deliveryLimit == -1 {
			if _, set := t["x-delivery-limit"]; !set {
				c.deliveryLimit = defaultQuorumDLim
			}
		}
		if c.overflow == RejectPublishDLX {
			return c, invalid("x-overflow", "quorum queues do not support reject-publish-dlx")
		}
	default:
		return c, invalid("x-queue-type", "{unsupported_queue_type,"+strconv.Quote(qtype)+"}")
	}
	if !c.quorum {
		c.deliveryLimit = -1 // x-delivery-limit is a quorum queue argument; classic queues ignore it
	}
	if c.hasDLRK && !c.hasDLX {
		return c, invalid("x-dead-letter-routing-key", "routing_key_but_no_dlx_defined")
	}
	return c, nil
}

// parseExpiration decodes the expiration property: a decimal string of milliseconds (A28).
// It returns -1 for none.
func parseExpiration(s string) (int64, error) {
	if s == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 { // a leading + is fine: RabbitMQ reads it with string:to_integer
		return 0, fmt.Errorf("%w: invalid expiration %q: not a non-negative integer of milliseconds", ErrPreconditionFailed, s)
	}
	return n, nil
}

// maxNameLen is the longest exchange or queue name: an AMQP shortstr (A25).
const maxNameLen = 255

// checkName validates an exchange or queue name for declaration: at most 255 bytes of UTF-8.
func checkName(what, name string) error {
	if len(name) > maxNameLen {
		return checkShort(what+" name", name)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", ErrPreconditionFailed, what, name)
	}
	return nil
}
