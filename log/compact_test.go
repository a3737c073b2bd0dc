package log_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/store"
)

// kv is one write to a compacted topic: a nil val is a tombstone (K36).
type kv struct {
	key string
	val *string
}

func put(key, val string) kv { return kv{key: key, val: &val} }
func del(key string) kv      { return kv{key: key} }

// kept is a record a test expects to read back.
type kept struct {
	Offset int64
	Key    string
	Value  *string
}

// rollAge is the SegmentAge of the compacted topics below: sleeping it inside a synctest bubble
// and running retention seals the active segment, so everything written before can be compacted.
const rollAge = time.Hour

func compactConfig(policy string) tlog.TopicConfig {
	return tlog.TopicConfig{CleanupPolicy: policy, SegmentBytes: 250, SegmentAge: rollAge, RetentionTime: -1}
}

// write produces ops to partition 0 in order, checking their offsets follow from first.
func write(t *testing.T, l *tlog.Log, topic string, first int64, ops ...kv) {
	t.Helper()
	for i, op := range ops {
		rec := tlog.Record{Key: []byte(op.key)}
		if op.val != nil {
			rec.Value = []byte(*op.val)
		}
		res, err := l.ProduceTo(context.Background(), topic, 0, rec)
		require.NoError(t, err)
		require.Equal(t, first+int64(i), res.Offset)
	}
}

// openManual opens a log whose periodic check (every 5 minutes by default) never fires within
// a test, so that compaction runs only when the test calls RunRetention; cleaned up with t.
func openManual(t *testing.T, dir string) *tlog.Log {
	t.Helper()
	l, err := tlog.Open(dir, manual)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

var manual = &tlog.Options{RetentionCheckInterval: 1000 * time.Hour}

// rollAndRun seals the active segment (it has reached its age) and runs retention and
// compaction, as the periodic check would.
func rollAndRun(l *tlog.Log) {
	time.Sleep(rollAge)
	l.RunRetention()
}

func readKept(t *testing.T, l *tlog.Log, topic string, from int64) []kept {
	t.Helper()
	var out []kept
	for _, r := range fetchAll(t, l, topic, 0, from) {
		k := kept{Offset: r.Offset, Key: string(r.Key)}
		if r.Value != nil {
			v := string(r.Value)
			k.Value = &v
		}
		out = append(out, k)
	}
	return out
}

// newestPerKey is what compacting ops (written from offset 0) must leave when every record is
// cleanable: the newest record of each key, in offset order, tombstones included unless
// dropTombstones.
func newestPerKey(ops []kv, dropTombstones bool) []kept {
	last := map[string]int{}
	for i, op := range ops {
		last[op.key] = i
	}
	var out []kept
	for i, op := range ops {
		if last[op.key] != i || (dropTombstones && op.val == nil) {
			continue
		}
		out = append(out, kept{Offset: int64(i), Key: op.key, Value: op.val})
	}
	return out
}

func TestK35_CompactionKeepsNewestPerKeyAndOffsets(t *testing.T) {
	cases := []struct {
		name string
		ops  []kv
	}{
		{"one key overwritten", []kv{put("a", "1"), put("a", "2"), put("a", "3")}},
		{"interleaved keys", []kv{put("a", "1"), put("b", "1"), put("a", "2"), put("c", "1"), put("b", "2"), put("a", "3")}},
		{"no duplicates", []kv{put("a", "1"), put("b", "1"), put("c", "1")}},
		{"empty key is a key", []kv{put("", "1"), put("x", "1"), put("", "2")}},
		{"tombstone kept until its horizon", []kv{put("a", "1"), put("b", "1"), del("a"), put("b", "2")}},
		{"many segments", func() []kv {
			var ops []kv
			for i := range 40 {
				ops = append(ops, put(fmt.Sprint("k", i%7), fmt.Sprint(i)))
			}
			return ops
		}()},
	}
	forEachMode(t, func(t *testing.T, dir string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					d := dir
					if d != "" {
						d = t.TempDir()
					}
					l := openManual(t, d)
					require.NoError(t, l.CreateTopic("t", compactConfig(tlog.CleanupCompact)))
					write(t, l, "t", 0, tc.ops...)
					rollAndRun(l)
					want := newestPerKey(tc.ops, false)
					assert.Equal(t, want, readKept(t, l, "t", 0), "the newest record per key, in order, at its own offset")
					start, end, _ := startEnd(t, l, "t")
					assert.Equal(t, int64(0), start, "compaction does not move the log start offset")
					assert.Equal(t, int64(len(tc.ops)), end, "nor the end offset")
					write(t, l, "t", end, put("z", "next")) // offsets are never reused

					// A consumer reading from the start sees the same records.
					c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest, MaxWait: time.Millisecond})
					require.NoError(t, c.Assign(tlog.TopicPartition{Topic: "t"}))
					var offs []int64
					for len(offs) == 0 || offs[len(offs)-1] < end {
						recs, err := c.Poll(context.Background())
						require.NoError(t, err)
						require.NotEmpty(t, recs)
						for _, r := range recs {
							offs = append(offs, r.Offset)
						}
					}
					wantOffs := []int64{}
					for _, k := range want {
						wantOffs = append(wantOffs, k.Offset)
					}
					assert.Equal(t, append(wantOffs, end), offs)
				})
			})
		}
	})
	// Reference: K35, K:doc#compaction ("the offset of a message never changes").
}

