package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// gate holds the committer at its first commit, so that later Updates queue up behind it.
type gate struct {
	entered chan struct{} // closed when the first commit is reached
	release chan struct{} // closed by the test to let it proceed
	calls   int           // touched only by the committer goroutine
}

func blockFirstCommit(t *testing.T, opts *store.Options) (*store.Store, *gate) {
	t.Helper()
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), opts)
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	store.SetBeforeCommit(s, func() {
		if g.calls++; g.calls == 1 {
			close(g.entered)
			<-g.release
		}
	})
	return s, g
}

// queueBehind starts the first Update, waits until the committer holds it at its commit, then
// starts the fns and waits until all of them are queued. It returns the first Update's error
// channel and one per fn.
func queueBehind(t *testing.T, s *store.Store, g *gate, fns []func(*store.Tx) error) (first chan error, errs []chan error) {
	t.Helper()
	first = make(chan error, 1)
	go func() { first <- s.Update(putFn("first")) }()
	<-g.entered
	for _, fn := range fns {
		ch := make(chan error, 1)
		errs = append(errs, ch)
		go func() { ch <- s.Update(fn) }()
	}
	for store.QueueLen(s) < len(fns) {
		runtime.Gosched()
	}
	return first, errs
}

func putFn(key string) func(*store.Tx) error {
	return func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog).Put([]byte(key), []byte("v"))
	}
}

func TestStore_GroupCommit_QueuedUpdatesShareOneCommit(t *testing.T) {
	const n = 50
	s, g := blockFirstCommit(t, nil)
	fns := make([]func(*store.Tx) error, n)
	for i := range fns {
		fns[i] = putFn(fmt.Sprintf("k%02d", i))
	}
	first, errs := queueBehind(t, s, g, fns)
	close(g.release)

	require.NoError(t, <-first)
	for _, ch := range errs {
		require.NoError(t, <-ch)
	}
	assert.Equal(t, store.Stats{Updates: n + 1, Commits: 2}, s.Stats(),
		"the lone first update paid one commit, the %d queued behind it shared one more", n)
	assert.Len(t, keys(t, s, store.BucketLog), n+1)
}

func TestStore_GroupCommit_MaxBatchCapsARound(t *testing.T) {
	const n, max = 25, 10
	s, g := blockFirstCommit(t, &store.Options{MaxBatch: max})
	fns := make([]func(*store.Tx) error, n)
	for i := range fns {
		fns[i] = putFn(fmt.Sprintf("k%02d", i))
	}
	first, errs := queueBehind(t, s, g, fns)
	close(g.release)

	require.NoError(t, <-first)
	for _, ch := range errs {
		require.NoError(t, <-ch)
	}
	assert.Equal(t, store.Stats{Updates: n + 1, Commits: 1 + 3}, s.Stats(), "25 queued in rounds of 10, 10, 5")
}

func TestStore_GroupCommit_FailureReRunsTheOthers(t *testing.T) {
	s, g := blockFirstCommit(t, nil)
	boom := errors.New("boom")
	var runs [4]atomic.Int32 // runs per fn; fns run on the committer only, atomics keep -race honest
	fns := []func(*store.Tx) error{
		func(tx *store.Tx) error { runs[0].Add(1); return putFn("ok0")(tx) },
		func(tx *store.Tx) error { runs[1].Add(1); _ = putFn("bad")(tx); return boom },
		func(tx *store.Tx) error { runs[2].Add(1); _ = putFn("panic")(tx); panic("kaboom") },
		func(tx *store.Tx) error { runs[3].Add(1); return putFn("ok3")(tx) },
	}
	first, errs := queueBehind(t, s, g, fns)
	close(g.release)

	require.NoError(t, <-first)
	assert.NoError(t, <-errs[0])
	assert.ErrorIs(t, <-errs[1], boom)
	assert.ErrorIs(t, <-errs[2], store.ErrPanic)
	assert.NoError(t, <-errs[3])

	assert.Equal(t, []string{"first", "ok0", "ok3"}, keys(t, s, store.BucketLog))
	assert.Equal(t, store.Stats{Updates: 3, Commits: 2, Failed: 2}, s.Stats(),
		"the two good fns still shared one commit")
	for i := range runs {
		assert.Positive(t, runs[i].Load())
		assert.LessOrEqual(t, runs[i].Load(), int32(3), "a fn re-runs at most once per failure in its round")
	}
	assert.Equal(t, int32(1), runs[1].Load())
	assert.Equal(t, int32(1), runs[2].Load())
}

func TestStore_Close_AnswersQueuedUpdates(t *testing.T) {
	s, g := blockFirstCommit(t, nil)
	fns := make([]func(*store.Tx) error, 10)
	for i := range fns {
		fns[i] = putFn(fmt.Sprintf("k%02d", i))
	}
	first, errs := queueBehind(t, s, g, fns)

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for s.View(func(*store.Tx) error { return nil }) == nil { // wait until Close has begun
		runtime.Gosched()
	}
	assert.ErrorIs(t, s.Update(putFn("late")), store.ErrClosed)
	close(g.release)

	require.NoError(t, <-first)
	for _, ch := range errs {
		require.NoError(t, <-ch, "an update queued before Close is still committed")
	}
	require.NoError(t, <-closed)
	assert.Equal(t, uint64(11), s.Stats().Updates)
}

func TestStore_GroupCommit_ConcurrentRoundsStayConsistent(t *testing.T) {
	s := openFile(t, filepath.Join(t.TempDir(), "tribus.db"), &store.Options{NoSync: true})
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				assert.NoError(t, s.Update(func(tx *store.Tx) error {
					b := tx.Bucket(store.BucketLog)
					if _, err := b.NextSequence(); err != nil {
						return err
					}
					return b.Put(fmt.Appendf(nil, "w%d-%03d", w, i), nil)
				}))
			}
		})
	}
	wg.Wait()
	assert.Len(t, keys(t, s, store.BucketLog), writers*each)
	st := s.Stats()
	assert.Equal(t, uint64(writers*each), st.Updates)
	require.NoError(t, s.Update(func(tx *store.Tx) error {
		n, err := tx.Bucket(store.BucketLog).NextSequence()
		assert.Equal(t, uint64(writers*each+1), n, "no update applied twice or lost")
		return err
	}))
	t.Logf("%d updates in %d commits", st.Updates, st.Commits)
}
