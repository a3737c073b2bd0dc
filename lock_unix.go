//go:build unix

package tribus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockOpened takes an exclusive, non-blocking flock on the LOCK file f that openLock opened
// (or passes its error on). flock belongs to the open file, so a second Open in the same
// process is refused as well as one in another process, and the kernel releases it if the
// process dies: a crash never leaves a stale lock behind.
func lockOpened(f *os.File, err error) (*os.File, error) {
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, filepath.Dir(f.Name()))
		}
		return nil, fmt.Errorf("tribus: lock %s: %w", f.Name(), err)
	}
	return f, nil
}
