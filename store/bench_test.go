package store_test

import (
	"encoding/binary"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// benchStore opens a fresh bbolt store with fsync on, as a broker would run.
func benchStore(b *testing.B) *store.Store {
	b.Helper()
	s, err := store.Open(filepath.Join(b.TempDir(), "tribus.db"), nil)
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// reportCommits reports how many commits (fsyncs) each Update cost: 1 for serial writers, far
// less under group commit.
func reportCommits(b *testing.B, s *store.Store) {
	st := s.Stats()
	b.ReportMetric(float64(st.Commits)/float64(b.N), "commits/op")
}

func BenchmarkStore_UpdateSerial(b *testing.B) {
	s := benchStore(b)
	value := make([]byte, 64)
	key := make([]byte, 8)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(key, uint64(i))
		err := s.Update(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put(key, value) })
		if err != nil {
			b.Fatal(err)
		}
	}
	reportCommits(b, s)
}

func BenchmarkStore_UpdateParallel(b *testing.B) {
	s := benchStore(b)
	value := make([]byte, 64)
	var next atomic.Uint64
	b.SetParallelism(16) // writers per CPU: a broker has many publishers waiting on confirms
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := make([]byte, 8)
		for pb.Next() {
			binary.BigEndian.PutUint64(key, next.Add(1))
			err := s.Update(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put(key, value) })
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCommits(b, s)
}

func BenchmarkStore_UpdateParallelMemory(b *testing.B) {
	s := store.OpenMemory()
	b.Cleanup(func() { _ = s.Close() })
	value := make([]byte, 64)
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := make([]byte, 8)
		for pb.Next() {
			binary.BigEndian.PutUint64(key, next.Add(1))
			err := s.Update(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put(key, value) })
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCommits(b, s)
}

// BenchmarkStore_SubmitParallelNoSync measures the CPU cost of Submit and its wait without
// fsyncs, as the exchange router's durable publishes pay it: the committer, not the disk, is
// the bottleneck, so per-call overhead shows.
func BenchmarkStore_SubmitParallelNoSync(b *testing.B) {
	s, err := store.Open(filepath.Join(b.TempDir(), "tribus.db"), &store.Options{NoSync: true})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	value := make([]byte, 64)
	var next atomic.Uint64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := make([]byte, 8)
		for pb.Next() {
			binary.BigEndian.PutUint64(key, next.Add(1))
			k := append([]byte(nil), key...)
			if err := s.Submit(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put(k, value) })(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCommits(b, s)
}

// BenchmarkStore_UpdateSerialMemory measures one Update on the memory backend with no
// contention: the fixed cost every in-memory broker write pays (locking, undo log, stack marks).
func BenchmarkStore_UpdateSerialMemory(b *testing.B) {
	s := store.OpenMemory()
	b.Cleanup(func() { _ = s.Close() })
	key, value := make([]byte, 8), make([]byte, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(key, uint64(i))
		if err := s.Update(func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put(key, value) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStore_ViewParallelMemory measures concurrent Views on the memory backend, each of
// which finds others running and so pays the check for being nested in one.
func BenchmarkStore_ViewParallelMemory(b *testing.B) {
	s := store.OpenMemory()
	b.Cleanup(func() { _ = s.Close() })
	put := func(tx *store.Tx) error { return tx.Bucket(store.BucketLog).Put([]byte("k"), []byte("v")) }
	if err := s.Update(put); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.View(func(tx *store.Tx) error { _ = tx.Bucket(store.BucketLog).Get([]byte("k")); return nil }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
