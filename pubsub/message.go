package pubsub

import "fmt"

// Kind says which Redis push frame a [Message] or [Reply] stands for.
type Kind uint8

const (
	KindMessage      Kind = iota + 1 // "message": a publish to a subscribed channel
	KindPMessage                     // "pmessage": a publish to a channel matching a pattern
	KindSMessage                     // "smessage": an SPUBLISH to a subscribed shard channel
	KindSubscribe                    // "subscribe" ack
	KindPSubscribe                   // "psubscribe" ack
	KindSSubscribe                   // "ssubscribe" ack
	KindUnsubscribe                  // "unsubscribe" ack
	KindPUnsubscribe                 // "punsubscribe" ack
	KindSUnsubscribe                 // "sunsubscribe" ack
)

var kindNames = [...]string{"", "message", "pmessage", "smessage", "subscribe", "psubscribe",
	"ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"}

// String returns the Redis frame name, such as "pmessage".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Message is one delivery to a subscription.
//
// Payload is the slice the publisher passed, shared by every receiver and never copied:
// receivers must not modify it, and a publisher must not modify a payload after publishing it.
type Message struct {
	Kind    Kind   // KindMessage, KindPMessage or KindSMessage
	Channel string // the channel published to
	Pattern string // the pattern that matched, for KindPMessage; "" otherwise
	Payload []byte
}

// Reply is the acknowledgement Redis sends for one argument of a (P|S)(UN)SUBSCRIBE command
// (SEMANTICS.md §3.2): the kind, the channel or pattern, and the running count.
type Reply struct {
	Kind Kind
	// Name is the channel or pattern. It is "" with Nil set for the one reply an argument-less
	// UNSUBSCRIBE or PUNSUBSCRIBE gives when there was nothing to remove (R9).
	Name string
	Nil  bool
	// Count is channels + patterns still subscribed after this step, or shard channels only
	// for the S-forms (R6, R21).
	Count int
}

// frameSize is the number of bytes of the RESP2 frame Redis would queue for m; it is what the
// buffer limits count, so that they mean what redis.conf's client-output-buffer-limit means.
func frameSize(m *Message) int64 {
	switch m.Kind {
	case KindPMessage: // *4 $8 pmessage pattern channel payload
		return 4 + 14 + bulkSize(len(m.Pattern)) + bulkSize(len(m.Channel)) + bulkSize(len(m.Payload))
	case KindSMessage: // *3 $8 smessage channel payload
		return 4 + 14 + bulkSize(len(m.Channel)) + bulkSize(len(m.Payload))
	default: // *3 $7 message channel payload
		return 4 + 13 + bulkSize(len(m.Channel)) + bulkSize(len(m.Payload))
	}
}

// bulkSize is the size of a RESP bulk string of n bytes: "$<n>\r\n<bytes>\r\n".
func bulkSize(n int) int64 {
	digits := int64(1)
	for v := n; v >= 10; v /= 10 {
		digits++
	}
	return 1 + digits + 2 + int64(n) + 2
}
