package tribus

import (
	"log/slog"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/pubsub"
)

// Options configures a [Broker]. The zero value, and nil, mean the defaults documented on each
// field. Options are validated by [Open]; an invalid value is [ErrInvalidOptions].
type Options struct {
	// Logger receives the broker's and engines' log lines. nil discards them.
	Logger *slog.Logger

	// PubSub configures the pub/sub hub: its default per-subscription buffer limits and
	// slow-subscriber policy. The zero value is Redis's `client-output-buffer-limit pubsub
	// 32mb 8mb 60` with disconnection.
	PubSub pubsub.Options

	// ExchangeObserver, if set, receives every lifecycle event of the exchange router
	// (routed, delivered, acked, requeued, dead-lettered, expired, dropped...). It is called
	// synchronously and must be quick. nil costs nothing.
	ExchangeObserver func(exchange.Event)

	// NoSync skips fsync on the durable store. A process crash loses nothing, but a power
	// loss or kernel crash can lose what was acknowledged, or corrupt the store. Default
	// false (every commit is fsynced; concurrent commits share one fsync). Ignored in memory.
	NoSync bool
}

// withDefaults returns a copy of the options with defaults filled in. Each engine validates its
// own part when Open builds it.
func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	if v.PubSub.Logger == nil {
		v.PubSub.Logger = v.Logger.With("engine", "pubsub")
	}
	return v
}