func TestK35_FetchFromRemovedOffsetReturnsNextSurvivor(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		synctest.Test(t, func(t *testing.T) {
			l := openManual(t, dir)
			require.NoError(t, l.CreateTopic("t", compactConfig(tlog.CleanupCompact)))
			base := time.Now()
			ops := []kv{put("a", "1"), put("b", "1"), put("a", "2"), put("b", "2"), put("c", "1"), put("a", "3"), put("c", "2"), put("d", "1")}
			for i, op := range ops {
				_, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Key: []byte(op.key), Value: []byte(*op.val),
					Timestamp: base.Add(time.Duration(i) * time.Second)})
				require.NoError(t, err)
			}
			rollAndRun(l)
			survivors := []int64{3, 5, 6, 7}
			require.Equal(t, survivors, offsetsOf(readKept(t, l, "t", 0)))
			for from := range int64(len(ops)) {
				next := survivors[slices.IndexFunc(survivors, func(o int64) bool { return o >= from })]
				// Fetch with room for one batch only: the read must go on past emptied batches.
				recs, err := l.Fetch(context.Background(), "t", 0, from, tlog.FetchOptions{MaxBytes: 1})
				require.NoError(t, err)
				require.NotEmpty(t, recs, "from %d", from)
				assert.Equal(t, next, recs[0].Offset, "Fetch from %d", from)

				c := l.NewConsumer(tlog.ConsumerOptions{MaxWait: time.Millisecond})
				require.NoError(t, c.Assign(tlog.TopicPartition{Topic: "t"}))
				require.NoError(t, c.Seek(tlog.TopicPartition{Topic: "t"}, from))
				polled, err := c.Poll(context.Background())
				require.NoError(t, err)
				require.NotEmpty(t, polled)
				assert.Equal(t, next, polled[0].Offset, "Poll from %d", from)

				// ListOffsets by the removed record's timestamp answers the next survivor (K16).
				off, _, err := l.ListOffsets("t", 0, base.Add(time.Duration(from)*time.Second).UnixMilli())
				require.NoError(t, err)
				assert.Equal(t, next, off, "ListOffsets for the timestamp of %d", from)
			}
		})
	})
	// Reference: K35 ("reading from the offset of a removed record returns the next surviving
	// record"), K16.
}

func offsetsOf(ks []kept) []int64 {
	out := []int64{}
	for _, k := range ks {
		out = append(out, k.Offset)
	}
	return out
}

