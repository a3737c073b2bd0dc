package segfstest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/log/internal/segfs"
)

func TestFaultFS_TornWriteAndFailedCalls(t *testing.T) {
	ForEach(t, func(t *testing.T, base segfs.FS, dir string) {
		fsys := &FaultFS{FS: base}
		f, err := fsys.Open(filepath.Join(dir, "a.log"))
		require.NoError(t, err)
		defer f.Close()
		fsys.SetHook(func(op, _ string, p []byte) (int, error) {
			if op == "write" {
				return len(p) / 2, ErrInjected
			}
			return 0, ErrInjected
		})
		n, err := f.Write([]byte("abcd"))
		assert.ErrorIs(t, err, ErrInjected)
		assert.Equal(t, 2, n)
		assert.Equal(t, int64(2), f.Size(), "a torn write leaves its prefix")
		assert.ErrorIs(t, f.Sync(), ErrInjected)
		assert.ErrorIs(t, f.Truncate(0), ErrInjected)
		fsys.SetHook(nil)
		require.NoError(t, f.Truncate(0))
		assert.Equal(t, int64(0), f.Size())
	})
}
