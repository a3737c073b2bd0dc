package log_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/internal/testfs"
	tlog "github.com/tribusmq/tribus/log"
)

// logBytes is the size of the partition's .log files under dir.
func logBytes(t *testing.T, dir string) int64 {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "t-0", "*.log"))
	require.NoError(t, err)
	var n int64
	for _, p := range paths {
		st, err := os.Stat(p)
		require.NoError(t, err)
		n += st.Size()
	}
	return n
}

// Below Options.DiskFreeLimit a produce fails with ErrDiskFull before anything is written,
// on every produce path, while fetches, commits and DeleteRecords go on, as RabbitMQ blocks
// publishers, not consumers, under its disk_free_limit alarm. Once space is freed, produces
// succeed again.
func TestLog_DiskFreeLimitRefusesProducesOnly(t *testing.T) {
	for _, path := range producePaths {
		t.Run(path.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				var free atomic.Int64
				free.Store(10_000_000)
				l, err := tlog.Open(dir, tlog.WithDiskFree(tlog.Options{DiskFreeLimit: 1_000_000},
					func(string) (int64, error) { return free.Load(), nil }))
				require.NoError(t, err)
				defer l.Close()
				require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
				for range 3 {
					require.NoError(t, path.produce(t, l, tlog.Record{Key: []byte("k"), Value: []byte("before")}))
				}
				before, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{})
				require.NoError(t, err)
				require.Len(t, before, 3)
				size := logBytes(t, dir)

				free.Store(999_999)
				time.Sleep(time.Second) // past the guard's cached reading (fake clock)
				err = path.produce(t, l, tlog.Record{Key: []byte("k"), Value: []byte("refused")})
				require.ErrorIs(t, err, tlog.ErrDiskFull)
				require.ErrorIs(t, err, sentinel.ErrDiskFull)
				if path.name != "TransactionalProducer.Produce" { // its abort marker is exempt
					assert.Equal(t, size, logBytes(t, dir), "nothing written")
				}

				// Consumers go on: fetch, commit, delete.
				recs, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{})
				require.NoError(t, err)
				assert.Equal(t, before, recs, "no record added")
				gc, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Reset: tlog.ResetEarliest})
				require.NoError(t, err)
				_, err = gc.Poll(context.Background())
				require.NoError(t, err)
				require.NoError(t, gc.Commit(context.Background()))
				require.NoError(t, gc.Close())
				require.NoError(t, l.DeleteRecords("t", 0, 1))

				free.Store(10_000_000)
				time.Sleep(time.Second)
				require.NoError(t, path.produce(t, l, tlog.Record{Key: []byte("k"), Value: []byte("after")}))
			})
		})
	}
}

// A negative DiskFreeLimit turns the check off, and an in-memory Log ignores it.
func TestLog_DiskFreeLimitOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dir   string
		limit int64
	}{{"negative", "disk", -1}, {"in memory", "", 1 << 62}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir != "" {
				dir = t.TempDir()
			}
			l, err := tlog.Open(dir, tlog.WithDiskFree(tlog.Options{DiskFreeLimit: tc.limit},
				func(string) (int64, error) { return 0, nil }))
			require.NoError(t, err)
			defer l.Close()
			require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
			_, err = l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("v")})
			require.NoError(t, err)
		})
	}
}

// On a real file system that fills up, with the free-disk limit off, ENOSPC from a segment
// write is ErrDiskFull, and every record acknowledged before it is still there after a
// reopen. With the default limit (50 MB) on a 2 MiB file system, the first produce is refused.
func TestLog_TmpfsFull(t *testing.T) {
	dir := testfs.Tmpfs(t, "2m")

	l, err := tlog.Open(dir, &tlog.Options{DiskFreeLimit: -1})
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	value := make([]byte, 64<<10)
	var acked int64
	for {
		_, err = l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: value})
		if err != nil {
			break
		}
		acked++
		require.Less(t, acked, int64(100), "a 2 MiB file system cannot hold this much")
	}
	require.ErrorIs(t, err, tlog.ErrDiskFull)
	require.ErrorIs(t, err, sentinel.ErrDiskFull)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	require.NoError(t, l.Close())

	l, err = tlog.Open(dir, nil) // the default limit: 50 MB
	require.NoError(t, err)
	defer l.Close()
	end, _, err := l.ListOffsets("t", 0, tlog.Latest)
	require.NoError(t, err)
	assert.Equal(t, acked, end, "everything acknowledged survives; nothing partial")
	for off := range acked {
		recs, err := l.Fetch(context.Background(), "t", 0, off, tlog.FetchOptions{MaxRecords: 1})
		require.NoError(t, err)
		require.Len(t, recs, 1)
		assert.Len(t, recs[0].Value, len(value))
	}
	_, err = l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("v")})
	require.ErrorIs(t, err, tlog.ErrDiskFull, "under the default free-disk limit")
}
