package pubsub

import "time"

// EventKind names a step in the life of a subscription or a message. See [Options.Observer].
type EventKind uint8

// The events an observer receives. Each is emitted after the change it reports is visible
// (see [Options.Observer]); the fields each sets are listed with it, and the others are zero.
// Subscription is always the [Subscription.ID] concerned, except for EventPublished.
const (
	// EventOpened: a subscription was created, holding nothing yet ([Hub.NewSubscription],
	// or the first step of [Hub.Subscribe] and its siblings).
	EventOpened EventKind = iota + 1
	// EventSubscribed: the subscription now holds Channel (Shard for a shard channel) or
	// Pattern; Count is the running count its acknowledgement carries ([Reply.Count]). An
	// argument it already held changes nothing and gives no event.
	EventSubscribed
	// EventUnsubscribed: the subscription no longer holds Channel (Shard) or Pattern; Count
	// as for EventSubscribed. Closing a subscription gives EventClosed instead, one event for
	// everything it held.
	EventUnsubscribed
	// EventPublished: a Publish (SPublish, with Shard) to Channel reached Receivers
	// deliveries, counted as Publish returns them. It comes after the EventDelivered,
	// EventDropped and EventDisconnected events of its deliveries. Reason is the context's
	// error when a [Block] wait ended the publish early.
	EventPublished
	// EventDelivered: a message published to Channel was queued for the subscription,
	// through Pattern if it matched one (Shard for SPublish). One per receiving subscription
	// and pattern, only while an observer is set. A message that takes a [Disconnect]
	// subscriber over its limits gives EventDisconnected instead, although Publish counts it.
	EventDelivered
	// EventDropped: the [DropOldest] policy evicted the subscription's Count oldest messages
	// to make room for one published to Channel (and Pattern), which follows as
	// EventDelivered.
	EventDropped
	// EventDisconnected: the hub ended the subscription. Reason "slow": the [Disconnect]
	// policy cut it off when a message published to Channel (Pattern) took it over its
	// limits (R24), and Count messages were lost, that one included. Reason "hub closed":
	// [Hub.Close] ended it, discarding Count unread messages. Either way it holds nothing from
	// then on.
	EventDisconnected
	// EventClosed: the subscription's owner closed it ([Subscription.Close]): it holds
	// nothing from then on, and Count unread messages were discarded. A subscription the hub
	// had already disconnected gives no EventClosed.
	EventClosed
)

var eventNames = [...]string{"", "opened", "subscribed", "unsubscribed", "published", "delivered", "dropped",
	"disconnected", "closed"}

// String returns the event's name, such as "published".
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one lifecycle event of a [Hub]; see [EventKind] for the fields each kind sets.
// Fields that do not apply are zero.
type Event struct {
	Kind         EventKind
	Time         time.Time // when it was emitted
	Subscription uint64    // the subscription's [Subscription.ID]
	Channel      string
	Pattern      string
	Shard        bool // a shard channel (SSUBSCRIBE, SPUBLISH)
	Receivers    int  // EventPublished: the deliveries Publish counted
	Count        int  // the running count, or the messages evicted, lost or discarded
	Reason       string
}

// Reasons of EventDisconnected.
const (
	ReasonSlow      = "slow"
	ReasonHubClosed = "hub closed"
)

// observed reports whether the hub has an observer. Callers check it before they build an
// event, so that a Hub nobody observes builds none.
func (h *Hub) observed() bool { return h.obs.Observed() }

// emit calls the observer with e, stamped now if it has no time. The observer may have been
// removed since the caller checked observed; then the event goes nowhere.
func (h *Hub) emit(e Event) {
	if obs := h.obs.Load(); obs != nil {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		obs(e)
	}
}

// SetObserver replaces the hub's observer ([Options.Observer]); nil removes it, and then the
// hub builds no event at all. It is safe to call at any time, from any goroutine: an event
// being emitted while it runs reaches the old observer or the new one, and every event
// emitted after it returns reaches the new one.
func (h *Hub) SetObserver(fn func(Event)) { h.obs.Set(fn) }
