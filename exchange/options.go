package exchange

import (
	"log/slog"
	"time"

	"github.com/tribusmq/tribus/store"
)

// Options configures a [Router]. The zero value (and nil) is valid.
type Options struct {
	// Observer, if set, is called synchronously for every lifecycle event; see [Event]. It
	// must be quick and must not call back into the Router: it may run with the Router's or a
	// queue's lock held. nil costs nothing.
	//
	// Every change to what [Router.QueueInfo] reports of a queue (its existence, Ready,
	// Unacked, Consumers, and the counters Published, Delivered, Acked, Redelivered,
	// DeadLettered and Dropped) is followed by at least one event naming the queue in
	// Event.Queue, emitted once the change is visible: a QueueInfo call that starts after
	// the observer has returned sees it. So an observer that wakes another goroutine,
	// which then re-reads QueueInfo, never misses a state it waits for: wait for a
	// condition by reading QueueInfo, and on every event (not only of one kind) read it
	// again.
	Observer func(Event)
	// Seed, if not 0, chooses where each queue's round-robin among its consumers starts (A57),
	// from the seed and the queue's name, instead of at its first consumer: the same seed
	// gives the same delivery order in every run, another seed another. A test that explores
	// delivery orders varies it (tribustest.Explore does). 0 starts at the first consumer.
	// A seed also makes the names the router generates (amq.ctag- consumer tags, amq.gen-
	// queues, reply-to queues) follow from it and their order of creation, so that a seeded
	// run's trace repeats exactly; 0 draws them at random.
	Seed uint64
	// Faults, if set, are the hooks a test toolkit injects failures through (package
	// tribustest uses them); see [Faults]. nil costs one nil check per publish and settle.
	Faults *Faults
	// Store, if set, keeps durable exchanges, queues and bindings and the persistent messages
	// of durable queues (RabbitMQ's rules: delivery mode 2 into a durable queue), and New
	// restores them. nil keeps everything in memory. The caller closes the store, after the
	// Router.
	Store *store.Store
	// MemoryBudget bounds the memory the persistent messages of durable queues take: each
	// whose content is in memory counts its body plus 512 bytes, each paged out its index
	// entry (64 bytes). Beyond it, newly stored messages keep only the index entry in memory
	// and their content is read back from the store when delivered, like RabbitMQ's classic
	// queues v2; a backlog longer than the budget's worth of index entries (about 2 million
	// messages for 128 MiB) goes over it by 64 bytes a message. 0 means DefaultMemoryBudget;
	// negative means no limit. Ignored without a Store.
	MemoryBudget int64
	// MaxMessageSize bounds a published body in bytes, like RabbitMQ's max_message_size: a
	// larger one is refused with ErrMessageTooLarge (406) and closes the session. It also
	// bounds the AMQP encoding of a headers or arguments table. 0 means
	// DefaultMaxMessageSize (16 MiB); New refuses a negative value or one over
	// MaxMessageSizeLimit (512 MiB) with ErrInvalidOptions.
	MaxMessageSize int64
	// MemoryHighWatermark bounds the bytes held by queued messages, transient and persistent,
	// ready and unacked: bodies, properties and headers plus about 256 bytes a message, a
	// paged-out message counting only those 256 bytes (see [Router.Alarms]). Over it the
	// memory alarm is on, as with RabbitMQ's vm_memory_high_watermark: every publish waits
	// (or, with FailFastOnAlarm, fails with [ErrMemoryAlarm]) until consumers, acks, purges
	// or deletes bring it down to 7/8 of the watermark. 0 means [DefaultMemoryHighWatermark];
	// negative turns the memory alarm off. Keep it well above MemoryBudget, or persistent
	// messages raise the alarm before they page out.
	MemoryHighWatermark int64
	// DiskFree, if set, is asked before a publish that will write persistent messages to the
	// Store, with the estimated bytes of the write; a non-nil answer (normally one matching
	// sentinel.ErrDiskFull, as a free-disk guard gives) turns the disk alarm on, as RabbitMQ's
	// disk_free_limit does: every publish then waits (or, with FailFastOnAlarm, fails with
	// [ErrDiskFull]) while DiskFree is asked again every 50 ms, until it says nil. nil turns
	// the disk alarm off. It is called without the router's locks held, from publishing
	// goroutines, concurrently; it must be quick.
	DiskFree func(need int64) error
	// FailFastOnAlarm makes a publish return [ErrMemoryAlarm] or [ErrDiskFull] at once while
	// an alarm is on, instead of waiting for it to clear.
	FailFastOnAlarm bool
	// Logger receives notices (a queue expired, a session closed by an error). nil discards.
	Logger *slog.Logger
}

// EventKind names a step in a message's or a queue's life.
type EventKind uint8