func TestK35_ReopenAfterCompactionFindsSameRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l := openManual(t, dir)
		require.NoError(t, l.CreateTopic("t", compactConfig(tlog.CleanupCompact)))
		var ops []kv
		for i := range 30 {
			ops = append(ops, put(fmt.Sprint("k", i%4), fmt.Sprint(i)))
		}
		write(t, l, "t", 0, ops...)
		rollAndRun(l)
		before := readKept(t, l, "t", 0)
		require.Equal(t, newestPerKey(ops, false), before)
		info, err := l.DescribeTopic("t")
		require.NoError(t, err)
		require.NoError(t, l.Close())

		l = openManual(t, dir)
		assert.Equal(t, before, readKept(t, l, "t", 0))
		again, err := l.DescribeTopic("t")
		require.NoError(t, err)
		assert.Equal(t, info.Partitions, again.Partitions)
		l.RunRetention()
		after, err := l.DescribeTopic("t")
		require.NoError(t, err)
		assert.Equal(t, info.Partitions, after.Partitions, "the saved checkpoint: nothing is dirty, so nothing is rewritten")
		write(t, l, "t", info.Partitions[0].EndOffset, put("k0", "new"))
	})
	// Reference: K35; the checkpoint is Kafka's cleaner-offset-checkpoint.
}

// TestK35_CompactionSwapIsCrashSafe puts a partition directory in the two states a crash can
// leave a swap in: cleaned copies written but not committed (they are dropped), and committed
// (.log.swap present: the swap is finished). Either way the partition opens with the records
// of one side, never a mix.
func TestK35_CompactionSwapIsCrashSafe(t *testing.T) {
	ops := []kv{put("a", "1"), put("a", "2"), put("b", "1"), put("a", "3")}
	cases := []struct {
		name      string
		logName   string // what the cleaned .log is called after the crash
		compacted bool   // whether the partition must open compacted
	}{
		{"before the commit", "%s.log.cleaned", false},
		{"after the commit", "%s.log.swap", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cleanDir, crashDir := t.TempDir(), t.TempDir()
				l := openManual(t, cleanDir)
				require.NoError(t, l.CreateTopic("t", compactConfig(tlog.CleanupCompact)))
				write(t, l, "t", 0, ops...)
				time.Sleep(rollAge)
				// Roll without compacting: a topic policy cannot change, so copy the
				// uncompacted files first by closing and copying the directory.
				require.NoError(t, l.Close())
				copyDir(t, cleanDir, crashDir)

				l = openManual(t, cleanDir)
				rollAndRun(l)
				require.Equal(t, newestPerKey(ops, false), readKept(t, l, "t", 0))
				require.NoError(t, l.Close())

				// The crashed directory: the old segment plus the cleaned copies of it.
				seg := fmt.Sprintf("%020d", 0)
				from, to := filepath.Join(cleanDir, "t-0"), filepath.Join(crashDir, "t-0")
				copyFile(t, filepath.Join(from, seg+".log"), filepath.Join(to, fmt.Sprintf(tc.logName, seg)))
				copyFile(t, filepath.Join(from, seg+".index"), filepath.Join(to, seg+".index.cleaned"))
				copyFile(t, filepath.Join(from, seg+".timeindex"), filepath.Join(to, seg+".timeindex.cleaned"))

				l = openManual(t, crashDir)
				want := ops
				got := readKept(t, l, "t", 0)
				if tc.compacted {
					assert.Equal(t, newestPerKey(want, false), got)
				} else {
					assert.Len(t, got, len(ops), "the uncommitted copy is ignored")
				}
				names, err := os.ReadDir(to)
				require.NoError(t, err)
				for _, n := range names {
					assert.NotContains(t, n.Name(), ".cleaned", "leftovers are removed")
					assert.NotContains(t, n.Name(), ".swap", "leftovers are removed")
				}
			})
		})
	}
	// Reference: Kafka's LogCleaner writes .cleaned files and renames them through .swap.
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, os.CopyFS(to, os.DirFS(from)))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// TestK35_CompactedBatchKeepsHeaderFields reads the compacted segment file itself: a batch
// from an idempotent producer keeps its base offset, LastOffsetDelta, producer id, epoch and
// base sequence, its removed records leave offset gaps, and its CRC-32C is valid.
func TestK35_CompactedBatchKeepsHeaderFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l := openManual(t, dir)
		require.NoError(t, l.CreateTopic("t", compactConfig(tlog.CleanupCompact)))
		batch := []tlog.Record{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("1")},
			{Key: []byte("a"), Value: []byte("2")}, {Key: []byte("c"), Value: []byte("1")}}
		base, err := l.AppendIdempotent("t", 0, 77, 3, 0, batch)
		require.NoError(t, err)
		require.Equal(t, int64(0), base)
		write(t, l, "t", 4, put("c", "2"))
		rollAndRun(l)
		assert.Equal(t, []int64{1, 2, 4}, offsetsOf(readKept(t, l, "t", 0)))

		b, err := os.ReadFile(filepath.Join(dir, "t-0", fmt.Sprintf("%020d.log", 0)))
		require.NoError(t, err)
		be := binary.BigEndian
		require.GreaterOrEqual(t, len(b), 61)
		size := 12 + int(be.Uint32(b[8:]))
		assert.Equal(t, uint64(0), be.Uint64(b[0:]), "base offset")
		assert.Equal(t, uint32(3), be.Uint32(b[23:]), "LastOffsetDelta still spans the original offsets")
		assert.Equal(t, uint64(77), be.Uint64(b[43:]), "producer id")
		assert.Equal(t, uint16(3), be.Uint16(b[51:]), "producer epoch")
		assert.Equal(t, uint32(0), be.Uint32(b[53:]), "base sequence")
		assert.Equal(t, uint32(2), be.Uint32(b[57:]), "records left")
		crc := crc32.Checksum(b[21:size], crc32.MakeTable(crc32.Castagnoli))
		assert.Equal(t, be.Uint32(b[17:]), crc, "CRC-32C recomputed")

		// The producer's state still knows the batch: a retry is a duplicate (K39).
		again, err := l.AppendIdempotent("t", 0, 77, 3, 0, batch)
		require.NoError(t, err)
		assert.Equal(t, int64(0), again)
	})
	// Reference: K10, K35; KIP-98 (producer fields survive cleaning).
}

