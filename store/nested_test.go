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

// A call from inside a transaction function to the same store would wait for something the
// caller itself holds: on the bbolt backend the committer running the outer Update, or the
// read transaction of the outer View; on the memory backend the lock of the outer transaction.
// It used to deadlock (and Close hung after it); now it is ErrNestedTx on both backends, for
// every kind of outer and inner call, it changes nothing, and the outer call and a later Close
// go on.
func TestStore_NestedCallIsErrNestedTx(t *testing.T) {
	inner := func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put([]byte("inner"), []byte("x")) }
	calls := []struct {
		name string
		call func(s *store.Store) error
	}{
		{"Update", func(s *store.Store) error { return s.Update(inner) }},
		{"Submit then wait", func(s *store.Store) error { return s.Submit(inner)() }},
		{"View", func(s *store.Store) error { return s.View(func(*store.Tx) error { return nil }) }},
		{"Close", func(s *store.Store) error { return s.Close() }},
	}
	for _, backend := range []struct {
		name  string
		file  bool
		dirty bool // a round not yet checkpointed, so that View must borrow the committer's tx
	}{{"memory", false, false}, {"bbolt", true, false}, {"bbolt with unsaved rounds", true, true}} {
		for _, outer := range []string{"Update", "View"} {
			for _, tc := range calls {
				t.Run(backend.name+"/"+tc.name+" inside "+outer, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "tribus.db")
					s := store.OpenMemory()
					if backend.file {
						var err error
						s, err = store.Open(path, &store.Options{CheckpointInterval: time.Hour})
						require.NoError(t, err)
					}
					if backend.dirty {
						put(t, s, []string{store.BucketLog}, "before", "1")
					}
					var err, nestedErr error
					within(t, 5*time.Second, "the outer "+outer, func() {
						if outer == "View" {
							err = s.View(func(*store.Tx) error { nestedErr = tc.call(s); return nil })
							return
						}
						err = s.Update(func(tx *store.Tx) error {
							nestedErr = tc.call(s)
							return tx.Bucket(store.BucketLog).Put([]byte("outer"), []byte("y"))
						})
					})
					require.NoError(t, err)
					_, innerRan := get(t, s, []string{store.BucketLog}, "inner")
					if backend.file && !backend.dirty && outer == "View" && tc.name == "Submit then wait" && nestedErr == nil {
						// The committer is free during a plain read transaction, so it may have
						// committed fn before the wait began: then the wait has nothing to wait
						// for, and fn's write is there.
						assert.True(t, innerRan)
					} else {
						require.ErrorIs(t, nestedErr, store.ErrNestedTx)
						assert.False(t, innerRan, "the nested function never runs")
					}
					if outer == "Update" {
						v, ok := get(t, s, []string{store.BucketLog}, "outer")
						assert.True(t, ok)
						assert.Equal(t, "y", v)
					}
					within(t, 5*time.Second, "Close", func() { err = s.Close() })
					require.NoError(t, err)
					if !backend.file || innerRan {
						return
					}
					s2 := openFile(t, path, nil)
					_, ok := get(t, s2, []string{store.BucketLog}, "inner")
					assert.False(t, ok, "not even in a later round")
				})
			}
		}
	}
}

// Only a call into the same store is refused: inside a transaction of one store, another
// store's Update, View and Close work as usual, also while a third goroutine holds that other
// store's lock (which sends the call down the path that reads the stack).
func TestStore_CallIntoAnotherStoreInsideATransactionIsNotNested(t *testing.T) {
	for _, file := range []bool{false, true} {
		open := func() *store.Store {
			if file {
				return openFile(t, filepath.Join(t.TempDir(), "tribus.db"), nil)
			}
			return store.OpenMemory()
		}
		a, b := open(), open()
		hold, release := make(chan struct{}), make(chan struct{})
		go func() {
			_ = b.Update(func(*store.Tx) error { close(hold); <-release; return nil })
		}()
		<-hold
		var innerErr error
		done := make(chan error, 1)
		go func() {
			done <- a.Update(func(*store.Tx) error {
				innerErr = b.Update(putFn("from-a"))
				if innerErr == nil {
					innerErr = b.View(func(*store.Tx) error { return nil })
				}
				return nil
			})
		}()
		close(release)
		within(t, 5*time.Second, "the outer Update", func() { require.NoError(t, <-done) })
		require.NoError(t, innerErr)
		_, ok := get(t, b, []string{store.BucketLog}, "from-a")
		assert.True(t, ok)
		require.NoError(t, b.Close())
		require.NoError(t, a.Close())
	}
}

