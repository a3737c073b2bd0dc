package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/tribusmq/tribus/store"
)

// Tests of the bbolt backend's journal: an answered Update is in the journal, not yet in the
// bbolt file, until a checkpoint; a crash in between must lose nothing.

// noCheckpoint keeps every round in the journal for the whole test.
var noCheckpoint = &store.Options{CheckpointInterval: time.Hour, CheckpointBytes: 1 << 30}

// writeEveryKind performs one of each kind of write the journal records.
func writeEveryKind(t *testing.T, s *store.Store) {
	t.Helper()
	put(t, s, q, "a", "1")
	put(t, s, q, "b", "2")
	put(t, s, q, "a", "3")
	require.NoError(t, s.Update(func(tx *store.Tx) error { return tx.Bucket(q...).Delete([]byte("b")) }))
	put(t, s, []string{store.BucketLog, "groups", "g1"}, "t/0", "42")
	put(t, s, []string{store.BucketLog, "gone"}, "x", "y")
	require.NoError(t, s.Update(func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketLog, "gone") }))
	for range 3 {
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			_, err := tx.Bucket(q...).NextSequence()
			return err
		}))
	}
}

// checkEveryKind checks the state writeEveryKind leaves, and that the next sequence number is
// nextSeq (it takes that number).
func checkEveryKind(t *testing.T, s *store.Store, nextSeq uint64) {
	t.Helper()
	assert.Equal(t, []string{"a"}, keys(t, s, q...))
	v, _ := get(t, s, q, "a")
	assert.Equal(t, "3", v)
	v, _ = get(t, s, []string{store.BucketLog, "groups", "g1"}, "t/0")
	assert.Equal(t, "42", v)
	require.NoError(t, s.View(func(tx *store.Tx) error {
		assert.Nil(t, tx.Bucket(store.BucketLog, "gone"))
		return nil
	}))
	require.NoError(t, s.Update(func(tx *store.Tx) error {
		n, err := tx.Bucket(q...).NextSequence()
		assert.Equal(t, nextSeq, n, "the sequence survives")
		return err
	}))
}

func TestJournal_CrashBeforeCheckpointLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, noCheckpoint)
	require.NoError(t, err)
	writeEveryKind(t, s)
	assert.Zero(t, s.Stats().Checkpoints)
	require.NoError(t, store.CloseAsCrash(s))

	// The bbolt file alone does not have the writes: only the journal does.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		assert.Nil(t, tx.Bucket([]byte(store.BucketExchange)).Bucket([]byte("queues")))
		return nil
	}))
	require.NoError(t, db.Close())

	s = openFile(t, path, nil)
	checkEveryKind(t, s, 4)
	require.NoError(t, s.Close())
	fi, err := os.Stat(store.JournalPath(path))
	require.NoError(t, err)
	assert.Equal(t, int64(8), fi.Size(), "Close checkpoints and empties the journal")
	s = openFile(t, path, nil)
	checkEveryKind(t, s, 5)
}

func TestJournal_TornTailIsDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, noCheckpoint)
	require.NoError(t, err)
	put(t, s, q, "k", "v")
	require.NoError(t, store.CloseAsCrash(s))

	// A record cut short, as if the process died while appending it.
	torn := store.EncodeJournal(store.EncodePut(q, "k", "v"), store.EncodePut(q, "torn", "x"))
	f, err := os.OpenFile(store.JournalPath(path), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(torn[len(torn)-20:])
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s = openFile(t, path, nil)
	assert.Equal(t, []string{"k"}, keys(t, s, q...))
}

func TestJournal_RecordsTheFileAlreadyHoldsAreSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, nil)
	require.NoError(t, err)
	put(t, s, q, "k", "v")
	require.NoError(t, s.Close()) // checkpoint 1 is in the file

	// A journal left over from before that checkpoint, as a crash right after it can leave: its
	// record 1 would fail to apply (the bucket path does not exist), so it must not be applied.
	old := store.EncodeJournal(store.EncodePut([]string{store.BucketLog, "missing"}, "k", "v"))
	require.NoError(t, os.WriteFile(store.JournalPath(path), old, 0o600))
	s = openFile(t, path, nil)
	assert.Equal(t, []string{"k"}, keys(t, s, q...))
}

