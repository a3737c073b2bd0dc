package exchange

import (
	"time"

	"github.com/tribusmq/tribus/internal/settle"
)

// Delivery modes of [Publishing.DeliveryMode].
const (
	Transient  uint8 = 1
	Persistent uint8 = 2
)

// Publishing is a message as a publisher sends it: the 14 basic properties of AMQP 0-9-1 and
// the body. The router passes every property through unchanged (A63), except that it removes
// the BCC header before delivery (A12) and edits headers and expiration when dead-lettering
// (A43, A44).
//
// The router keeps the Headers table and Body as given, shared by every queue the message
// reaches: do not modify them after publishing, nor those of a delivery you received.
type Publishing struct {
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8 // Transient (or 0) or Persistent
	Priority        uint8 // 0–9 by convention; used by queues with x-max-priority (A36)
	CorrelationID   string
	ReplyTo         string
	// Expiration is a per-message TTL in milliseconds, as a decimal string (A28). An
	// expiration that is not a non-negative integer is refused with ErrPreconditionFailed.
	Expiration string
	MessageID  string
	Timestamp  time.Time // whole seconds on the wire
	Type       string
	UserID     string
	AppID      string
	ClusterID  string // reserved by AMQP 0-9-1; passed through
	Body       []byte
}

// Delivery is one message handed to a consumer or fetched with Get: the publishing and the
// delivery metadata of A63. The Publishing is shared by every delivery of the same message and
// must be treated as read-only. Unless it was delivered with auto-ack, it must be settled once with
// Ack, Nack or Reject; settling it twice is ErrPreconditionFailed ("unknown delivery tag"),
// which also satisfies errors.Is(err, tribus.ErrAlreadySettled), and closes its session (A49).
type Delivery struct {
	*Publishing
	DeliveryTag uint64 // per session, from 1 (A47)
	Redelivered bool
	Exchange    string // the exchange it was published to ("" for the default exchange)
	RoutingKey  string
	ConsumerTag string // "" for a message fetched with Get
	// MessageCount is, for Get, the number of ready messages left in the queue after this one
	// (A24); 0 for pushed deliveries.
	MessageCount int

	session *Session // nil for auto-ack deliveries
	once    settle.Once
	pend    pending // what its session tracks while it is unacked
	// held is the bytes an auto-ack delivery still counts against the memory high watermark
	// while it waits in its consumer's buffer; guarded by the consumer's mu.
	held int64
	// visibleAt, if set, is when a delivery delayed by Faults.DeliveryDelay may be handed out;
	// written before the delivery is pushed, read by its consumer's Next.
	visibleAt time.Time
}

// Ack acknowledges the delivery: the queue forgets the message.
func (d *Delivery) Ack() error { return d.settle(settleAck, false) }

// Nack rejects the delivery. With requeue the message goes back to its original position in the
// queue, redelivered (A50); without, it is dead-lettered (reason "rejected") if the queue has a
// dead-letter exchange, else discarded.
func (d *Delivery) Nack(requeue bool) error { return d.settle(settleNack, requeue) }

// Reject is basic.reject: the same as Nack for one message, except that on a queue with a
// delivery limit it counts as a failed delivery and Nack does not (A39, RabbitMQ 4.3).
func (d *Delivery) Reject(requeue bool) error { return d.settle(settleReject, requeue) }

func (d *Delivery) settle(op settleOp, requeue bool) error {
	if d.session == nil {
		// Auto-ack deliveries have nothing to settle; settling one is an unknown tag.
		return unknownTag(d.DeliveryTag)
	}
	if d.once.Settled() {
		d.session.fail(unknownTag(d.DeliveryTag))
		return unknownTag(d.DeliveryTag)
	}
	return d.session.settle(d.DeliveryTag, false, op, requeue)
}

// content is what every queue a message reaches shares: the publishing as routed and where it
// was published to.
type content struct {
	pub        Publishing
	exchange   string
	routingKey string
	size       int64 // body bytes, what x-max-length-bytes counts (A33)
	cost       int64 // estimated bytes it holds, for the memory high watermark (alarm.go)
	// ttl is the per-message expiration in ms, or -1 without one.
	ttl int64
	// bcc are the BCC keys, removed from the headers but still used to route a dead-lettered
	// copy that has no dead-letter routing key (§1.3b).
	bcc []string
	// deaths is the x-death history, newest first (§1.4).
	deaths []death
}
