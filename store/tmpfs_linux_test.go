package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/internal/testfs"
	"github.com/tribusmq/tribus/store"
)

// tmpfs is testfs.Tmpfs: a small file system to fill.
func tmpfs(t *testing.T, size string) string { t.Helper(); return testfs.Tmpfs(t, size) }

// fill writes values of n bytes into s, one Update each, until one fails, and returns the keys
// that were answered and the error.
func fill(t *testing.T, s *store.Store, n int) ([]string, error) {
	t.Helper()
	value := make([]byte, n)
	var acked []string
	for i := 0; ; i++ {
		key := fmt.Sprintf("k%05d", i)
		err := s.Update(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put([]byte(key), value) })
		if err != nil {
			return acked, err
		}
		acked = append(acked, key)
		require.Less(t, i, 10000, "the file system never filled")
	}
}

// Issue 11, Open after a disk-full event. The store fills a 2 MiB tmpfs until a journal write
// gets ErrDiskFull, then is closed (its final checkpoint fails for lack of space too) or
// abandoned as in a crash. Open used to fail, even after space was freed, because it replayed
// the whole journal into the bbolt file in one transaction, which needs as much space again
// while the journal still holds it. Now it replays in chunks and punches each applied chunk out
// of the journal, and what does not fit stays in the journal as rounds not yet checkpointed:
// with nothing freed it opens and serves every answered Update; once a little is freed the
// checkpoints succeed again.
func TestStore_TmpfsOpenAfterDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name  string
		crash bool
		value int
	}{
		{"closed", false, 4000},
		{"crashed", true, 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tmpfs(t, "2m")
			path := filepath.Join(dir, "tribus.db")
			filler := filepath.Join(dir, "filler")
			require.NoError(t, os.WriteFile(filler, make([]byte, 256<<10), 0o600))
			opts := &store.Options{CheckpointInterval: time.Hour} // no timer: the same run each time
			s, err := store.Open(path, opts)
			require.NoError(t, err)
			acked, err := fill(t, s, tc.value)
			require.ErrorIs(t, err, store.ErrDiskFull)
			require.ErrorIs(t, err, sentinel.ErrDiskFull)
			require.ErrorIs(t, err, syscall.ENOSPC)
			if tc.crash {
				require.NoError(t, store.CloseAsCrash(s))
			} else {
				assert.ErrorIs(t, s.Close(), store.ErrDiskFull, "the final checkpoint has no room either")
			}

			s, err = store.Open(path, opts)
			require.NoError(t, err, "opens with nothing freed: what does not fit stays in the journal")
			seen := 0
			require.NoError(t, s.View(func(tx *store.Tx) error {
				return tx.Bucket(store.BucketLog).ForEach(func(k, v []byte) error { seen++; return nil })
			}))
			assert.Equal(t, len(acked), seen, "every answered Update is readable at once")
			err = s.Close()
			if err != nil {
				require.ErrorIs(t, err, store.ErrDiskFull, "the checkpoint at Close has no room; the journal keeps it all")
			}

			require.NoError(t, os.Remove(filler))
			s, err = store.Open(path, opts)
			require.NoError(t, err, "a little space is enough")
			require.NoError(t, s.View(func(tx *store.Tx) error {
				b := tx.Bucket(store.BucketLog)
				n := 0
				require.NoError(t, b.ForEach(func(k, v []byte) error {
					n++
					assert.Len(t, v, tc.value, string(k))
					return nil
				}))
				assert.Equal(t, len(acked), n, "every answered Update, and not the failed one")
				for _, k := range acked {
					assert.NotNil(t, b.Get([]byte(k)), k)
				}
				return nil
			}))
			require.NoError(t, s.Close())
		})
	}
}
