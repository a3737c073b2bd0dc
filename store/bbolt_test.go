package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/tribusmq/tribus/store"
)

// Tests in this file concern the file itself, so they run on the bbolt backend only.

func openFile(t *testing.T, path string, opts *store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpen_ReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s := openFile(t, path, nil)
	assert.Equal(t, path, s.Path())
	put(t, s, q, "k", "v")
	require.NoError(t, s.Update(func(tx *store.Tx) error {
		_, err := tx.Bucket(q...).NextSequence()
		return err
	}))
	require.NoError(t, s.Close())

	s = openFile(t, path, nil)
	v, ok := get(t, s, q, "k")
	assert.True(t, ok)
	assert.Equal(t, "v", v)
	require.NoError(t, s.Update(func(tx *store.Tx) error {
		n, err := tx.Bucket(q...).NextSequence()
		assert.Equal(t, uint64(2), n)
		return err
	}))
}

// A checkpoint reads each page it added to the file once through bbolt's map, so that the
// first reader of the page does not pay for the first access; pages the file had at Open are
// left alone.
func TestCheckpoint_ReadsThePagesItAddedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s := openFile(t, path, nil)
	require.NoError(t, s.Close())
	s = openFile(t, path, &store.Options{CheckpointBytes: 256 << 10})
	atOpen := store.BytesTouched(s)
	assert.Positive(t, atOpen, "the file's size at Open")
	const values, size = 512, 4 << 10
	for i := range values {
		put(t, s, q, fmt.Sprint(i), strings.Repeat("v", size))
	}
	require.NoError(t, s.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	touched := store.BytesTouched(s)
	assert.GreaterOrEqual(t, touched, atOpen+values*size, "the pages the checkpoints added were not all read")
	assert.LessOrEqual(t, touched, fi.Size(), "read past the end of the file")
}

func TestOpen_RefusesUnknownSchemaVersion(t *testing.T) {
	cases := map[string]func(tx *bolt.Tx) error{
		"version 99": func(tx *bolt.Tx) error {
			v := binary.BigEndian.AppendUint32(nil, 99)
			return tx.Bucket([]byte(store.BucketMeta)).Put([]byte(store.SchemaKey), v)
		},
		"no version": func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(store.BucketMeta)).Delete([]byte(store.SchemaKey))
		},
		"malformed version": func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(store.BucketMeta)).Put([]byte(store.SchemaKey), []byte{1})
		},
		"no meta bucket": func(tx *bolt.Tx) error {
			return tx.DeleteBucket([]byte(store.BucketMeta))
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tribus.db")
			s := openFile(t, path, nil)
			require.NoError(t, s.Close())

			db, err := bolt.Open(path, 0o600, nil)
			require.NoError(t, err)
			require.NoError(t, db.Update(tamper))
			require.NoError(t, db.Close())

			s, err = store.Open(path, nil)
			require.ErrorIs(t, err, store.ErrSchemaVersion)
			assert.Nil(t, s)
			if name == "version 99" {
				assert.ErrorContains(t, err, "file has 99, this build knows 1")
			}

			// The refused file was closed, so bbolt can open it again at once.
			db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			require.NoError(t, err)
			require.NoError(t, db.Close())
		})
	}
}

func TestOpen_FileAndDirectoryPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "broker")
	path := filepath.Join(dir, "tribus.db")
	openFile(t, path, nil)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, err = os.Stat(d)
		require.NoError(t, err)
		assert.True(t, fi.IsDir())
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), d)
	}
}

func TestOpen_SecondHandleIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	openFile(t, path, nil)

	s, err := store.Open(path, &store.Options{LockTimeout: 10 * time.Millisecond})
	assert.ErrorIs(t, err, store.ErrLocked)
	assert.Nil(t, s)
}

func TestOpen_InvalidOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	for _, o := range []store.Options{{MaxBatch: -1}, {LockTimeout: -time.Second}} {
		_, err := store.Open(path, &o)
		assert.Error(t, err, "%+v", o)
	}
	_, err := store.Open("", nil)
	assert.Error(t, err)
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "invalid options create nothing")
}

func TestOpen_NoSyncStillWorks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s := openFile(t, path, &store.Options{NoSync: true})
	put(t, s, q, "k", "v")
	require.NoError(t, s.Close())
	s = openFile(t, path, nil)
	v, _ := get(t, s, q, "k")
	assert.Equal(t, "v", v)
}

func TestOpen_UsesOptionsOpenFile(t *testing.T) {
	injected := errors.New("injected open failure")
	var calls int
	_, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), &store.Options{
		OpenFile: func(string, int, os.FileMode) (*os.File, error) {
			calls++
			return nil, injected
		},
	})
	assert.ErrorIs(t, err, injected)
	assert.Equal(t, 1, calls)
}

func TestOpenMemory_NoPath(t *testing.T) {
	s := store.OpenMemory()
	defer s.Close()
	assert.Empty(t, s.Path())
}

func TestStore_Stats(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), nil)
	assert.Equal(t, store.Stats{}, s.Stats(), "opening is not an Update")
	for range 3 {
		put(t, s, q, "k", "v")
	}
	assert.ErrorIs(t, s.Update(func(*store.Tx) error { return os.ErrInvalid }), os.ErrInvalid)
	assert.Equal(t, store.Stats{Updates: 3, Commits: 3, Failed: 1}, s.Stats(),
		"serial updates pay one commit each, and a failed one none")
}

func TestStore_SyncIntervalCommitsAndSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, &store.Options{SyncInterval: time.Millisecond})
	require.NoError(t, err)
	for i := range 20 {
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			return tx.Bucket(store.BucketExchange).Put([]byte{byte(i)}, []byte("v"))
		}))
	}
	require.NoError(t, s.Close())
	s, err = store.Open(path, nil)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.View(func(tx *store.Tx) error {
		n := 0
		err := tx.Bucket(store.BucketExchange).ForEach(func(k, v []byte) error { n++; return nil })
		assert.Equal(t, 20, n)
		return err
	}))
	_, err = store.Open(filepath.Join(t.TempDir(), "x.db"), &store.Options{SyncInterval: -1})
	assert.Error(t, err)
}
