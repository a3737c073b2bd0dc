package log

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPartitioner_K4_Murmur2Vectors checks murmur2, toPositive and partitionForKey against every
// row of the §2.1 table; a zero p column means the table gives no partitions for that key.
//
// Reference: SEMANTICS.md §2.1, Kafka UtilsTest.testMurmur2 (first six rows).
func TestPartitioner_K4_Murmur2Vectors(t *testing.T) {
	tests := []struct {
		key      string
		murmur   int32
		positive int32
		p        map[int]int32 // partition count → partition
	}{
		{"21", -973932308, 1173551340, map[int]int32{3: 0, 6: 0, 12: 0}},
		{"foobar", -790332482, 1357151166, map[int]int32{3: 0, 6: 0, 12: 6}},
		{"a-little-bit-long-string", -985981536, -985981536 & 0x7fffffff, nil},
		{"a-little-bit-longer-string", -1486304829, -1486304829 & 0x7fffffff, nil},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, -58897971 & 0x7fffffff, nil},
		{"abc", 479470107, 479470107, map[int]int32{3: 0, 6: 3, 12: 3}},
		{"", 275646681, 275646681, map[int]int32{3: 0, 6: 3, 12: 9}},
		{"a", -1563381124, 584102524, map[int]int32{3: 1, 6: 4, 12: 4}},
		{"key", -1079937367, 1067546281, map[int]int32{3: 1, 6: 1, 12: 1}},
		{"foo", 597841616, 597841616, map[int]int32{3: 2, 6: 2, 12: 8}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.key), func(t *testing.T) {
			h := murmur2([]byte(tt.key))
			assert.Equal(t, tt.murmur, h, "murmur2")
			assert.Equal(t, tt.positive, toPositive(h), "toPositive")
			for n, want := range tt.p {
				assert.Equal(t, want, partitionForKey([]byte(tt.key), n), "partition of %d", n)
			}
		})
	}
	// Reference: SEMANTICS.md §2.1 table; Kafka UtilsTest.testMurmur2.
}

// TestPartitioner_K4_NotMathAbs pins the misquoted formula: Math.abs would send key "21" to
// partition 2 of 3; Kafka's toPositive sends it to 0.
func TestPartitioner_K4_NotMathAbs(t *testing.T) {
	h := murmur2([]byte("21"))
	abs := h
	if abs < 0 {
		abs = -abs
	}
	require.Equal(t, int32(2), abs%3, "the wrong answer this test guards against")
	assert.Equal(t, int32(0), partitionForKey([]byte("21"), 3))
	// Reference: SEMANTICS.md §2.1 ("Using Math.abs instead of toPositive ...") and §4.
}

// TestPartitioner_K4_EmptyKeyIsHashed checks that an empty, non-nil key is hashed rather than
// sent to the sticky partitioner, and that equal keys always agree.
func TestPartitioner_K4_EmptyKeyIsHashed(t *testing.T) {
	s := newStickyPartitioner(1, 0)
	for range 100 {
		p, ok := s.pick(-1, []byte{}, 12, 10)
		require.True(t, ok)
		require.Equal(t, int32(9), p)
		p, ok = s.pick(-1, []byte("foobar"), 12, 10)
		require.True(t, ok)
		require.Equal(t, int32(6), p)
	}
	assert.Equal(t, int32(-1), s.current, "keyed records must not touch the sticky state")
	// Reference: SEMANTICS.md §2.1 ("An empty key ... is hashed").
}

// TestPartitioner_K5_ExplicitPartition checks that an explicit partition overrides the key
// and that naming a partition that does not exist is refused.
func TestPartitioner_K5_ExplicitPartition(t *testing.T) {
	s := newStickyPartitioner(1, 0)
	p, ok := s.pick(2, []byte("foobar"), 3, 10) // the key alone would give 0
	assert.True(t, ok)
	assert.Equal(t, int32(2), p)
	p, ok = s.pick(0, nil, 3, 10)
	assert.True(t, ok)
	assert.Equal(t, int32(0), p)
	_, ok = s.pick(3, []byte("foobar"), 3, 10)
	assert.False(t, ok, "partition 3 of 3 does not exist")
	assert.Equal(t, int32(-1), s.current, "explicit partitions must not touch the sticky state")
	// Reference: SEMANTICS.md K5, §2.1 step 1; KafkaProducer.partition.
}