func TestK36_TombstoneRemovesEarlierThenExpires(t *testing.T) {
	cases := []struct {
		name            string
		deleteRetention time.Duration
		wantHorizon     time.Duration // how long after its first compaction the tombstone goes
	}{
		{"default delete.retention.ms", 0, tlog.DefaultDeleteRetention},
		{"one hour", time.Hour, time.Hour},
		{"negative means zero", -1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := openManual(t, "")
				cfg := compactConfig(tlog.CleanupCompact)
				cfg.DeleteRetention = tc.deleteRetention
				require.NoError(t, l.CreateTopic("t", cfg))
				ops := []kv{put("a", "1"), put("b", "1"), put("a", "2"), del("a"), put("c", "1")}
				write(t, l, "t", 0, ops...)
				rollAndRun(l) // the first compaction: a's values go, its tombstone stays
				assert.Equal(t, newestPerKey(ops, false), readKept(t, l, "t", 0))
				if tc.wantHorizon > 0 {
					time.Sleep(tc.wantHorizon - time.Second)
					l.RunRetention()
					assert.Equal(t, newestPerKey(ops, false), readKept(t, l, "t", 0), "the tombstone is still there")
					time.Sleep(time.Second)
				}
				l.RunRetention()
				assert.Equal(t, newestPerKey(ops, true), readKept(t, l, "t", 0), "the tombstone is gone")
				_, end, _ := startEnd(t, l, "t")
				assert.Equal(t, int64(len(ops)), end)
			})
		})
	}
	// Reference: K36, K:doc#compaction, KIP-534 (the delete horizon counts from the first
	// compaction that keeps the tombstone).
}

