package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/store"
)

// forEachBackend runs fn as a subtest against each backend: "memory" and "bbolt" (a fresh file
// in a temp dir). Every behavioural test goes through it, so both backends keep one contract.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		s := store.OpenMemory()
		t.Cleanup(func() { _ = s.Close() })
		fn(t, s)
	})
	t.Run("bbolt", func(t *testing.T) {
		s, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		fn(t, s)
	})
}

// put writes key=value into the bucket at path, creating it.
func put(t *testing.T, s *store.Store, path []string, key, value string) {
	t.Helper()
	require.NoError(t, s.Update(func(tx *store.Tx) error {
		b, err := tx.CreateBucketIfNotExists(path...)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	}))
}

// get reads key from the bucket at path; ok is false if the bucket or key is missing.
func get(t *testing.T, s *store.Store, path []string, key string) (value string, ok bool) {
	t.Helper()
	require.NoError(t, s.View(func(tx *store.Tx) error {
		b := tx.Bucket(path...)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		value, ok = string(v), v != nil
		return nil
	}))
	return value, ok
}

// keys lists the value keys of the bucket at path, in ForEach order.
func keys(t *testing.T, s *store.Store, path ...string) []string {
	t.Helper()
	var out []string
	require.NoError(t, s.View(func(tx *store.Tx) error {
		return tx.Bucket(path...).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	}))
	return out
}

var q = []string{store.BucketExchange, "queues", "q1"}

func TestStore_PutGetDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, q, "a", "1")
		put(t, s, q, "a", "2")
		put(t, s, q, "empty", "")

		v, ok := get(t, s, q, "a")
		assert.True(t, ok)
		assert.Equal(t, "2", v)
		_, ok = get(t, s, q, "missing")
		assert.False(t, ok)
		require.NoError(t, s.View(func(tx *store.Tx) error {
			v := tx.Bucket(q...).Get([]byte("empty"))
			assert.NotNil(t, v, "an empty value must be told apart from a missing one")
			assert.Empty(t, v)
			return nil
		}))

		require.NoError(t, s.Update(func(tx *store.Tx) error {
			b := tx.Bucket(q...)
			require.NoError(t, b.Delete([]byte("a")))
			return b.Delete([]byte("never-there"))
		}))
		_, ok = get(t, s, q, "a")
		assert.False(t, ok)
	})
}

func TestStore_PutCopiesAndGetIsStable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		buf := []byte("first")
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			b, err := tx.CreateBucketIfNotExists(q...)
			require.NoError(t, err)
			require.NoError(t, b.Put([]byte("k"), buf))
			copy(buf, "XXXXX") // the caller reuses its buffer at once

			held := b.Get([]byte("k"))
			require.NoError(t, b.Put([]byte("k"), []byte("second")))
			assert.Equal(t, "first", string(held), "a later Put must not change a slice already returned")
			return nil
		}))
		v, _ := get(t, s, q, "k")
		assert.Equal(t, "second", v)
	})
}

func TestStore_InvalidKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			b, err := tx.CreateBucketIfNotExists(q...)
			require.NoError(t, err)
			assert.ErrorIs(t, b.Put(nil, []byte("v")), store.ErrInvalidKey)
			assert.ErrorIs(t, b.Put(make([]byte, store.MaxKeySize+1), []byte("v")), store.ErrInvalidKey)
			assert.NoError(t, b.Put(make([]byte, store.MaxKeySize), []byte("v")))
			_, err = b.CreateBucketIfNotExists("")
			assert.ErrorIs(t, err, store.ErrInvalidKey)
			_, err = tx.CreateBucketIfNotExists()
			assert.ErrorIs(t, err, store.ErrInvalidKey)
			assert.Nil(t, tx.Bucket())
			return nil
		}))
	})
}

