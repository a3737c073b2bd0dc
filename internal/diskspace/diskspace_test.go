package diskspace

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
)

func TestWrap_ClassifiesErrors(t *testing.T) {
	enospc := &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"enospc", enospc, sentinel.ErrDiskFull},
		{"edquot", fmt.Errorf("sync: %w", syscall.EDQUOT), sentinel.ErrDiskFull},
		{"eio", &fs.PathError{Op: "read", Path: "x", Err: syscall.EIO}, sentinel.ErrIO},
		{"corrupt kept", fmt.Errorf("%w: bad", sentinel.ErrCorrupt), sentinel.ErrCorrupt},
		{"closed kept", sentinel.ErrClosed, sentinel.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Wrap(tc.err)
			assert.ErrorIs(t, got, tc.want)
			assert.ErrorIs(t, got, tc.err, "the original error stays reachable")
		})
	}
	assert.NoError(t, Wrap(nil))
	var pe *fs.PathError
	assert.True(t, errors.As(Wrap(enospc), &pe))
}

func TestGuard_RefusesUnderTheLimitAndNoticesFreedSpace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		free, calls := int64(1000), 0
		g := NewGuardFunc("d", 500, func(string) (int64, error) { calls++; return free, nil })
		require.NoError(t, g.Reserve(400), "1000 free, 600 left after the write")
		require.NoError(t, g.Reserve(100), "counted down without a new reading")
		assert.Equal(t, 1, calls)
		err := g.Reserve(1)
		require.ErrorIs(t, err, sentinel.ErrDiskFull, "the countdown says 500, one more byte crosses the limit")
		assert.Equal(t, 1, calls, "within retryAfter of the reading, no new statfs")

		free = 10_000 // space is freed
		time.Sleep(retryAfter)
		require.NoError(t, g.Reserve(1))
		assert.Equal(t, 2, calls)
		assert.Equal(t, int64(500), g.Limit())
	})
}

func TestGuard_RereadsAfterRestatInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		free := int64(1 << 30)
		g := NewGuardFunc("d", 100, func(string) (int64, error) { return free, nil })
		require.NoError(t, g.Reserve(1))
		free = 50 // someone else filled the disk
		require.NoError(t, g.Reserve(1), "the reading is still trusted")
		time.Sleep(restatAfter)
		require.ErrorIs(t, g.Reserve(1), sentinel.ErrDiskFull)
	})
}

func TestGuard_OffAndUnreadable(t *testing.T) {
	var nilGuard *Guard
	assert.NoError(t, nilGuard.Reserve(1<<40))
	assert.Zero(t, nilGuard.Limit())
	off := NewGuardFunc("d", -1, func(string) (int64, error) { return 0, nil })
	assert.NoError(t, off.Reserve(1))
	assert.Zero(t, off.Limit())
	broken := NewGuardFunc("d", 10, func(string) (int64, error) { return 0, errors.ErrUnsupported })
	assert.NoError(t, broken.Reserve(1), "an unreadable free space leaves the answer to the file system")
	assert.Equal(t, int64(DefaultLimit), NewGuard("d", 0).Limit())
}

func TestFree_ReadsTheFileSystem(t *testing.T) {
	n, err := Free(t.TempDir())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no statfs here")
	}
	require.NoError(t, err)
	assert.Positive(t, n)
}

func TestGuard_RefusalNamesTheDirectoryAndLimit(t *testing.T) {
	g := NewGuardFunc("/data", 100, func(string) (int64, error) { return 40, nil })
	err := g.Reserve(1)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, LimitError{Dir: "/data", Free: 40, Limit: 100}, *le)
	assert.ErrorIs(t, err, sentinel.ErrDiskFull)
	assert.Equal(t, "/data has 40 bytes free, under the free-disk limit of 100 bytes", err.Error())
}