func TestK36_NullKeyRejectedOnCompactedTopics(t *testing.T) {
	type produceFn func(l *tlog.Log, rec tlog.Record) error
	ways := map[string]produceFn{
		"Produce": func(l *tlog.Log, rec tlog.Record) error {
			_, err := l.Produce(context.Background(), "t", rec)
			return err
		},
		"ProduceTo": func(l *tlog.Log, rec tlog.Record) error {
			_, err := l.ProduceTo(context.Background(), "t", 0, rec)
			return err
		},
		"AppendIdempotent": func(l *tlog.Log, rec tlog.Record) error {
			_, err := l.AppendIdempotent("t", 0, 5, 0, 0, []tlog.Record{{Key: []byte("k"), Value: []byte("v")}, rec})
			return err
		},
		"Producer": func(l *tlog.Log, rec tlog.Record) error {
			pr, err := l.NewProducer(tlog.ProducerOptions{})
			if err != nil {
				return err
			}
			defer pr.Close()
			return pr.ProduceAsync(context.Background(), "t", rec, nil)
		},
	}
	policies := []struct {
		policy string
		reject bool
	}{
		{"compact", true},
		{"compact,delete", true},
		{"delete,compact", true},
		{"delete", false},
	}
	for _, pc := range policies {
		for name, fn := range ways {
			t.Run(pc.policy+"/"+name, func(t *testing.T) {
				l := openManual(t, "")
				require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{CleanupPolicy: pc.policy}))
				err := fn(l, tlog.Record{Value: []byte("no key")})
				_, end, _ := startEnd(t, l, "t")
				if !pc.reject {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, tlog.ErrInvalidRecord)
				assert.Equal(t, int64(0), end, "nothing is written")
				require.NoError(t, fn(l, tlog.Record{Key: []byte{}, Value: []byte("empty key is a key")}))
			})
		}
	}
	// Reference: K36 ("compacted topics need keys, and a record with a null key is rejected").
}

func TestK37_ActiveSegmentAndYoungRecordsAreNotCompacted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openManual(t, "")
		cfg := compactConfig(tlog.CleanupCompact)
		cfg.SegmentAge = 10 * rollAge // the active segment stays active below
		cfg.MinCompactionLag = 3 * time.Hour
		require.NoError(t, l.CreateTopic("t", cfg))
		ops := []kv{put("a", "1"), put("a", "2"), put("a", "3"), put("a", "4"), put("a", "5"), put("a", "6"), put("a", "7")}
		write(t, l, "t", 0, ops...) // more than one segment at 250 bytes
		_, _, segs := startEnd(t, l, "t")
		require.Greater(t, segs, 2)
		l.RunRetention()
		assert.Len(t, readKept(t, l, "t", 0), len(ops), "records younger than min.compaction.lag.ms stay")
		time.Sleep(3 * time.Hour)
		l.RunRetention()
		// Old enough now: the sealed segments (offsets 0-5) keep only their newest a; the
		// active one (offset 6) is untouched, though it holds a newer a still.
		assert.Equal(t, []int64{5, 6}, offsetsOf(readKept(t, l, "t", 0)))
	})
	// Reference: K37, §2.3 ("the active segment is never compacted, and neither are records
	// younger than min.compaction.lag.ms").
}

