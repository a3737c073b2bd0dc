package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// within runs fn in a goroutine and fails the test, naming what, if it has not returned after
// d: a watchdog for calls that used to deadlock. It is not a wait for a result; fn returns at
// once when the code is right.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v (deadlock)", what, d)
	}
}

// A call from inside an Update function to the same bbolt store waits for the committer that
// is running it. It used to deadlock (and Close hung after it); now it is ErrNestedTx, changes
// nothing, and the outer Update and a later Close go on.
func TestStore_NestedCallIsErrNestedTx(t *testing.T) {
	inner := func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put([]byte("inner"), []byte("x")) }
	for _, tc := range []struct {
		name  string
		dirty bool // a round not yet checkpointed, so that View must borrow the committer's tx
		call  func(s *store.Store) error
	}{
		{"Update", false, func(s *store.Store) error { return s.Update(inner) }},
		{"Submit then wait", false, func(s *store.Store) error { return s.Submit(inner)() }},
		{"View", false, func(s *store.Store) error { return s.View(func(*store.Tx) error { return nil }) }},
		{"View of unsaved rounds", true, func(s *store.Store) error { return s.View(func(*store.Tx) error { return nil }) }},
		{"Close", false, func(s *store.Store) error { return s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tribus.db")
			s, err := store.Open(path, &store.Options{CheckpointInterval: time.Hour})
			require.NoError(t, err)
			if tc.dirty {
				put(t, s, []string{store.BucketLog}, "before", "1")
			}
			var nestedErr error
			within(t, 5*time.Second, "the outer Update", func() {
				err = s.Update(func(tx *store.Tx) error {
					nestedErr = tc.call(s)
					return tx.Bucket(store.BucketLog).Put([]byte("outer"), []byte("y"))
				})
			})
			require.NoError(t, err)
			require.ErrorIs(t, nestedErr, store.ErrNestedTx)

			v, ok := get(t, s, []string{store.BucketLog}, "outer")
			assert.True(t, ok)
			assert.Equal(t, "y", v)
			_, ok = get(t, s, []string{store.BucketLog}, "inner")
			assert.False(t, ok, "the nested function never runs")
			within(t, 5*time.Second, "Close", func() { err = s.Close() })
			require.NoError(t, err)

			s2 := openFile(t, path, nil)
			_, ok = get(t, s2, []string{store.BucketLog}, "inner")
			assert.False(t, ok, "not even in a later round")
		})
	}
}

// Submit from inside an Update function does not wait, so it is not a nested wait: its
// function commits in a later round, as the package documentation says.
func TestStore_SubmitWithoutWaitInsideUpdateCommitsLater(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), nil)
	var wait func() error
	within(t, 5*time.Second, "Update", func() {
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			if wait == nil { // a function may run more than once
				wait = s.Submit(putFn("later"))
			}
			return nil
		}))
	})
	within(t, 5*time.Second, "wait", func() { require.NoError(t, wait()) })
	_, ok := get(t, s, []string{store.BucketLog}, "later")
	assert.True(t, ok)
}
