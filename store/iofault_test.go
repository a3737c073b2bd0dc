package store_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/store"
)

var logBucket = []string{store.BucketLog}

// putErr is put that returns the Update's error.
func putErr(s *store.Store, key string) error {
	return s.Update(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put([]byte(key), []byte("v")) })
}

// Issue 11: an error from the journal's file reaches the caller as store.ErrDiskFull (ENOSPC,
// EDQUOT) or store.ErrIO, wrapping the OS error, never as a bare *fs.PathError. A write that
// found no space is not sticky: once space is back, Updates go on. Any failed fsync, and a
// write that failed for another reason, stop the store: every later Update is ErrIO (and not
// ErrDiskFull, which would invite a retry), while Views go on. What was answered before
// survives a reopen; the failed Update's write does not.
func TestStore_JournalErrorsAreTyped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     string
		errno  syscall.Errno
		want   error // the failing Update's error
		sticky bool  // later Updates fail with ErrIO after the fault is healed
	}{
		{"write ENOSPC", "write", syscall.ENOSPC, store.ErrDiskFull, false},
		{"write EDQUOT", "write", syscall.EDQUOT, store.ErrDiskFull, false},
		{"write EIO", "write", syscall.EIO, store.ErrIO, true},
		{"fsync EIO", "sync", syscall.EIO, store.ErrIO, true},
		{"fsync ENOSPC", "sync", syscall.ENOSPC, store.ErrDiskFull, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tribus.db")
			jf := &store.JournalFaults{}
			s, err := store.Open(path, store.WithJournalFaults(nil, jf))
			require.NoError(t, err)
			require.NoError(t, putErr(s, "before"))

			jf.Fail(tc.op, tc.errno)
			err = putErr(s, "failed")
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, tc.want.(interface{ Unwrap() error }).Unwrap(), "the root's sentinel matches")
			require.ErrorIs(t, err, tc.errno, "the OS error stays reachable")
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe)
			assert.NotEqual(t, err, error(pe), "wrapped, not bare")
			jf.Fail(tc.op, nil)

			err = putErr(s, "after")
			if tc.sticky {
				require.ErrorIs(t, err, store.ErrIO)
				assert.NotErrorIs(t, err, sentinel.ErrDiskFull)
				require.ErrorIs(t, s.Submit(putFn("later"))(), store.ErrIO)
			} else {
				require.NoError(t, err)
			}
			v, ok := get(t, s, logBucket, "before")
			assert.True(t, ok, "Views go on")
			assert.Equal(t, "v", v)
			require.NoError(t, s.Close())

			s2 := openFile(t, path, nil)
			_, ok = get(t, s2, logBucket, "before")
			assert.True(t, ok, "what was answered survives")
			_, ok = get(t, s2, logBucket, "failed")
			assert.False(t, ok, "the failed Update is not kept")
			_, ok = get(t, s2, logBucket, "after")
			assert.Equal(t, !tc.sticky, ok)
		})
	}
}

// With Options.SyncInterval the journal is flushed by a timer; a failure there stops the
// store too (it used to be dropped, so the next Update was answered as if nothing happened).
func TestStore_DeferredFsyncFailureStopsWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		jf := &store.JournalFaults{}
		s, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"),
			store.WithJournalFaults(&store.Options{SyncInterval: 10 * time.Millisecond, CheckpointInterval: time.Hour}, jf))
		require.NoError(t, err)
		defer s.Close()
		jf.Fail("sync", syscall.EIO)
		require.NoError(t, putErr(s, "a"), "answered before its flush")
		time.Sleep(20 * time.Millisecond) // the flush timer fires (fake time)
		synctest.Wait()
		jf.Fail("sync", nil)
		require.ErrorIs(t, putErr(s, "b"), store.ErrIO)
	})
}

// A journal truncation that fails after a checkpoint is not an Update's failure: the store
// goes on and reopens with everything in it (the old records are covered by the checkpoint).
func TestStore_JournalResetFailureLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	jf := &store.JournalFaults{}
	s, err := store.Open(path, store.WithJournalFaults(nil, jf))
	require.NoError(t, err)
	require.NoError(t, putErr(s, "a"))
	jf.Fail("truncate", syscall.EIO)
	store.MakeCheckpointDue(s)
	require.NoError(t, putErr(s, "b"))
	jf.Fail("truncate", nil)
	require.NoError(t, putErr(s, "c"))
	require.NoError(t, s.Close())
	s2 := openFile(t, path, nil)
	for _, k := range []string{"a", "b", "c"} {
		_, ok := get(t, s2, logBucket, k)
		assert.True(t, ok, k)
	}
}

