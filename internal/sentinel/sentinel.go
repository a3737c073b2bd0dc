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

	// ErrCorrupt is the root of every "stored bytes fail their checks" error: a journal record,
	// a database file or a log batch that is damaged. Corruption is never repaired silently.
	ErrCorrupt = errors.New("tribus: corrupt data")

	// ErrDiskFull is the root of every "no room to write" error: the file system returned
	// ENOSPC or EDQUOT, or its free space fell below the configured free-disk limit.
	ErrDiskFull = errors.New("tribus: disk full")

	// ErrIO is the root of every other failed read or write of the engines' own files; the
	// operating system's error is wrapped with it.
	ErrIO = errors.New("tribus: I/O error")
)
