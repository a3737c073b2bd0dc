package store_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// dump returns every value in s as "bucket/path\x00key" -> value, and every bucket as
// "bucket/path/" -> "", so that two dumps are equal exactly when the contents are.
func dump(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	out, err := dumpErr(s)
	require.NoError(t, err)
	return out
}

// dumpErr is dump for goroutines other than the test's.
func dumpErr(s *store.Store) (map[string]string, error) {
	out := map[string]string{}
	var walk func(b *store.Bucket, path []string) error
	walk = func(b *store.Bucket, path []string) error {
		p := strings.Join(path, "/")
		out[p+"/"] = ""
		if err := b.ForEach(func(k, v []byte) error {
			out[p+"\x00"+string(k)] = string(v)
			return nil
		}); err != nil {
			return err
		}
		return b.ForEachBucket(func(name []byte) error {
			return walk(b.Bucket(string(name)), append(append([]string(nil), path...), string(name)))
		})
	}
	err := s.View(func(tx *store.Tx) error {
		for _, top := range []string{store.BucketMeta, store.BucketExchange, store.BucketLog, store.BucketPubSub} {
			if b := tx.Bucket(top); b != nil {
				if err := walk(b, []string{top}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// Issue 11: each bad input to the Tx API gets this package's typed sentinel, and changes
// nothing: the Update around it commits (its function returns nil), and the store's contents
// are the same afterwards.
func TestStore_BadInputRefused(t *testing.T) {
	long := strings.Repeat("n", store.MaxKeySize+1)
	longKey := []byte(long)
	tooBig := make([]byte, store.MaxValueSize+1) // never written to, so it costs no memory
	log := []string{store.BucketLog}
	for _, tc := range []struct {
		name string
		op   func(tx *store.Tx) error
		want error
	}{
		{"Put nil key", func(tx *store.Tx) error { return tx.Bucket(log...).Put(nil, []byte("v")) }, store.ErrInvalidKey},
		{"Put empty key", func(tx *store.Tx) error { return tx.Bucket(log...).Put([]byte{}, []byte("v")) }, store.ErrInvalidKey},
		{"Put key over MaxKeySize", func(tx *store.Tx) error { return tx.Bucket(log...).Put(longKey, []byte("v")) }, store.ErrInvalidKey},
		{"PutOwned empty key", func(tx *store.Tx) error { return tx.Bucket(log...).PutOwned(nil, []byte("v")) }, store.ErrInvalidKey},
		{"PutOwned key over MaxKeySize", func(tx *store.Tx) error { return tx.Bucket(log...).PutOwned(longKey, []byte("v")) }, store.ErrInvalidKey},
		{"Put value over MaxValueSize", func(tx *store.Tx) error { return tx.Bucket(log...).Put([]byte("k"), tooBig) }, store.ErrValueTooLarge},
		{"PutOwned value over MaxValueSize", func(tx *store.Tx) error { return tx.Bucket(log...).PutOwned([]byte("k"), tooBig) }, store.ErrValueTooLarge},
		{"Put into a nested bucket's name", func(tx *store.Tx) error { return tx.Bucket(log...).Put([]byte("sub"), []byte("v")) }, store.ErrIncompatible},
		{"Delete a nested bucket's name", func(tx *store.Tx) error { return tx.Bucket(log...).Delete([]byte("sub")) }, store.ErrIncompatible},
		{"Put SchemaKey", func(tx *store.Tx) error { return tx.Bucket(store.BucketMeta).Put([]byte(store.SchemaKey), []byte("v")) }, store.ErrReserved},
		{"Delete SchemaKey", func(tx *store.Tx) error { return tx.Bucket(store.BucketMeta).Delete([]byte(store.SchemaKey)) }, store.ErrReserved},
		{"PutOwned the journal sequence", func(tx *store.Tx) error { return tx.Bucket(store.BucketMeta).PutOwned([]byte("wal-lsn"), []byte("v")) }, store.ErrReserved},
		{"CreateBucketIfNotExists no path", func(tx *store.Tx) error { _, err := tx.CreateBucketIfNotExists(); return err }, store.ErrInvalidKey},
		{"CreateBucketIfNotExists empty top name", func(tx *store.Tx) error { _, err := tx.CreateBucketIfNotExists(""); return err }, store.ErrInvalidKey},
		{"CreateBucketIfNotExists top name over MaxKeySize", func(tx *store.Tx) error { _, err := tx.CreateBucketIfNotExists(long); return err }, store.ErrInvalidKey},
		{"CreateBucketIfNotExists empty nested name", func(tx *store.Tx) error { _, err := tx.CreateBucketIfNotExists(store.BucketLog, "a", ""); return err }, store.ErrInvalidKey},
		{"CreateBucketIfNotExists nested name over MaxKeySize", func(tx *store.Tx) error { _, err := tx.CreateBucketIfNotExists(store.BucketLog, long); return err }, store.ErrInvalidKey},
		{"CreateBucketIfNotExists over a value", func(tx *store.Tx) error { _, err := tx.CreateBucketIfNotExists(store.BucketLog, "k"); return err }, store.ErrIncompatible},
		{"Bucket.CreateBucketIfNotExists empty name", func(tx *store.Tx) error { _, err := tx.Bucket(log...).CreateBucketIfNotExists(""); return err }, store.ErrInvalidKey},
		{"DeleteBucket no path", func(tx *store.Tx) error { return tx.DeleteBucket() }, store.ErrInvalidKey},
		{"DeleteBucket empty top name", func(tx *store.Tx) error { return tx.DeleteBucket("") }, store.ErrInvalidKey},
		{"DeleteBucket empty nested name", func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketLog, "") }, store.ErrInvalidKey},
		{"DeleteBucket name over MaxKeySize", func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketLog, long) }, store.ErrInvalidKey},
		{"Bucket.DeleteBucket empty name", func(tx *store.Tx) error { return tx.Bucket(log...).DeleteBucket("") }, store.ErrInvalidKey},
		{"DeleteBucket missing", func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketLog, "missing") }, store.ErrNotFound},
		{"DeleteBucket of a value", func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketLog, "k") }, store.ErrIncompatible},
		{"DeleteBucket meta", func(tx *store.Tx) error { return tx.DeleteBucket(store.BucketMeta) }, store.ErrReserved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, s *store.Store) {
				put(t, s, log, "k", "v")
				put(t, s, []string{store.BucketLog, "sub"}, "k2", "v2")
				before := dump(t, s)
				var opErr error
				require.NoError(t, s.Update(func(tx *store.Tx) error {
					opErr = tc.op(tx)
					return nil // commit whatever the op did, so that a change would show
				}))
				require.ErrorIs(t, opErr, tc.want)
				assert.Equal(t, before, dump(t, s), "nothing changed")
			})
		})
	}
}