// The marks a transaction leaves on its goroutine's stack name exactly its store: inside
// transactions of ids x and then y, the caller is in x and in y and in no other id, including
// ids that differ from x or y in one bit or spell a prefix of them.
func TestStore_TransactionMarksNameExactlyTheirStore(t *testing.T) {
	for _, x := range []uint64{1, 2, 3, 6, 255, 256, 1<<40 + 5, 1<<64 - 1} {
		y := x*7 + 1
		store.InTx(x, func() error {
			store.InTx(y, func() error {
				assert.True(t, store.CallerInTx(x), "x=%d", x)
				assert.True(t, store.CallerInTx(y), "y=%d", y)
				for _, other := range []uint64{x ^ 1, x ^ 1<<63, x >> 1, x<<1 | 1, y ^ 2, y >> 1, 0} {
					if other != x && other != y {
						assert.False(t, store.CallerInTx(other), "x=%d y=%d other=%d", x, y, other)
					}
				}
				return nil
			})
			assert.False(t, store.CallerInTx(y), "after y's transaction, x=%d y=%d", x, y)
			return nil
		})
		assert.False(t, store.CallerInTx(x), "outside every transaction, x=%d", x)
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

// ViewCheckpointed reads the bbolt file as of the last checkpoint: it does not see a round
// answered since (View does), it sees it once Checkpoints has moved past, and it never waits
// for the committer, even while the committer is held in the middle of a round.
func TestStore_ViewCheckpointedReadsTheLastCheckpointWithoutWaiting(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), &store.Options{CheckpointInterval: time.Hour})
	readA := func(view func(func(*store.Tx) error) error) (found bool) {
		require.NoError(t, view(func(tx *store.Tx) error {
			found = tx.Bucket(store.BucketLog).Get([]byte("a")) != nil
			return nil
		}))
		return found
	}
	before := s.Checkpoints()
	put(t, s, []string{store.BucketLog}, "a", "1")
	assert.True(t, readA(s.View), "View sees the answered round")
	if s.Checkpoints() == before {
		assert.False(t, readA(s.ViewCheckpointed), "the round is not in the file yet")
	}

	hold, release := make(chan struct{}), make(chan struct{})
	var once bool
	store.SetBeforeCommit(s, func() {
		if !once {
			once = true
			close(hold)
			<-release
		}
	})
	go func() { _ = s.Update(putFn("b")) }()
	<-hold // the committer is stuck inside a round
	within(t, 5*time.Second, "ViewCheckpointed", func() { readA(s.ViewCheckpointed) })
	close(release)

	require.NoError(t, s.Close())
}

// Once a checkpoint has completed after an Update returned, ViewCheckpointed sees it.
func TestStore_ViewCheckpointedSeesWhatACheckpointMoved(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), &store.Options{CheckpointBytes: 1})
	put(t, s, []string{store.BucketLog}, "a", "1")
	after := s.Checkpoints()
	put(t, s, []string{store.BucketLog}, "b", "2") // its round is over the checkpoint size too
	require.Greater(t, s.Checkpoints(), after)
	var found bool
	require.NoError(t, s.ViewCheckpointed(func(tx *store.Tx) error {
		found = tx.Bucket(store.BucketLog).Get([]byte("a")) != nil
		return nil
	}))
	assert.True(t, found)
}