func TestJournal_ValidRecordThatCannotApplyIsErrCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	bad := store.EncodeJournal(
		store.EncodePut(q[:1], "fine", "v"), // applies, but is not kept: record 2 fails
		store.EncodePut([]string{store.BucketLog, "missing"}, "k", "v"),
	)
	require.NoError(t, os.WriteFile(store.JournalPath(path), bad, 0o600))
	_, err = store.Open(path, nil)
	require.ErrorIs(t, err, store.ErrCorrupt)
	assert.Contains(t, err.Error(), "missing")

	// Nothing was changed: with the bad journal emptied, the file opens without record 1.
	require.NoError(t, os.WriteFile(store.JournalPath(path), store.EncodeJournal(), 0o600))
	s = openFile(t, path, nil)
	_, ok := get(t, s, q[:1], "fine")
	assert.False(t, ok)
}

func TestJournal_NotAJournalIsErrCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.WriteFile(store.JournalPath(path), []byte("definitely not"), 0o600))
	_, err = store.Open(path, nil)
	assert.ErrorIs(t, err, store.ErrCorrupt)
}

func TestJournal_CheckpointEveryCheckpointBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s := openFile(t, path, &store.Options{CheckpointBytes: 1, CheckpointInterval: time.Hour})
	for range 5 {
		put(t, s, q, "k", "v")
	}
	assert.Equal(t, uint64(5), s.Stats().Checkpoints, "every round is over one byte")
	fi, err := os.Stat(store.JournalPath(path))
	require.NoError(t, err)
	assert.Equal(t, int64(8), fi.Size())
	require.NoError(t, store.CloseAsCrash(s))
	s = openFile(t, path, nil)
	assert.Equal(t, []string{"k"}, keys(t, s, q...))
}

func TestJournal_DueCheckpointRunsBeforeTheNextRound(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), noCheckpoint)
	put(t, s, q, "k", "v")
	assert.Zero(t, s.Stats().Checkpoints)
	store.MakeCheckpointDue(s) // what the CheckpointInterval timer does
	put(t, s, q, "k2", "v")
	assert.Equal(t, uint64(1), s.Stats().Checkpoints)
}

func TestJournal_FailedUpdateKeepsEarlierRounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, noCheckpoint)
	require.NoError(t, err)
	put(t, s, q, "a", "1")
	boom := errors.New("boom")
	require.ErrorIs(t, s.Update(func(tx *store.Tx) error {
		require.NoError(t, tx.Bucket(q...).Put([]byte("b"), []byte("2")))
		return boom
	}), boom)
	put(t, s, q, "c", "3")
	assert.Equal(t, []string{"a", "c"}, keys(t, s, q...), "the rollback undid b only")
	require.NoError(t, store.CloseAsCrash(s))
	s = openFile(t, path, nil)
	assert.Equal(t, []string{"a", "c"}, keys(t, s, q...))
}

func TestJournal_ViewsSeeAnsweredRoundsWhileUpdatesRun(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), noCheckpoint)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				key := string(rune('a'+w)) + string(rune('0'+i%10))
				put(t, s, q, key, "v")
				_, ok := get(t, s, q, key)
				assert.True(t, ok, "a View after Update sees it")
			}
		})
	}
	wg.Wait()
	assert.Len(t, keys(t, s, q...), 40)
}

func FuzzJournal_Apply(f *testing.F) {
	f.Add(store.EncodeJournal(store.EncodePut(q, "k", "v")))
	f.Add(store.EncodeJournal(store.EncodePut([]string{store.BucketLog}, "k", ""), store.EncodePut(q[:1], "x", "y")))
	f.Add([]byte("tribWAL\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := store.OpenMemory()
		defer s.Close()
		// Any input either applies or is refused with ErrCorrupt; it never panics.
		err := s.Update(func(tx *store.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(q...); err != nil {
				return err
			}
			return store.ApplyJournal(tx, data)
		})
		if err != nil && !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("want nil or ErrCorrupt, got %v", err)
		}
	})
}
