// Package diskspace turns the operating system's "no room" and I/O failures into the shared
// sentinels, and keeps a free-disk limit like RabbitMQ's disk_free_limit: a [Guard] refuses a
// write that would leave less free space than the limit, before the file system itself runs
// out.
//
// # Concurrency
//
// A Guard is safe for concurrent use; its mutex guards the cached free-space reading. Wrap is a
// pure function.
package diskspace

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/tribusmq/tribus/internal/sentinel"
)

// DefaultLimit is the free-disk limit when none is configured: RabbitMQ's default
// disk_free_limit of 50 MB.
const DefaultLimit = 50_000_000

// Wrap classifies err, an error from a read or write of the engines' own files: nil stays nil,
// an error that already carries one of the shared sentinels (closed, corrupt, disk full, I/O)
// is returned as it is, ENOSPC and EDQUOT become [sentinel.ErrDiskFull] and anything else
// [sentinel.ErrIO]. The original error stays reachable with errors.As.
func Wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sentinel.ErrDiskFull), errors.Is(err, sentinel.ErrIO),
		errors.Is(err, sentinel.ErrCorrupt), errors.Is(err, sentinel.ErrClosed):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", sentinel.ErrDiskFull, err)
	}
	return fmt.Errorf("%w: %w", sentinel.ErrIO, err)
}

// How long a free-space reading is trusted: a reading that shows room is taken again after
// restatAfter, and one that shows none after retryAfter, so that freed space is noticed
// quickly without a system call per write.
const (
	restatAfter = 250 * time.Millisecond
	retryAfter  = 10 * time.Millisecond
)

// A Guard enforces a free-disk limit on the file system that holds one directory. It reads the
// free space with statfs at most every 250 ms while there is room (and every 10 ms once there is
// not), and in between counts down the bytes it let through, so a burst cannot overshoot the
// limit by more than what was written since the last reading and the file system's own lag.
type Guard struct {
	dir   string
	limit int64
	free  func(dir string) (int64, error) // Free, or a test's

	mu      sync.Mutex // guards the fields below
	avail   int64      // free bytes at the last reading, minus what was reserved since
	checked time.Time  // when avail was last read; zero before the first reading
}

// NewGuard returns a Guard for the file system holding dir. limit is in bytes; 0 means
// [DefaultLimit] and a negative limit turns the guard off. A nil *Guard is valid and off.
func NewGuard(dir string, limit int64) *Guard {
	if limit == 0 {
		limit = DefaultLimit
	}
	return &Guard{dir: dir, limit: limit, free: Free}
}

// NewGuardFunc is NewGuard with the free-space reading supplied by free, for tests.
func NewGuardFunc(dir string, limit int64, free func(dir string) (int64, error)) *Guard {
	g := NewGuard(dir, limit)
	g.free = free
	return g
}

// Limit returns the guard's limit in bytes, or 0 when it is off.
func (g *Guard) Limit() int64 {
	if g == nil || g.limit < 0 {
		return 0
	}
	return g.limit
}

// Reserve says whether n more bytes may be written: nil, or a [*LimitError], which matches
// [sentinel.ErrDiskFull]. A failure to
// read the free space is not a refusal: the write goes ahead and meets the file system's own
// answer, which [Wrap] classifies.
func (g *Guard) Reserve(n int64) error {
	if g == nil || g.limit < 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	age := now.Sub(g.checked)
	low := g.avail-n < g.limit
	if g.checked.IsZero() || age >= restatAfter || (low && age >= retryAfter) {
		free, err := g.free(g.dir)
		if err != nil {
			return nil
		}
		g.avail, g.checked = free, now
		low = g.avail-n < g.limit
	}
	if low {
		return &LimitError{Dir: g.dir, Free: g.avail, Limit: g.limit}
	}
	g.avail -= n
	return nil
}

// LimitError is a write refused by a [Guard]: the file system holding Dir had Free bytes free
// at the last reading, under Limit. errors.Is(err, sentinel.ErrDiskFull) holds for it; its
// text leaves the sentinel's words to the engine that wraps it.
type LimitError struct {
	Dir   string
	Free  int64
	Limit int64
}

// Error says where, how much was free and what the limit is.
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s has %d bytes free, under the free-disk limit of %d bytes", e.Dir, e.Free, e.Limit)
}

// Is reports whether target is [sentinel.ErrDiskFull].
func (e *LimitError) Is(target error) bool { return target == sentinel.ErrDiskFull }