// A nil function is refused before anything is queued, on every entry point (it used to panic
// out of View on the memory backend and fail its whole round on the bbolt backend).
func TestStore_NilFunctionRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		before := dump(t, s)
		assert.ErrorIs(t, s.Update(nil), store.ErrNilFunc)
		assert.ErrorIs(t, s.Submit(nil)(), store.ErrNilFunc)
		assert.ErrorIs(t, s.View(nil), store.ErrNilFunc)
		assert.Equal(t, before, dump(t, s))
		assert.Zero(t, s.Stats().Failed, "not counted as a failed Update: nothing ran")
	})
}

// Inputs bbolt accepts that are accepted here too: deleting a key that is missing, or that no
// value can have (empty, longer than MaxKeySize), does nothing and returns nil, as bbolt's
// Bucket.Delete documents ("If the key does not exist then nothing is done and a nil error is
// returned"). A key of exactly MaxKeySize and an empty value are valid.
func TestStore_OddInputsAcceptedAsBboltDoes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		put(t, s, []string{store.BucketLog}, "k", "v")
		before := dump(t, s)
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			b := tx.Bucket(store.BucketLog)
			for _, k := range [][]byte{nil, {}, []byte(strings.Repeat("x", store.MaxKeySize+1)), []byte("missing")} {
				if err := b.Delete(k); err != nil {
					return fmt.Errorf("Delete(%.10q): %w", k, err)
				}
			}
			return nil
		}))
		assert.Equal(t, before, dump(t, s))
		maxKey := bytes.Repeat([]byte("x"), store.MaxKeySize)
		require.NoError(t, s.Update(func(tx *store.Tx) error {
			if err := tx.Bucket(store.BucketLog).Put(maxKey, nil); err != nil {
				return err
			}
			_, err := tx.CreateBucketIfNotExists(store.BucketLog, string(maxKey[:store.MaxKeySize-1])+"y")
			return err
		}))
		require.NoError(t, s.View(func(tx *store.Tx) error {
			v := tx.Bucket(store.BucketLog).Get(maxKey)
			assert.NotNil(t, v)
			assert.Empty(t, v)
			return nil
		}))
	})
}

