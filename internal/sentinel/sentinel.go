// Package sentinel holds the error values that the root package and every engine share, so
// that errors.Is(err, tribus.ErrClosed) holds for an engine's own ErrClosed without an engine
// importing the root package (imports go one way: root → engines → store).
//
// Each engine wraps these with its own package prefix, for example
//
//	var ErrClosed = fmt.Errorf("tribus/pubsub: %w", sentinel.ErrClosed)
//
// and the root package re-exports the bare values.
package sentinel

import "errors"

var (
	// ErrClosed is the root of every "used after Close" error.
	ErrClosed = errors.New("tribus: closed")

	// ErrAlreadySettled is the root of every "acked or nacked twice" error.
	ErrAlreadySettled = errors.New("tribus: already settled")
)