// The events an observer receives.
const (
	EventRouted       EventKind = iota + 1 // published and routed, not yet enqueued; Queues lists where (maybe none)
	EventReturned                          // mandatory and unroutable: basic.return 312
	EventDelivered                         // pushed to a consumer or fetched with Get
	EventAcked                             // acknowledged (or delivered with auto-ack)
	EventNacked                            // nacked or rejected without requeue
	EventRequeued                          // back in its queue, Ready counting it: nack, reject, recover or close
	EventDeadLettered                      // dead-lettered; Reason says why
	EventExpired                           // expired at the head of its queue (A31)
	EventDropped                           // dropped; Reason: maxlen, reject-publish, delivery_limit, no-dlx
	EventQueueDeleted                      // a queue was deleted (explicitly, auto-delete, x-expires, exclusive owner closed)
	EventBlocked                           // an alarm went on: publishes wait; Reason is ReasonLowMemory or ReasonLowDisk
	EventUnblocked                         // that alarm went off; publishes go on once no alarm is on (Router.Alarms)
	// EventEnqueued: a message entered Queue, routed there by a publish or as a dead-lettered
	// copy. It comes once the queue's state shows it (Published and Ready count it; a TTL 0
	// message that goes straight to a consumer, A30, is never ready), before the
	// EventDelivered of a consumer that takes it at once. A message the queue refuses
	// (reject-publish, A35) gets EventDropped or EventDeadLettered instead, and one that
	// expires on arrival (TTL 0 with no consumer to take it) EventExpired.
	EventEnqueued
	EventConsumerAdded     // a consumer started on Queue; ConsumerTag names it
	EventConsumerCancelled // a consumer of Queue stopped; ConsumerTag names it, Reason says why (ReasonCancel...)
	EventQueueDeclared     // Queue was created (a redeclaration is not an event)
	EventPurged            // Queue's ready messages were purged; Count says how many (maybe 0)
	// EventConfirmed: in confirm mode, the publish numbered DeliveryTag on its session was
	// confirmed, once it was enqueued and, if persistent, on disk; Reason is "ack", or "nack"
	// when a queue refused it (A19) or it could not be stored. After the publish's EventRouted.
	EventConfirmed
)

// Reasons carried by [EventConsumerCancelled].
const (
	ReasonCancel        = "cancel"         // basic.cancel: [Consumer.Cancel]
	ReasonSessionClosed = "session closed" // its session closed, or the session's connection or the Router
	ReasonQueueDeleted  = "queue deleted"  // cancelled by the server: its queue was deleted
)

var eventNames = [...]string{"", "routed", "returned", "delivered", "acked", "nacked", "requeued",
	"dead-lettered", "expired", "dropped", "queue-deleted", "blocked", "unblocked",
	"enqueued", "consumer-added", "consumer-cancelled", "queue-declared", "purged", "confirmed"}

// String returns the event's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one lifecycle event. Fields that do not apply are zero.
type Event struct {
	Kind        EventKind
	Time        time.Time
	Exchange    string
	RoutingKey  string
	Queue       string   // the queue the event happened in
	Queues      []string // EventRouted: the queues reached; owned by the observer
	DeliveryTag uint64
	Redelivered bool
	Reason      string // dead-letter or drop reason; the alarm's reason for EventBlocked and EventUnblocked; why a consumer was cancelled
	MessageID   string
	ConsumerTag string // EventConsumerAdded, EventConsumerCancelled: the consumer's tag
	Count       int    // EventPurged: the messages removed
}

// Faults are hooks called at the points where a test injects failures: a publish lost on
// its way, a client that dies before its ack reaches the broker. Each may be nil. They are
// called on the goroutine of the operation, from the native API and from the AMQP front door
// alike, before the operation takes any lock of the Router: a hook may block (a crash parks
// its caller, as a dead process never returns) and may call the Router (close a connection).
type Faults struct {
	// BeforePublish is called before s routes a publish to exchange with routing key key. A
	// non-nil err fails the publish with it, routing nothing; drop makes the publish succeed
	// and routes the message nowhere, as if it were lost before it reached the broker (a
	// confirm, in confirm mode, still comes).
	BeforePublish func(s *Session, exchange, key string, msg Publishing) (drop bool, err error)
	// BeforeSettle is called before an ack, nack or reject ("ack", "nack", "reject") of the
	// delivery tagged tag on s (and, with multiple, those before it) is applied; queue is the
	// queue tag's delivery came from, "" for an unknown tag. A non-nil error is returned by the
	// settle, which is then not applied: the deliveries stay unacked. [ErrRequeueInstead]
	// makes the settle a nack with requeue instead, and the settle returns nil: the client
	// believes it acked, and the message comes back, redelivered.
	BeforeSettle func(s *Session, queue string, tag uint64, multiple bool, op string) error
	// DeliveryDelay is called as a message of queue is delivered to the consumer tagged
	// consumerTag; a positive duration holds the delivery back that long before the consumer's
	// Next (or the AMQP door) hands it out, as a slow network would, and the deliveries after it
	// wait behind it. The router counts it unacked meanwhile. It is called with the queue's
	// lock held: it must be quick and must not call the Router.
	DeliveryDelay func(queue, consumerTag string) time.Duration
}
