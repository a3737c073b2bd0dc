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

	// ErrCorrupt is matched by every error that reports damaged stored bytes: a journal record,
	// a database file or a log batch that fails its checks (store.ErrCorrupt,
	// log.ErrCorruptBatch...). tribus never repairs or drops such data silently; see
	// docs/reliability.md for what an operator can do.
	ErrCorrupt = sentinel.ErrCorrupt

	// ErrDiskFull is matched by every error of a write refused for lack of space: the file
	// system answered ENOSPC or EDQUOT, or its free space is under [Options.DiskFreeLimit].
	ErrDiskFull = sentinel.ErrDiskFull

	// ErrIO is matched by every other failed read or write of the broker's own files; the
	// operating system's error is wrapped with it.
	ErrIO = sentinel.ErrIO

	// ErrLocked is returned by [Open] when another Broker, in this process or another, has the
	// directory open. Nothing in the directory is touched.
	ErrLocked = errors.New("tribus: directory is in use by another broker")

	// ErrInvalidDir is returned by [Open] for a directory it cannot use: the path names a file,
	// a path component is a file, or the path contains a NUL byte. Nothing is created.
	ErrInvalidDir = errors.New("tribus: not a usable directory")

	// ErrInvalidOptions is returned by [Open] for an [Options] value out of range; the
	// engine's own error is wrapped with it.
	ErrInvalidOptions = errors.New("tribus: invalid options")
)
