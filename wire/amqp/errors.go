package amqp

import "errors"

var (
	// ErrServerClosed is returned by [Server.Serve] and [Server.Dial] after [Server.Close].
	ErrServerClosed = errors.New("tribus/amqp: server closed")

	// ErrInvalidOptions is returned by [NewServer] for options out of range.
	ErrInvalidOptions = errors.New("tribus/amqp: invalid options")
)