func TestK37_DirtyRatioDecides(t *testing.T) {
	cases := []struct {
		name    string
		ratio   float64
		compact bool // whether a second round of writes, about a third of the log, is compacted
	}{
		{"default 0.5 not reached", 0, false},
		{"0.2 reached", 0.2, true},
		{"negative: anything dirty", -1, true},
		{"1 not reached", 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := openManual(t, "")
				cfg := compactConfig(tlog.CleanupCompact)
				cfg.MinCleanableDirtyRatio = tc.ratio
				require.NoError(t, l.CreateTopic("t", cfg))
				var ops []kv
				for i := range 12 {
					ops = append(ops, put(fmt.Sprint("k", i), "first")) // twelve distinct keys
				}
				write(t, l, "t", 0, ops...)
				rollAndRun(l) // all dirty: ratio 1
				require.Len(t, readKept(t, l, "t", 0), 12)
				more := []kv{put("k0", "x"), put("k0", "y"), put("k1", "x"), put("k1", "y")}
				write(t, l, "t", 12, more...)
				rollAndRun(l)
				got := readKept(t, l, "t", 0)
				if tc.compact {
					assert.Equal(t, newestPerKey(append(ops, more...), false), got)
				} else {
					assert.Len(t, got, 16, "dirty ratio below min.cleanable.dirty.ratio: nothing runs")
				}
			})
		})
	}
	// Reference: K37, §2.3 (dirtyRatio = dirtyBytes / (cleanBytes + dirtyBytes)).
}

func TestK37_MaxCompactionLagForcesCompaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openManual(t, "")
		cfg := compactConfig(tlog.CleanupCompact)
		cfg.SegmentAge = 100 * time.Hour // only max.compaction.lag.ms rolls below
		cfg.MinCleanableDirtyRatio = 1
		cfg.MaxCompactionLag = 2 * time.Hour
		require.NoError(t, l.CreateTopic("t", cfg))
		var ops []kv
		for i := range 12 {
			ops = append(ops, put(fmt.Sprint("k", i), "first"))
		}
		write(t, l, "t", 0, ops...)
		time.Sleep(2*time.Hour + time.Second)
		l.RunRetention() // rolls (KIP-354) and compacts: nothing to remove, but now clean
		more := []kv{put("k0", "x"), put("k0", "y")}
		write(t, l, "t", 12, more...)
		l.RunRetention()
		assert.Len(t, readKept(t, l, "t", 0), 14, "ratio 1 is not reached and the lag has not passed")
		time.Sleep(2*time.Hour + time.Second)
		l.RunRetention()
		assert.Equal(t, newestPerKey(append(ops, more...), false), readKept(t, l, "t", 0),
			"a dirty record older than max.compaction.lag.ms forces a compaction")
	})
	// Reference: K37, KIP-354.
}

func TestK37_CompactionRunsOnTheRetentionTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := tlog.Open("", &tlog.Options{RetentionCheckInterval: time.Minute})
		require.NoError(t, err)
		defer l.Close()
		cfg := compactConfig(tlog.CleanupCompact)
		cfg.SegmentAge = 5 * time.Minute
		cfg.MinCleanableDirtyRatio = -1 // the first run already cleans offsets 0-2
		require.NoError(t, l.CreateTopic("t", cfg))
		ops := []kv{put("a", "1"), put("a", "2"), put("b", "1"), put("a", "3")}
		write(t, l, "t", 0, ops...)
		time.Sleep(6*time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, newestPerKey(ops, false), readKept(t, l, "t", 0))
	})
	// Reference: K37; one timer drives retention and compaction (log.retention.check.interval.ms).
}

