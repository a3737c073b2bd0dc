package tribus

import (
	"errors"

	"github.com/tribusmq/tribus/internal/sentinel"
)

var (
	// ErrClosed is returned by every call on a [Broker] after [Broker.Close], and by the
	// engines it owns after that. errors.Is(err, ErrClosed) also holds for each engine's own
	// ErrClosed, such as pubsub.ErrClosed.
	ErrClosed = sentinel.ErrClosed

	// ErrAlreadySettled is returned by an [Acker] settled a second time.
	ErrAlreadySettled = sentinel.ErrAlreadySettled

	// ErrLocked is returned by [Open] when another Broker, in this process or another, has the
	// directory open. Nothing in the directory is touched.
	ErrLocked = errors.New("tribus: directory is in use by another broker")

	// ErrInvalidOptions is returned by [Open] for an [Options] value out of range; the
	// engine's own error is wrapped with it.
	ErrInvalidOptions = errors.New("tribus: invalid options")
)