func TestStore_NestedBuckets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, []string{store.BucketExchange, "queues", "q2"}, "m", "x")
		put(t, s, []string{store.BucketExchange, "queues", "q1"}, "m", "y")
		put(t, s, []string{store.BucketExchange, "queues"}, "count", "2")

		require.NoError(t, s.View(func(tx *store.Tx) error {
			queues := tx.Bucket(store.BucketExchange, "queues")
			require.NotNil(t, queues)
			assert.Equal(t, "y", string(queues.Bucket("q1").Get([]byte("m"))))
			assert.Nil(t, queues.Bucket("q3"))
			assert.Nil(t, queues.Bucket("count"), "a value is not a bucket")
			assert.Nil(t, queues.Get([]byte("q1")), "a bucket is not a value")
			assert.Nil(t, tx.Bucket(store.BucketExchange, "nope", "q1"))

			var names []string
			require.NoError(t, queues.ForEachBucket(func(name []byte) error {
				names = append(names, string(name))
				return nil
			}))
			assert.Equal(t, []string{"q1", "q2"}, names)
			return nil
		}))
		assert.Equal(t, []string{"count"}, keys(t, s, store.BucketExchange, "queues"),
			"ForEach skips nested buckets")

		require.NoError(t, s.Update(func(tx *store.Tx) error {
			queues := tx.Bucket(store.BucketExchange, "queues")
			assert.ErrorIs(t, queues.Put([]byte("q1"), []byte("v")), store.ErrIncompatible)
			assert.ErrorIs(t, queues.Delete([]byte("q1")), store.ErrIncompatible)
			_, err := queues.CreateBucketIfNotExists("count")
			assert.ErrorIs(t, err, store.ErrIncompatible)
			assert.ErrorIs(t, queues.DeleteBucket("count"), store.ErrIncompatible)
			assert.ErrorIs(t, tx.DeleteBucket(store.BucketExchange, "queues", "q9"), store.ErrNotFound)
			assert.ErrorIs(t, tx.DeleteBucket(store.BucketExchange, "nope", "q1"), store.ErrNotFound)
			assert.ErrorIs(t, tx.DeleteBucket("nope"), store.ErrNotFound)
			return tx.DeleteBucket(store.BucketExchange, "queues", "q1")
		}))
		_, ok := get(t, s, q, "m")
		assert.False(t, ok)
		v, _ := get(t, s, []string{store.BucketExchange, "queues", "q2"}, "m")
		assert.Equal(t, "x", v)

		require.NoError(t, s.Update(func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketExchange) }))
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.Nil(t, tx.Bucket(store.BucketExchange))
			return nil
		}))
	})
}

func TestStore_ForEachAscendingByteOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		in := []string{"b", "\xff", "a", "ab", "\x00", "aa", "B", "a\x00", "10", "9"}
		for _, k := range in {
			put(t, s, q, k, "v-"+k)
		}
		want := []string{"\x00", "10", "9", "B", "a", "a\x00", "aa", "ab", "b", "\xff"}
		assert.Equal(t, want, keys(t, s, q...))

		stop := errors.New("stop")
		var seen int
		err := s.View(func(tx *store.Tx) error {
			return tx.Bucket(q...).ForEach(func(k, v []byte) error {
				assert.Equal(t, "v-"+string(k), string(v))
				if seen++; seen == 3 {
					return stop
				}
				return nil
			})
		})
		assert.ErrorIs(t, err, stop)
		assert.Equal(t, 3, seen)
	})
}

func TestStore_Seek(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		for i := 1; i <= 9; i += 2 { // keys 1 3 5 7 9, big-endian so byte order is numeric order
			require.NoError(t, s.Update(func(tx *store.Tx) error {
				return tx.Bucket(store.BucketLog).Put(be(uint64(i)), []byte{byte(i)})
			}))
		}
		put(t, s, []string{store.BucketLog, string(be(6))}, "nested", "skipped")

		seek := func(from []byte, limit int) []byte {
			var got []byte
			require.NoError(t, s.View(func(tx *store.Tx) error {
				return tx.Bucket(store.BucketLog).Seek(from, func(k, v []byte) (bool, error) {
					got = append(got, v[0])
					return len(got) < limit, nil
				})
			}))
			return got
		}
		assert.Equal(t, []byte{1, 3, 5, 7, 9}, seek(nil, 100))
		assert.Equal(t, []byte{5, 7, 9}, seek(be(5), 100), "from an existing key")
		assert.Equal(t, []byte{5, 7, 9}, seek(be(4), 100), "from between keys")
		assert.Equal(t, []byte{7, 9}, seek(be(6), 100), "skips the nested bucket at 6")
		assert.Equal(t, []byte{3, 5}, seek(be(2), 2), "stops when more is false")
		assert.Empty(t, seek(be(10), 100))

		boom := errors.New("boom")
		err := s.View(func(tx *store.Tx) error {
			return tx.Bucket(store.BucketLog).Seek(nil, func(k, v []byte) (bool, error) { return true, boom })
		})
		assert.ErrorIs(t, err, boom)
	})
}

func TestStore_NextSequence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		var got []uint64
		for range 3 {
			require.NoError(t, s.Update(func(tx *store.Tx) error {
				n, err := tx.Bucket(store.BucketPubSub).NextSequence()
				got = append(got, n)
				return err
			}))
		}
		assert.Equal(t, []uint64{1, 2, 3}, got)
	})
}

