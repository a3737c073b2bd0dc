package pubsub

import (
	"fmt"
	"log/slog"
	"time"
)

// Redis's defaults for `client-output-buffer-limit pubsub 32mb 8mb 60` (SEMANTICS.md §3.4).
const (
	DefaultMaxBytes  = 32 << 20
	DefaultSoftBytes = 8 << 20
	DefaultSoftTime  = 60 * time.Second
)

// Policy says what happens when a message would take a subscription over its [Limits].
type Policy uint8

const (
	// Disconnect is Redis's behaviour and the default: the subscription is cut off, its
	// buffered messages are lost and counted as dropped, and its Next returns
	// [ErrSlowSubscriber]. The publisher never blocks and never sees an error (R24).
	Disconnect Policy = iota
	// DropOldest evicts the oldest buffered messages until the new one fits. The
	// subscription stays connected. Not a Redis behaviour: opt in for tests.
	DropOldest
	// Block makes the publisher wait until the subscriber has made room, the subscription
	// closes, or the publisher's context ends. Not a Redis behaviour: opt in for tests that
	// want back-pressure.
	Block
)

// String returns the policy's name.
func (p Policy) String() string {
	switch p {
	case Disconnect:
		return "disconnect"
	case DropOldest:
		return "drop-oldest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// Limits bound one subscription's buffer: the messages published to it that it has not read
// yet. A message's size is the length of the RESP2 frame Redis would queue for it
// (`*3\r\n$7\r\nmessage\r\n$<n>\r\n<channel>\r\n$<n>\r\n<payload>\r\n` and the pmessage and
// smessage forms), so the byte limits mean what they mean in redis.conf.
//
// The zero value is Redis's default policy: hard limit 32 MiB, soft limit 8 MiB held for 60 s,
// no message-count limit, [Disconnect].
type Limits struct {
	// MaxMessages is the most messages the buffer holds. 0 means no count limit (Redis has
	// none; the byte limit still bounds the buffer). Negative is invalid.
	MaxMessages int
	// MaxBytes is the hard limit in bytes. 0 means [DefaultMaxBytes]; -1 means no limit.
	MaxBytes int64
	// SoftBytes is the soft limit in bytes: a buffer that stays above it for SoftTime is over
	// its limit. Used by [Disconnect] only. 0 means [DefaultSoftBytes]; -1 turns it off.
	SoftBytes int64
	// SoftTime is how long the buffer may stay above SoftBytes. 0 means [DefaultSoftTime].
	SoftTime time.Duration
	// Policy is what to do when a message would go over the limits. Default [Disconnect].
	Policy Policy
}

// resolve fills defaults and validates. The result uses -1 for "no limit" throughout.
func (l Limits) resolve() (Limits, error) {
	if l.MaxMessages < 0 {
		return l, fmt.Errorf("%w: MaxMessages %d is negative", ErrInvalidOptions, l.MaxMessages)
	}
	if l.MaxBytes < -1 || l.SoftBytes < -1 {
		return l, fmt.Errorf("%w: byte limits must be -1, 0 or positive", ErrInvalidOptions)
	}
	if l.SoftTime < 0 {
		return l, fmt.Errorf("%w: SoftTime %v is negative", ErrInvalidOptions, l.SoftTime)
	}
	if l.Policy > Block {
		return l, fmt.Errorf("%w: unknown policy %v", ErrInvalidOptions, l.Policy)
	}
	if l.MaxMessages == 0 {
		l.MaxMessages = -1
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.SoftBytes == 0 {
		l.SoftBytes = DefaultSoftBytes
	}
	if l.SoftTime == 0 {
		l.SoftTime = DefaultSoftTime
	}
	return l, nil
}

// Options configures a [Hub]. The zero value (and nil) gives Redis's defaults.
type Options struct {
	// Limits are the buffer limits of every subscription that does not set its own.
	Limits Limits
	// Observer, if set, is called synchronously for every lifecycle event (see [Event]):
	// subscriptions opened, subscribing and unsubscribing, closed or disconnected, and
	// messages published, delivered and dropped. Every change to what [Hub.NumSub],
	// [Hub.ShardNumSub], [Hub.NumPat], [Hub.Channels] and [Hub.Stats] report is followed by
	// at least one event, emitted once the change is visible: a read that starts after the
	// observer returns sees it (or a later state). So a test may wait for a condition by
	// re-reading it on each event instead of polling. It runs on the goroutine that made the
	// change, the subscribe and close events with the hub's lock held, so that one
	// subscription's events come in the order of its changes; it must be quick and must not
	// call the Hub or a Subscription (hand the event to another goroutine for that). nil
	// costs nothing: no event is built.
	Observer func(Event)
	// Faults, if set, are the hooks a test toolkit injects failures through (package
	// tribustest uses them); see [Faults]. nil costs one nil check per publish and delivery.
	Faults *Faults
	// Logger receives disconnect notices at Info level. nil discards them.
	Logger *slog.Logger
}

// SubscriptionOptions configures one [Subscription]. nil means the hub's [Options.Limits].
type SubscriptionOptions struct {
	// Limits replaces the hub's limits for this subscription. Its zero value means Redis's
	// defaults, not the hub's.
	Limits Limits
	// OnDisconnect, if set, is called once when the hub cuts the subscription off for being
	// slow, with [ErrSlowSubscriber], in the goroutine of the publisher that did it and after
	// the subscription's locks are released. It must return quickly and must not call the
	// hub; a RESP front door uses it to close the client's connection, as Redis closes a
	// client over its output-buffer limit. It is not called for Close.
	OnDisconnect func(err error)
}

// Faults are hooks called at the points where a test injects failures: a published message
// lost on its way, a subscriber cut off as slow. Each may be nil. They are called on the
// publisher's goroutine, from the native API and the RESP front door alike, with no lock of
// the Hub held; they must not publish to the Hub.
type Faults struct {
	// BeforePublish is called before a message to channel is delivered; drop loses it, as if
	// it never reached the server: nobody receives it and the publish counts no receiver.
	BeforePublish func(channel string, payload []byte) (drop bool)
	// BeforeDeliver is called before m is queued for s; disconnect cuts s off as the
	// Disconnect policy cuts off a subscriber over its limit: it loses its buffer, ends with
	// [ErrSlowSubscriber], and the message counts as delivered (R24).
	BeforeDeliver func(s *Subscription, m Message) (disconnect bool)
}
