//go:build !unix

package tribus

import "os"

// lockOpened keeps the LOCK file f that openLock opened (or passes its error on). On systems
// without flock the exclusive lock is the one bbolt takes on tribus.db, which makes a second
// Open fail with ErrLocked after a short timeout; an inspection cannot tell whether another
// process holds the directory.
func lockOpened(f *os.File, err error) (*os.File, error) { return f, err }