func TestStore_Update_ErrorRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, q, "keep", "old")
		boom := errors.New("boom")
		err := s.Update(func(tx *store.Tx) error {
			b := tx.Bucket(q...)
			require.NoError(t, b.Put([]byte("keep"), []byte("new")))
			require.NoError(t, b.Put([]byte("added"), []byte("x")))
			_, err := b.NextSequence()
			require.NoError(t, err)
			_, err = tx.CreateBucketIfNotExists(store.BucketLog, "new-topic")
			require.NoError(t, err)
			require.NoError(t, tx.DeleteBucket(store.BucketPubSub))
			return boom
		})
		assert.ErrorIs(t, err, boom)

		assert.Equal(t, []string{"keep"}, keys(t, s, q...))
		v, _ := get(t, s, q, "keep")
		assert.Equal(t, "old", v)
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.Nil(t, tx.Bucket(store.BucketLog, "new-topic"))
			assert.NotNil(t, tx.Bucket(store.BucketPubSub))
			return nil
		}))
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			n, err := tx.Bucket(q...).NextSequence()
			assert.Equal(t, uint64(1), n, "the rolled-back increment is undone")
			return err
		}))
		assert.Equal(t, uint64(1), s.Stats().Failed)
	})
}

func TestStore_View_IsReadOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, q, "k", "v")
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.False(t, tx.Writable())
			b := tx.Bucket(q...)
			assert.ErrorIs(t, b.Put([]byte("k"), []byte("w")), store.ErrReadOnly)
			assert.ErrorIs(t, b.Delete([]byte("k")), store.ErrReadOnly)
			_, err := b.NextSequence()
			assert.ErrorIs(t, err, store.ErrReadOnly)
			_, err = b.CreateBucketIfNotExists("sub")
			assert.ErrorIs(t, err, store.ErrReadOnly)
			_, err = tx.CreateBucketIfNotExists(store.BucketLog, "t")
			assert.ErrorIs(t, err, store.ErrReadOnly)
			assert.ErrorIs(t, tx.DeleteBucket(q...), store.ErrReadOnly)
			return nil
		}))
		v, _ := get(t, s, q, "k")
		assert.Equal(t, "v", v)
	})
}

func TestStore_TxUsedAfterItsFunctionReturns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, q, "k", "v")
		var leaked *store.Bucket
		var leakedTx *store.Tx
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			leaked, leakedTx = tx.Bucket(q...), tx
			return nil
		}))
		assert.ErrorIs(t, leaked.Put([]byte("k"), []byte("late")), store.ErrTxClosed)
		assert.Nil(t, leaked.Get([]byte("k")))
		assert.ErrorIs(t, leaked.ForEach(func(k, v []byte) error { return nil }), store.ErrTxClosed)
		assert.Nil(t, leakedTx.Bucket(q...))
		_, err := leakedTx.CreateBucketIfNotExists("x")
		assert.ErrorIs(t, err, store.ErrTxClosed)
		v, _ := get(t, s, q, "k")
		assert.Equal(t, "v", v)
	})
}

func TestStore_SchemaVersionPresent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		require.NoError(t, s.View(func(tx *store.Tx) error {
			for _, name := range []string{store.BucketMeta, store.BucketExchange, store.BucketLog, store.BucketPubSub} {
				assert.NotNil(t, tx.Bucket(name), name)
			}
			v := tx.Bucket(store.BucketMeta).Get([]byte(store.SchemaKey))
			require.Len(t, v, 4)
			assert.Equal(t, uint32(store.SchemaVersion), binary.BigEndian.Uint32(v))
			return nil
		}))
	})
}

func TestStore_Close_IdempotentThenErrClosed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, q, "k", "v")
		require.NoError(t, s.Close())

		err := s.Close()
		assert.ErrorIs(t, err, store.ErrClosed)
		assert.ErrorIs(t, err, sentinel.ErrClosed)
		assert.ErrorIs(t, s.Update(func(*store.Tx) error { return nil }), store.ErrClosed)
		assert.ErrorIs(t, s.View(func(*store.Tx) error { return nil }), store.ErrClosed)
		assert.Equal(t, uint64(1), s.Stats().Updates, "Stats stays readable")
	})
}

func TestStore_ConcurrentUpdatesAllApplied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		const n = 100
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- s.Update(func(tx *store.Tx) error {
					b, err := tx.CreateBucketIfNotExists(q...)
					if err != nil {
						return err
					}
					if _, err := b.NextSequence(); err != nil {
						return err
					}
					return b.Put(fmt.Appendf(nil, "k%03d", i), []byte("v"))
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Len(t, keys(t, s, q...), n)
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			seq, err := tx.Bucket(q...).NextSequence()
			assert.Equal(t, uint64(n+1), seq, "each update ran exactly once in the committed state")
			return err
		}))
		st := s.Stats()
		assert.Equal(t, uint64(n+1), st.Updates)
		assert.LessOrEqual(t, st.Commits, st.Updates)
		assert.Zero(t, st.Failed)
	})
}

