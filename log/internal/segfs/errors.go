package segfs

import (
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/internal/diskspace"
	"github.com/tribusmq/tribus/internal/sentinel"
)

// The errors of the file layer. The log re-exports both under the same names, so a caller
// of the log and the segment code above this layer see one value.
var (
	// ErrDiskFull: a write or sync failed with ENOSPC or EDQUOT. errors.Is(err,
	// tribus.ErrDiskFull) holds for it.
	ErrDiskFull = fmt.Errorf("tribus/log: %w", sentinel.ErrDiskFull)

	// ErrIO: any other failed read, write, truncation or sync; the operating system's error
	// stays reachable with errors.As. errors.Is(err, tribus.ErrIO) holds for it.
	ErrIO = fmt.Errorf("tribus/log: %w", sentinel.ErrIO)
)

// Classify returns err, from a read, write, truncation or sync of a file, wrapped in
// [ErrDiskFull] or [ErrIO] (as [diskspace.Wrap] tells them apart). nil, and errors that
// already say closed, corrupt, disk full or I/O, come back as they are.
func Classify(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrDiskFull), errors.Is(err, ErrIO), errors.Is(err, sentinel.ErrCorrupt),
		errors.Is(err, sentinel.ErrClosed):
		return err
	case errors.Is(diskspace.Wrap(err), sentinel.ErrDiskFull):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return fmt.Errorf("%w: %w", ErrIO, err)
}
