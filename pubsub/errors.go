package pubsub

import (
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/internal/sentinel"
)

var (
	// ErrClosed is returned by every call on a Hub after [Hub.Close] (or on a nil Hub), and by
	// a Subscription's methods after its own [Subscription.Close] or its hub's Close.
	// errors.Is(err, tribus.ErrClosed) holds for it.
	ErrClosed = fmt.Errorf("tribus/pubsub: %w", sentinel.ErrClosed)

	// ErrSlowSubscriber is returned by a Subscription that the hub disconnected because its
	// buffer went over its limit, the way Redis closes a client over its
	// client-output-buffer-limit (SEMANTICS.md R24). Everything still buffered was lost.
	ErrSlowSubscriber = errors.New("tribus/pubsub: slow subscriber disconnected")

	// ErrArity is returned when a call gets a number of arguments that the Redis command it
	// models refuses, such as SUBSCRIBE with no channel ("wrong number of arguments").
	ErrArity = errors.New("tribus/pubsub: wrong number of arguments")

	// ErrInvalidOptions is returned by [New] and [Hub.NewSubscription] for options out of range.
	ErrInvalidOptions = errors.New("tribus/pubsub: invalid options")
)