// TestStore_FailedWritesAreLoggedOncePerEpisode: a Submit whose wait nobody calls (the exchange
// deletes acked messages so) has no caller to hear of its failure, so the store logs the first
// failed round of an episode, and that writes succeed again; a stop is logged as an error.
func TestStore_FailedWritesAreLoggedOncePerEpisode(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	jf := &store.JournalFaults{}
	s, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), store.WithJournalFaults(&store.Options{Logger: logger}, jf))
	require.NoError(t, err)
	defer s.Close()

	jf.Fail("write", syscall.ENOSPC)
	for i := range 3 {
		_ = s.Submit(putFn(fmt.Sprint("lost", i))) // nobody waits
	}
	require.ErrorIs(t, putErr(s, "seen"), store.ErrDiskFull)
	jf.Fail("write", nil)
	require.NoError(t, putErr(s, "after"))
	assert.Equal(t, 1, strings.Count(logs.String(), "writes are failing"), logs.String())
	assert.Contains(t, logs.String(), "no space left on device")
	assert.Equal(t, 1, strings.Count(logs.String(), "writes succeed again"), logs.String())

	jf.Fail("write", syscall.EIO)
	require.ErrorIs(t, putErr(s, "stops"), store.ErrIO)
	assert.Contains(t, logs.String(), "level=ERROR msg=\"tribus/store: stopped accepting writes")
}

// Options.BeforeSync is called before every fsync that makes commits durable, the journal's
// after a round and a checkpoint's, and its error is that fsync's. A failed journal fsync
// fails the Update waiting for it with ErrIO wrapping the error; a failed checkpoint comes
// after its Updates were answered (their rounds are in the journal), so it is the next Update
// that fails. Either way the store stays stopped, Views go on, and a reopen keeps what was
// answered. With NoSync there is no fsync, so it is never called.
func TestStore_BeforeSyncFailsAsTheFsync(t *testing.T) {
	injected := errors.New("injected")
	for _, tc := range []struct {
		name string
		what string // the fsync that fails
		opts store.Options
		kept bool // the Update during which the fsync failed was answered, and is kept
	}{
		{"journal", "journal", store.Options{}, false},
		{"checkpoint", "checkpoint", store.Options{CheckpointBytes: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tribus.db")
			var fail atomic.Bool
			var seen []string
			var mu sync.Mutex
			opts := tc.opts
			opts.BeforeSync = func(what string) error {
				mu.Lock()
				seen = append(seen, what)
				mu.Unlock()
				if what == tc.what && fail.Load() {
					return injected
				}
				return nil
			}
			s, err := store.Open(path, &opts)
			require.NoError(t, err)
			require.NoError(t, putErr(s, "before"))
			fail.Store(true)
			err = putErr(s, "failed")
			if tc.kept {
				require.NoError(t, err)
				err = putErr(s, "after")
			}
			require.ErrorIs(t, err, store.ErrIO)
			require.ErrorContains(t, err, injected.Error(), "the failure is named")
			fail.Store(false)
			require.ErrorIs(t, putErr(s, "after"), store.ErrIO, "the store stays stopped")
			_, ok := get(t, s, logBucket, "before")
			assert.True(t, ok, "Views go on")
			require.NoError(t, s.Close())
			mu.Lock()
			assert.Contains(t, seen, tc.what)
			mu.Unlock()

			s2 := openFile(t, path, nil)
			_, ok = get(t, s2, logBucket, "before")
			assert.True(t, ok, "what was answered survives")
			_, ok = get(t, s2, logBucket, "failed")
			assert.Equal(t, tc.kept, ok)
			_, ok = get(t, s2, logBucket, "after")
			assert.False(t, ok)
		})
	}
	t.Run("NoSync", func(t *testing.T) {
		s, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), &store.Options{NoSync: true, CheckpointBytes: 1,
			BeforeSync: func(string) error { return injected }})
		require.NoError(t, err)
		require.NoError(t, putErr(s, "a"))
		require.NoError(t, putErr(s, "b"))
		require.NoError(t, s.Close())
	})
}
