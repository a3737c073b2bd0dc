package tribus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// openLock opens dir/LOCK, the file the directory's lock is taken on: read-write and created
// if missing for a broker that opens dir, read-only and required for one that only reads it
// (a directory without one is not a broker's, ErrInvalidDir).
func openLock(dir string, create bool) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	var f *os.File
	var err error
	if create {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	} else {
		f, err = os.Open(path)
	}
	switch {
	case !create && errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%w: %s has no LOCK file: not a tribus directory", ErrInvalidDir, dir)
	case err != nil:
		return nil, fmt.Errorf("tribus: lock %s: %w", path, err)
	}
	return f, nil
}

// lockDir takes the lock of dir, creating its LOCK file if needed, for a broker to open it.
func lockDir(dir string) (*os.File, error) { return lockOpened(openLock(dir, true)) }

// lockExisting takes the same lock on a directory that must already have its LOCK file,
// opening it read-only: it creates nothing and writes nothing.
func lockExisting(dir string) (*os.File, error) { return lockOpened(openLock(dir, false)) }

// unlockDir releases the lock taken by lockDir or lockExisting.
func unlockDir(f *os.File) error {
	return f.Close() // closing the file releases the flock
}