// TestK37_CompactionIsSafeWithConcurrentProduceAndFetch compacts in a loop while one goroutine
// produces and another fetches (run it with -race): fetches always see records as they were
// written, in offset order, and the newest record of each key is never lost.
func TestK37_CompactionIsSafeWithConcurrentProduceAndFetch(t *testing.T) {
	l := openManual(t, "")
	cfg := compactConfig(tlog.CleanupCompact)
	cfg.MinCleanableDirtyRatio = -1 // compact whenever a sealed segment is dirty
	require.NoError(t, l.CreateTopic("t", cfg))
	const n, keys = 300, 5
	check := func(recs []tlog.Record) error {
		for i, r := range recs {
			if string(r.Key) != fmt.Sprint("k", r.Offset%keys) || string(r.Value) != fmt.Sprint(r.Offset) {
				return fmt.Errorf("offset %d holds %q=%q", r.Offset, r.Key, r.Value)
			}
			if i > 0 && r.Offset <= recs[i-1].Offset {
				return fmt.Errorf("offset %d after %d", r.Offset, recs[i-1].Offset)
			}
		}
		return nil
	}
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := range n {
			rec := tlog.Record{Key: []byte(fmt.Sprint("k", i%keys)), Value: []byte(fmt.Sprint(i))}
			if _, err := l.ProduceTo(context.Background(), "t", 0, rec); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	fetched := make(chan struct{})
	go func() {
		defer close(fetched)
		for {
			select {
			case <-produced:
				return
			default:
			}
			recs, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{})
			if err == nil {
				err = check(recs)
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for done := false; !done; {
		select {
		case <-produced:
			done = true
		default:
		}
		l.RunRetention()
	}
	<-fetched
	l.RunRetention()
	all := fetchAll(t, l, "t", 0, 0)
	require.NoError(t, check(all))
	require.Less(t, len(all), n, "something was compacted")
	for i := n - keys; i < n; i++ {
		assert.True(t, slices.ContainsFunc(all, func(r tlog.Record) bool { return r.Offset == int64(i) }), "newest record %d", i)
	}
}

func TestK38_CompactDeleteAppliesBoth(t *testing.T) {
	cases := []struct {
		policy     string
		wantDelete bool
	}{
		{"compact", false},
		{"compact,delete", true},
		{"delete,compact", true},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := openManual(t, "")
				cfg := compactConfig(tc.policy)
				cfg.RetentionTime = 3 * time.Hour
				require.NoError(t, l.CreateTopic("t", cfg))
				old := []kv{put("a", "1"), put("b", "1"), put("a", "2"), put("b", "2"), put("c", "1")}
				write(t, l, "t", 0, old...)
				rollAndRun(l)
				assert.Equal(t, newestPerKey(old, false), readKept(t, l, "t", 0), "compacted under both policies")
				time.Sleep(3 * time.Hour)
				write(t, l, "t", 5, put("d", "1"))
				l.RunRetention()
				start, _, _ := startEnd(t, l, "t")
				if tc.wantDelete {
					assert.Equal(t, int64(5), start, "time retention deleted the old segments too")
					assert.Equal(t, []int64{5}, offsetsOf(readKept(t, l, "t", start)))
				} else {
					assert.Equal(t, int64(0), start, "compact alone deletes nothing by time")
				}
			})
		})
	}
	// Reference: K38, K:doc#topicconfigs_cleanup.policy.
}

// TestK35_RandomWritesAgainstModel writes seeded random keys, values and tombstones, with
// compaction running between them, and checks after every run that what is read is a
// subsequence of what was written, that each key's newest record is there, and at the end
// (everything sealed and tombstones expired) that exactly the live keys' newest records are.
func TestK35_RandomWritesAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
				l := openManual(t, "")
				cfg := compactConfig(tlog.CleanupCompact)
				cfg.DeleteRetention = 2 * time.Hour
				cfg.MinCleanableDirtyRatio = 0.3
				cfg.MaxCompactionLag = 2 * time.Hour
				require.NoError(t, l.CreateTopic("t", cfg))
				var ops []kv
				for step := range 200 {
					op := put(fmt.Sprint("k", rng.IntN(12)), fmt.Sprint(step))
					if rng.IntN(8) == 0 {
						op = del(op.key)
					}
					write(t, l, "t", int64(len(ops)), op)
					ops = append(ops, op)
					if rng.IntN(15) == 0 {
						time.Sleep(time.Duration(rng.IntN(90)) * time.Minute)
						l.RunRetention()
						checkAgainstModel(t, l, ops, seed)
					}
				}
				// Everything sealed; the first run compacts it all (max.compaction.lag.ms has
				// passed) and stamps the last tombstones, the second removes them.
				rollAndRun(l)
				for range 2 {
					time.Sleep(2 * time.Hour)
					l.RunRetention()
					checkAgainstModel(t, l, ops, seed)
				}
				assert.Equal(t, newestPerKey(ops, true), readKept(t, l, "t", 0), "seed %d", seed)
			})
		})
	}
}