// TestPartitioner_K6_StickyUntilBatchSize checks that keyless records stick to one partition
// until 16384 bytes have gone to it, then move to another, and that a seed replays the run.
func TestPartitioner_K6_StickyUntilBatchSize(t *testing.T) {
	const n, recordBytes = 6, 100
	// ceil(16384/100) = 164 records reach the batch size; the 165th starts the next partition.
	const perBatch = (defaultStickyBatchSize + recordBytes - 1) / recordBytes

	run := func(seed uint64) []int32 {
		s := newStickyPartitioner(seed, 0)
		out := make([]int32, 0, 50*perBatch)
		for range 50 * perBatch {
			p, ok := s.pick(-1, nil, n, recordBytes)
			require.True(t, ok)
			out = append(out, p)
		}
		return out
	}
	got := run(42)
	seen := map[int32]bool{}
	for b := range 50 {
		first := got[b*perBatch]
		seen[first] = true
		for i := b * perBatch; i < (b+1)*perBatch; i++ {
			require.Equal(t, first, got[i], "record %d left partition %d before %d bytes", i, first, defaultStickyBatchSize)
		}
		if b > 0 {
			require.NotEqual(t, got[b*perBatch-1], first, "switch %d stayed on the same partition", b)
		}
	}
	assert.Len(t, seen, n, "50 random switches should visit all %d partitions", n)
	assert.Equal(t, got, run(42), "same seed, same partitions")
	assert.NotEqual(t, got, run(43), "another seed, other partitions")
	// Reference: SEMANTICS.md §2.1 (null keys: sticky partitioner), K6; KIP-480, KIP-794.
}

// TestPartitioner_K6_StickyEdges covers one partition, a custom batch size, a record larger
// than the batch, and a partition count that shrinks under the current partition.
func TestPartitioner_K6_StickyEdges(t *testing.T) {
	s := newStickyPartitioner(7, 0)
	for range 1000 {
		require.Equal(t, int32(0), s.partition(1, 1000))
	}

	s = newStickyPartitioner(7, 10)
	a := s.partition(4, 100) // one record over the batch size still goes where the batch is
	b := s.partition(4, 1)
	assert.NotEqual(t, a, b, "a full partition is left on the next record")
	c := s.partition(4, 9) // b has 1+9 = 10 bytes: full
	assert.Equal(t, b, c)
	assert.NotEqual(t, c, s.partition(4, 1))

	s = newStickyPartitioner(7, 0)
	s.partition(8, 1)
	s.current = 5 // as if partition 5 of 8 were current when the count dropped to 2
	p := s.partition(2, 1)
	assert.True(t, p >= 0 && p < 2, "partition %d of 2", p)
	// Reference: SEMANTICS.md §2.1; §2.5 batch.size = 16384.
}

// TestPartitioner_K6_StickyConcurrent checks under -race that concurrent callers share the
// byte count: every batch of partitions still holds at least batchSize bytes.
func TestPartitioner_K6_StickyConcurrent(t *testing.T) {
	const goroutines, each, recordBytes, n = 8, 1000, 64, 5
	s := newStickyPartitioner(3, 0)
	var mu sync.Mutex
	counts := map[int32]int{}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				p := s.partition(n, recordBytes)
				mu.Lock()
				counts[p]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for p, c := range counts {
		assert.True(t, p >= 0 && p < n)
		total += c
	}
	assert.Equal(t, goroutines*each, total)
}

// BenchmarkMurmur2 hashes a 16-byte key, a typical UUID-sized record key.
func BenchmarkMurmur2(b *testing.B) {
	key := []byte("0123456789abcdef")
	b.SetBytes(int64(len(key)))
	var sink int32
	for b.Loop() {
		sink += murmur2(key)
	}
	_ = sink
}

// BenchmarkStickyPartition measures the mutex-guarded keyless path.
func BenchmarkStickyPartition(b *testing.B) {
	s := newStickyPartitioner(1, 0)
	for b.Loop() {
		s.partition(12, 100)
	}
}
