package log

import (
	"math/rand/v2"
	"sync"
)

// murmur2 is Kafka's Utils.murmur2: 32-bit MurmurHash2 with Kafka's seed, over data, returned
// as Java's signed int. It must match bit for bit, or keys would land on partitions other than
// the ones a real cluster picks (K4). uint32 arithmetic gives Java's wrap-around multiply, and
// Go's >> on an unsigned value is Java's >>>.
//
// Reference: SEMANTICS.md §2.1; Kafka clients/.../common/utils/Utils.java murmur2.
func murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(data)
	h := uint32(seed) ^ uint32(n)
	blocks := n &^ 3
	for i := 0; i < blocks; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	// Java's switch falls through from case 3 to case 1; Go needs it spelled out.
	switch n & 3 {
	case 3:
		h ^= uint32(data[blocks+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[blocks+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[blocks])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// toPositive is Kafka's Utils.toPositive: x & 0x7fffffff. It is not Math.abs, which differs
// for every negative hash (key "21" with 3 partitions: 0, where abs would give 2) and would
// leave Integer.MIN_VALUE negative.
func toPositive(x int32) int32 { return x & 0x7fffffff }

// partitionForKey is BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % n (K4). An
// empty key is non-null in Kafka and is hashed like any other; nil keys go to the sticky
// partitioner instead, which is the caller's choice (see [stickyPartitioner.pick]). n must be
// at least 1.
func partitionForKey(key []byte, n int) int32 {
	return toPositive(murmur2(key)) % int32(n)
}

// defaultStickyBatchSize is the producer's batch.size default (SEMANTICS.md §2.5), the number
// of bytes the sticky partitioner sends to one partition before moving on.
const defaultStickyBatchSize = 16384

// stickyPartitioner assigns keyless records the way Kafka's producer does since 2.4 (K6,
// KIP-480, KIP-794): every record goes to the current partition until batchSize bytes have
// gone to it, then the next record starts a new current partition, chosen at random.
//
// It is a deterministic stand-in for Kafka's: Kafka switches once the batch is also ready to
// send (always after 2×batch.size), and prefers partitions with shorter queues; an in-process
// log has neither batches in flight nor queues, so it switches at batchSize exactly, and the
// seeded generator makes a run repeatable. Like Kafka's it avoids picking the same partition
// again when there are others (KIP-480's StickyPartitionCache).
//
// One stickyPartitioner serves one topic, as in Kafka. It is safe for concurrent use.
type stickyPartitioner struct {
	batchSize int

	mu       sync.Mutex // guards the fields below
	rng      *rand.Rand
	current  int32 // current partition; -1 before the first record
	produced int   // bytes sent to current since it was picked
}

// newStickyPartitioner returns a sticky partitioner whose choices follow from seed.
// batchSize is in bytes; 0 or negative means Kafka's default batch.size, 16384.
func newStickyPartitioner(seed uint64, batchSize int) *stickyPartitioner {
	if batchSize <= 0 {
		batchSize = defaultStickyBatchSize
	}
	return &stickyPartitioner{
		batchSize: batchSize,
		// PCG wants two words of seed; the second is a fixed odd constant so one uint64
		// fully determines the sequence.
		rng:     rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		current: -1,
	}
}

// partition returns the partition, out of n (at least 1), for a keyless record of recordBytes
// bytes, and counts those bytes against it. The record that reaches batchSize still goes to
// the current partition, as the append that fills a batch does in Kafka; the switch happens
// on the next call. The partition count may change between calls (K7): a current partition
// no longer below n is replaced at once.
func (s *stickyPartitioner) partition(n int, recordBytes int) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current < 0 || int(s.current) >= n || s.produced >= s.batchSize {
		s.current = s.next(n)
		s.produced = 0
	}
	s.produced += recordBytes
	return s.current
}

// next picks a partition at random, other than the current one when there is a choice.
// It draws exactly one number per switch, so a seed replays the same sequence.
func (s *stickyPartitioner) next(n int) int32 {
	cur := int(s.current)
	if cur < 0 || cur >= n {
		return int32(s.rng.IntN(n))
	}
	if n == 1 {
		return 0
	}
	// Uniform over the n-1 others: draw from [0, n-1) and skip over cur.
	p := s.rng.IntN(n - 1)
	if p >= cur {
		p++
	}
	return int32(p)
}

// pick chooses the partition of one record the way KafkaProducer.partition does (§2.1), with
// no custom partitioner: an explicit partition (explicit ≥ 0) wins over the key (K5); else a
// non-nil key, even an empty one, is hashed (K4); else the record is keyless and goes through
// s (K6), counting recordBytes. ok is false when explicit names a partition outside [0, n),
// which Kafka refuses; the caller reports it (ErrUnknownTopic). n must be at least 1.
func (s *stickyPartitioner) pick(explicit int32, key []byte, n int, recordBytes int) (p int32, ok bool) {
	switch {
	case explicit >= 0:
		return explicit, int(explicit) < n
	case key != nil:
		return partitionForKey(key, n), true
	default:
		return s.partition(n, recordBytes), true
	}
}
