package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/store"
)

// A checkpoint whose bbolt write fails (here: the bbolt file's descriptor is made read-only
// under bbolt, so pwrite fails with EBADF) stops the store with ErrIO; the rounds stay in the
// journal, and a reopen replays them. Close reports the failure.
func TestStore_CheckpointWriteFailureStopsWritesAndLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	var boltFile *os.File
	s, err := store.Open(path, &store.Options{CheckpointInterval: time.Hour,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			boltFile = f
			return f, err
		}})
	require.NoError(t, err)
	require.NoError(t, putErr(s, "a"))
	ro, err := os.Open(path)
	require.NoError(t, err)
	defer ro.Close()
	require.NoError(t, syscall.Dup3(int(ro.Fd()), int(boltFile.Fd()), syscall.O_CLOEXEC))

	store.MakeCheckpointDue(s)
	err = putErr(s, "b") // runs after the due checkpoint, which fails
	if err == nil {
		err = putErr(s, "c")
	}
	require.ErrorIs(t, err, store.ErrIO)
	cerr := s.Close()
	require.ErrorIs(t, cerr, store.ErrIO, "Close reports the failed checkpoint")
	assert.ErrorIs(t, cerr, syscall.EBADF)

	s2 := openFile(t, path, nil)
	_, ok := get(t, s2, logBucket, "a")
	assert.True(t, ok, "replayed from the journal")
	assert.True(t, errors.Is(err, sentinel.ErrIO))
}