// MaxValueSize holds the largest message RabbitMQ accepts: max_message_size is hard-limited to
// 512 MiB (rabbitmq-common include/rabbit.hrl, MAX_MSG_SIZE = 536870912, since 3.8), and a
// stored message carries its properties beside the body.
func TestStore_MaxValueSizeHoldsRabbitMQsLargestMessage(t *testing.T) {
	assert.GreaterOrEqual(t, store.MaxValueSize, 512<<20+512<<10)
	assert.LessOrEqual(t, store.MaxValueSize+store.MaxKeySize+1024, store.MaxUpdateSize,
		"one Put of the largest value always fits in one journal record")
}

// An Update that writes more than MaxUpdateSize fails alone with ErrValueTooLarge before
// anything is journaled; the other functions of its round commit (they used to fail with it,
// since the whole round went into one journal record). Functions that fit one by one but not
// together are split over several records, never refused.
func TestStore_UpdateOverMaxUpdateSize(t *testing.T) {
	const limit = 4096
	s, g := blockFirstCommit(t, nil)
	store.SetMaxUpdateSize(s, limit)
	value := make([]byte, limit/3)
	fns := []func(*store.Tx) error{putFn("a")}
	for i := range 4 {
		fns = append(fns, func(tx *store.Tx) error {
			return tx.Bucket(store.BucketLog).Put([]byte(fmt.Sprintf("big%d", i)), value)
		})
	}
	fns = append(fns, func(tx *store.Tx) error { // alone more than a record holds
		b := tx.Bucket(store.BucketLog)
		for i := range 4 {
			if err := b.Put([]byte(fmt.Sprintf("huge%d", i)), value); err != nil {
				return err
			}
		}
		return nil
	}, putFn("z"))
	first, errs := queueBehind(t, s, g, fns)
	close(g.release)
	require.NoError(t, <-first)
	var got []error
	for _, ch := range errs {
		got = append(got, <-ch)
	}
	for i, err := range got {
		if i == 5 {
			assert.ErrorIs(t, err, store.ErrValueTooLarge)
		} else {
			assert.NoError(t, err, "fn %d", i)
		}
	}
	var ks []string
	require.NoError(t, s.View(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog).ForEach(func(k, _ []byte) error { ks = append(ks, string(k)); return nil })
	}))
	sort.Strings(ks)
	assert.Equal(t, []string{"a", "big0", "big1", "big2", "big3", "first", "z"}, ks)

	path := s.Path()
	require.NoError(t, store.CloseAsCrash(s))
	s2 := openFile(t, filepath.Clean(path), nil)
	_, ok := get(t, s2, []string{store.BucketLog}, "big3")
	assert.True(t, ok, "every record replays after a crash")
	_, ok = get(t, s2, []string{store.BucketLog}, "huge0")
	assert.False(t, ok)
}
