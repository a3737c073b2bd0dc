package store_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/diskspace"
	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/store"
)

// Issue 11: Options.DiskFreeLimit has RabbitMQ's disk_free_limit meaning (0 = its default of
// 50 MB, negative = off). ReserveSpace refuses under it with an error matching ErrDiskFull that
// carries a *diskspace.LimitError; the store's own Updates are never refused, so acks and
// deletes go on freeing space. Freed space is noticed at the next reading.
func TestStore_DiskFreeLimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     int64
		free      int64
		refuse    bool
		wantLimit int64 // in the refusal
	}{
		{"default 50 MB, 40 MB free", 0, 40_000_000, true, diskspace.DefaultLimit},
		{"default 50 MB, 60 MB free", 0, 60_000_000, false, 0},
		{"1 MB, 2 MB free", 1_000_000, 2_000_000, false, 0},
		{"1 MB, 0.5 MB free", 1_000_000, 500_000, true, 1_000_000},
		{"off, nothing free", -1, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var free atomic.Int64
				free.Store(tc.free)
				dir := t.TempDir()
				s, err := store.Open(filepath.Join(dir, "tribus.db"), store.WithDiskFree(
					&store.Options{DiskFreeLimit: tc.limit, CheckpointInterval: time.Hour},
					func(string) (int64, error) { return free.Load(), nil }))
				require.NoError(t, err)
				defer s.Close()

				err = s.ReserveSpace(1000)
				if !tc.refuse {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, store.ErrDiskFull)
				require.ErrorIs(t, err, sentinel.ErrDiskFull)
				var le *diskspace.LimitError
				require.ErrorAs(t, err, &le)
				assert.Equal(t, dir, le.Dir)
				assert.Equal(t, tc.free, le.Free)
				assert.Equal(t, tc.wantLimit, le.Limit)

				require.NoError(t, putErr(s, "ack-or-delete"), "the store's own writes are not refused")
				require.NoError(t, s.Update(func(tx *store.Tx) error {
					return tx.Bucket(store.BucketLog).Delete([]byte("ack-or-delete"))
				}))

				free.Store(1 << 40) // space is freed
				time.Sleep(10 * time.Millisecond)
				require.NoError(t, s.ReserveSpace(1000), "noticed at the next reading")
			})
		})
	}
}

// The memory backend has no disk: ReserveSpace never refuses.
func TestStore_ReserveSpaceOnMemoryNeverRefuses(t *testing.T) {
	s := store.OpenMemory()
	defer s.Close()
	assert.NoError(t, s.ReserveSpace(1<<50))
}
