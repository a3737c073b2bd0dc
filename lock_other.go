//go:build !unix

package tribus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// lockDir opens dir/LOCK. On systems without flock the exclusive lock is the one bbolt takes on
// tribus.db, which makes a second Open fail with ErrLocked after a short timeout.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("tribus: lock %s: %w", path, err)
	}
	return f, nil
}

func unlockDir(f *os.File) error { return f.Close() }

// lockExisting opens dir/LOCK, which must exist, read-only. Without flock it cannot tell
// whether another process holds the directory.
func lockExisting(dir string) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no LOCK file: not a tribus directory", ErrInvalidDir, dir)
		}
		return nil, fmt.Errorf("tribus: lock %s: %w", path, err)
	}
	return f, nil
}