func checkAgainstModel(t *testing.T, l *tlog.Log, ops []kv, seed uint64) {
	t.Helper()
	got := readKept(t, l, "t", 0)
	newest := map[string]int64{}
	for i, op := range ops {
		newest[op.key] = int64(i)
	}
	seen := map[int64]bool{}
	for i, k := range got {
		require.Less(t, k.Offset, int64(len(ops)), "seed %d", seed)
		op := ops[k.Offset]
		require.Equal(t, kept{Offset: k.Offset, Key: op.key, Value: op.val}, k, "seed %d: a record changed", seed)
		if i > 0 {
			require.Greater(t, k.Offset, got[i-1].Offset, "seed %d: order", seed)
		}
		seen[k.Offset] = true
	}
	for key, off := range newest {
		if ops[off].val != nil {
			require.True(t, seen[off], "seed %d: key %s lost its newest record %d", seed, key, off)
		}
	}
}

func TestTopicConfig_CompactionDefaultsAndValidation(t *testing.T) {
	l := openManual(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{CleanupPolicy: "compact"}))
	info, err := l.DescribeTopic("t")
	require.NoError(t, err)
	assert.Equal(t, 0.5, info.Config.MinCleanableDirtyRatio)
	assert.Equal(t, time.Duration(0), info.Config.MinCompactionLag)
	assert.Equal(t, time.Duration(-1), info.Config.MaxCompactionLag, "never (Long.MAX_VALUE)")
	assert.Equal(t, 24*time.Hour, info.Config.DeleteRetention)

	bad := []tlog.TopicConfig{
		{MinCleanableDirtyRatio: 1.5},
		{MinCleanableDirtyRatio: math.NaN()},
		{MinCompactionLag: -time.Second},
		{MinCompactionLag: 2 * time.Hour, MaxCompactionLag: time.Hour},
	}
	for i, cfg := range bad {
		err := l.CreateTopic(fmt.Sprint("bad", i), cfg)
		assert.ErrorIs(t, err, tlog.ErrInvalidConfig, "%+v", cfg)
	}
	assert.Equal(t, []string{"t"}, l.Topics(), "an invalid config creates nothing")
	// Reference: §2.5 defaults (min.cleanable.dirty.ratio 0.5, delete.retention.ms 86 400 000,
	// min/max.compaction.lag.ms 0 / Long.MAX).
}

func TestTopicConfig_SavedWithoutCompactionFieldsLoadsDefaults(t *testing.T) {
	st := store.OpenMemory()
	t.Cleanup(func() { st.Close() })
	old := map[string]any{"Partitions": 1, "SegmentBytes": 1 << 30, "SegmentAge": int64(7 * 24 * time.Hour),
		"RetentionTime": int64(7 * 24 * time.Hour), "RetentionBytes": -1, "CleanupPolicy": "compact",
		"MaxMessageBytes": 1048588, "TimestampType": "CreateTime"}
	v, err := json.Marshal(old)
	require.NoError(t, err)
	require.NoError(t, st.Update(func(tx *store.Tx) error {
		b, err := tx.CreateBucketIfNotExists(store.BucketLog, "topics")
		if err != nil {
			return err
		}
		return b.Put([]byte("legacy"), v)
	}))
	l, err := tlog.Open("", &tlog.Options{Store: st})
	require.NoError(t, err)
	defer l.Close()
	info, err := l.DescribeTopic("legacy")
	require.NoError(t, err)
	assert.Equal(t, 0.5, info.Config.MinCleanableDirtyRatio)
	assert.Equal(t, time.Duration(-1), info.Config.MaxCompactionLag)
	assert.Equal(t, tlog.DefaultDeleteRetention, info.Config.DeleteRetention)
	_, err = l.ProduceTo(context.Background(), "legacy", 0, tlog.Record{Value: []byte("x")})
	assert.True(t, errors.Is(err, tlog.ErrInvalidRecord))
}