func TestStore_Update_PanicIsAnErrorAndStoreSurvives(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		err := s.Update(func(tx *store.Tx) error {
			_, _ = tx.CreateBucketIfNotExists(q...)
			panic("kaboom")
		})
		assert.ErrorIs(t, err, store.ErrPanic)
		assert.ErrorContains(t, err, "kaboom")

		cause := errors.New("cause")
		err = s.Update(func(tx *store.Tx) error { panic(cause) })
		assert.ErrorIs(t, err, store.ErrPanic)
		assert.ErrorIs(t, err, cause, "an error value is wrapped, not flattened")

		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.Nil(t, tx.Bucket(q...), "nothing the panicking fn wrote is kept")
			return nil
		}))
		put(t, s, q, "after", "ok")
		v, _ := get(t, s, q, "after")
		assert.Equal(t, "ok", v)
		assert.Equal(t, uint64(2), s.Stats().Failed)
	})
}

func TestStore_Update_GoexitDoesNotBreakStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// On the bbolt backend fn runs on the committer, which must survive this; on the memory
			// backend it ends this goroutine, and the write lock must still be released.
			_ = s.Update(func(tx *store.Tx) error {
				_, _ = tx.CreateBucketIfNotExists(q...)
				runtime.Goexit()
				return nil
			})
		}()
		<-done
		put(t, s, []string{store.BucketLog}, "after", "ok")
		v, _ := get(t, s, []string{store.BucketLog}, "after")
		assert.Equal(t, "ok", v)
		_, ok := get(t, s, q, "anything")
		assert.False(t, ok)
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.Nil(t, tx.Bucket(q...))
			return nil
		}))
	})
}

func TestStore_View_SeesCommittedUpdatesOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, q, "a", "1")
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.Equal(t, "1", string(tx.Bucket(q...).Get([]byte("a"))))
			return nil
		}))
		put(t, s, q, "a", "2")
		v, _ := get(t, s, q, "a")
		assert.Equal(t, "2", v)
	})
}

// be encodes n big-endian, so byte order is numeric order.
func be(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func TestStore_SubmitCommitsInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		var waits []func() error
		for i := range 200 {
			key := []byte("k")
			val := []byte{byte(i)}
			waits = append(waits, s.Submit(func(tx *store.Tx) error {
				return tx.Bucket(store.BucketExchange).Put(key, val)
			}))
			if i%3 == 0 {
				waits = append(waits, s.Submit(func(tx *store.Tx) error {
					return tx.Bucket(store.BucketExchange).Delete(key)
				}))
			}
		}
		for _, w := range waits {
			require.NoError(t, w())
		}
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.Equal(t, []byte{199}, tx.Bucket(store.BucketExchange).Get([]byte("k")), "the last submitted write wins")
			return nil
		}))
	})
}

// Deletes through one Bucket handle, between puts and nested buckets and of missing, empty and
// bucket-named keys, leave exactly the keys a map would: Delete reuses one cursor for them all.
func TestStore_ManyDeletesOnOneBucket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		want := map[string]bool{}
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			b, err := tx.CreateBucketIfNotExists(q...)
			if err != nil {
				return err
			}
			b.AppendOrder()
			if _, err := b.CreateBucketIfNotExists("nested"); err != nil {
				return err
			}
			for i := range 2000 {
				k := fmt.Sprintf("k%05d", i)
				require.NoError(t, b.Put([]byte(k), make([]byte, 100)))
				want[k] = true
			}
			for i := 0; i < 2000; i += 3 {
				k := fmt.Sprintf("k%05d", i)
				require.NoError(t, b.Delete([]byte(k)))
				delete(want, k)
				if i%300 == 0 { // a put between deletes, out of order
					k := fmt.Sprintf("k%05d", 2000-i)
					require.NoError(t, b.Put([]byte(k), []byte("again")))
					want[k] = true
				}
			}
			require.NoError(t, b.Delete([]byte("k99999")), "missing")
			require.NoError(t, b.Delete(nil), "empty")
			assert.ErrorIs(t, b.Delete([]byte("nested")), store.ErrIncompatible)
			return nil
		}))
		got := keys(t, s, q...)
		assert.Len(t, got, len(want))
		for _, k := range got {
			assert.True(t, want[k], k)
		}
		require.NoError(t, s.View(func(tx *store.Tx) error {
			assert.NotNil(t, tx.Bucket(append(q, "nested")...), "the nested bucket stays")
			return nil
		}))
	})
}
