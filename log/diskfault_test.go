package log

import (
	"context"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/log/internal/segfs/segfstest"
	"github.com/tribusmq/tribus/log/internal/segment"
)

// openFaulty opens a Log in a temporary directory on a faultFS over the real file system, with
// topic "t" of one partition; the hook starts off.
func openFaulty(t *testing.T, cfg TopicConfig) (*Log, *segfstest.FaultFS, string) {
	t.Helper()
	dir := t.TempDir()
	fsys := &segfstest.FaultFS{FS: segfs.OS()}
	l, err := Open(dir, &Options{fs: fsys, DiskFreeLimit: -1})
	require.NoError(t, err)
	t.Cleanup(func() { fsys.SetHook(nil); _ = l.Close() })
	require.NoError(t, l.CreateTopic("t", cfg))
	return l, fsys, dir
}

// failOn returns a hook that fails op on files whose names end in suffix with errno (after
// writing half of p, for a write), every time while on is true.
func failOn(op, suffix string, errno syscall.Errno) func(string, string, []byte) (int, error) {
	return func(o, name string, p []byte) (int, error) {
		if o != op || !strings.HasSuffix(name, suffix) {
			return 0, nil
		}
		return len(p) / 2, &fs.PathError{Op: op, Path: name, Err: errno}
	}
}

func produceValue(l *Log, v string) (int64, error) {
	res, err := l.ProduceTo(context.Background(), "t", 0, Record{Value: []byte(v)})
	return res.Offset, err
}

// requireValues checks that partition 0 of "t" holds exactly values, from offset 0.
func requireValues(t *testing.T, l *Log, values ...string) {
	t.Helper()
	recs, err := l.Fetch(context.Background(), "t", 0, 0, FetchOptions{})
	require.NoError(t, err)
	var got []string
	for i, r := range recs {
		assert.Equal(t, int64(i), r.Offset)
		got = append(got, string(r.Value))
	}
	assert.Equal(t, values, got)
}

// A failed (short) write of a segment is ErrDiskFull for ENOSPC and ErrIO otherwise, both
// matching the shared sentinels, with the *PathError reachable; the partial batch is cut off,
// so the next produce takes the same offset and a reopen finds only acknowledged records.
func TestLog_SegmentWriteFailureIsTypedAndLeavesNoPartialBatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		errno      syscall.Errno
		want, root error
	}{
		{"ENOSPC", syscall.ENOSPC, ErrDiskFull, sentinel.ErrDiskFull},
		{"EDQUOT", syscall.EDQUOT, ErrDiskFull, sentinel.ErrDiskFull},
		{"EIO", syscall.EIO, ErrIO, sentinel.ErrIO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, fsys, dir := openFaulty(t, TopicConfig{})
			_, err := produceValue(l, "a")
			require.NoError(t, err)
			fsys.SetHook(failOn("write", segment.LogSuffix, tc.errno))
			_, err = produceValue(l, "lost")
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, tc.root)
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.errno, pe.Err)
			fsys.SetHook(nil)

			off, err := produceValue(l, "b")
			require.NoError(t, err)
			assert.Equal(t, int64(1), off, "the failed batch took no offset")
			requireValues(t, l, "a", "b")
			require.NoError(t, l.Close())

			l, err = Open(dir, &Options{fs: fsys, DiskFreeLimit: -1})
			require.NoError(t, err)
			defer l.Close()
			requireValues(t, l, "a", "b")
		})
	}
}

// If the partial write cannot even be cut off, the segment refuses every later write with the
// same typed error rather than append after garbage; what was acknowledged stays readable.
func TestLog_SegmentWriteAndTruncateFailureStopsWrites(t *testing.T) {
	l, fsys, _ := openFaulty(t, TopicConfig{})
	_, err := produceValue(l, "a")
	require.NoError(t, err)
	fsys.SetHook(func(op, name string, p []byte) (int, error) {
		if strings.HasSuffix(name, segment.LogSuffix) && (op == "write" || op == "truncate") {
			return len(p) / 2, &fs.PathError{Op: op, Path: name, Err: syscall.EIO}
		}
		return 0, nil
	})
	_, err = produceValue(l, "lost")
	require.ErrorIs(t, err, ErrIO)
	fsys.SetHook(nil)
	_, err = produceValue(l, "b")
	require.ErrorIs(t, err, ErrIO, "no write after an unrepaired partial one")
	requireValues(t, l, "a")
}

// A failed fsync of the active segment fails the produce with ErrIO and, for good, every later
// one: the kernel may have dropped the pages it could not write, so a later fsync that
// succeeds proves nothing (PostgreSQL's "fsyncgate"). The high watermark stays where it was,
// so the unacknowledged record is never served; fetches of acknowledged records go on.
func TestLog_SegmentSyncFailureStopsProducesUntilReopen(t *testing.T) {
	l, fsys, dir := openFaulty(t, TopicConfig{})
	_, err := produceValue(l, "a")
	require.NoError(t, err)
	fsys.SetHook(failOn("sync", segment.LogSuffix, syscall.EIO))
	_, err = produceValue(l, "unacked")
	require.ErrorIs(t, err, ErrIO)
	require.ErrorIs(t, err, sentinel.ErrIO)
	fsys.SetHook(nil)

	_, err = produceValue(l, "b")
	require.ErrorIs(t, err, ErrIO, "the partition stays failed after the disk recovers")
	requireValues(t, l, "a")
	end, _, err := l.ListOffsets("t", 0, Latest)
	require.NoError(t, err)
	assert.Equal(t, int64(1), end)
	require.NoError(t, l.Close())

	// Reopening checks the tail and takes produces again. The record whose produce failed
	// may be there (its bytes were written, as a Kafka produce that timed out may be).
	l, err = Open(dir, &Options{fs: fsys, DiskFreeLimit: -1})
	require.NoError(t, err)
	defer l.Close()
	off, err := produceValue(l, "c")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, off, int64(1))
}

// A failed write or sync of an index file when the segment rolls is a typed error too, and the
// partition stops taking produces, as after a failed fsync.
func TestLog_IndexWriteFailureAtRollIsTyped(t *testing.T) {
	for _, tc := range []struct {
		name, op, suffix string
		errno            syscall.Errno
		want             error
	}{
		{"index write ENOSPC", "write", segment.IndexSuffix, syscall.ENOSPC, ErrDiskFull},
		{"time index write EIO", "write", segment.TimeIndexSuffix, syscall.EIO, ErrIO},
		{"index sync EIO", "sync", segment.IndexSuffix, syscall.EIO, ErrIO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, fsys, _ := openFaulty(t, TopicConfig{SegmentBytes: 200})
			_, err := produceValue(l, "a")
			require.NoError(t, err)
			fsys.SetHook(failOn(tc.op, tc.suffix, tc.errno))
			var perr error
			for range 10 { // until the segment rolls
				if _, perr = produceValue(l, strings.Repeat("x", 50)); perr != nil {
					break
				}
			}
			require.ErrorIs(t, perr, tc.want)
			fsys.SetHook(nil)
			_, err = produceValue(l, "b")
			require.ErrorIs(t, err, tc.want)
			recs, err := l.Fetch(context.Background(), "t", 0, 0, FetchOptions{})
			require.NoError(t, err)
			assert.Equal(t, "a", string(recs[0].Value))
		})
	}
}
