package log

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// The offset store is reached through unexported methods the group coordinator calls, so
// these tests are white-box.

// offsModes runs body against an in-memory log and one on disk.
func offsModes(t *testing.T, body func(t *testing.T, dir string)) {
	t.Run("memory", func(t *testing.T) { body(t, "") })
	t.Run("disk", func(t *testing.T) { body(t, t.TempDir()) })
}

// offsOpen opens a log with topics "t" (2 partitions) and "u" (1 partition) if they are not
// there yet, and closes it at the end of the test.
func offsOpen(t *testing.T, dir string, o *Options) *Log {
	t.Helper()
	l, err := Open(dir, o)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	for name, n := range map[string]int{"t": 2, "u": 1} {
		if _, err := l.topic(name); err != nil {
			require.NoError(t, l.CreateTopic(name, TopicConfig{Partitions: n}))
		}
	}
	return l
}

func offsTP(topic string, p int32) TopicPartition { return TopicPartition{Topic: topic, Partition: p} }

// offsStored reads every committed offset from the store, bypassing memory.
func offsStored(t *testing.T, l *Log) map[string]map[TopicPartition]OffsetAndMetadata {
	t.Helper()
	out := map[string]map[TopicPartition]OffsetAndMetadata{}
	require.NoError(t, l.st.View(func(tx *store.Tx) error {
		root := tx.Bucket(store.BucketLog, bktGroups)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(g []byte) error {
			gb := root.Bucket(string(g))
			return gb.ForEachBucket(func(topic []byte) error {
				return gb.Bucket(string(topic)).ForEach(func(k, v []byte) error {
					om, err := decodeOffset(v)
					if err != nil {
						return err
					}
					if out[string(g)] == nil {
						out[string(g)] = map[TopicPartition]OffsetAndMetadata{}
					}
					out[string(g)][offsTP(string(topic), int32(binary.BigEndian.Uint32(k)))] = om
					return nil
				})
			})
		})
	}))
	return out
}

// offsMemory returns a copy of the in-memory offsets.
func offsMemory(l *Log) map[string]map[TopicPartition]OffsetAndMetadata {
	l.offs.mu.RLock()
	defer l.offs.mu.RUnlock()
	out := map[string]map[TopicPartition]OffsetAndMetadata{}
	for g, m := range l.offs.groups {
		out[g] = map[TopicPartition]OffsetAndMetadata{}
		for tp, om := range m {
			out[g][tp] = om
		}
	}
	return out
}

func TestOffsets_CommitFetchDelete(t *testing.T) {
	offsModes(t, func(t *testing.T, dir string) {
		l := offsOpen(t, dir, nil)
		before := time.Now()
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
			offsTP("t", 0): {Offset: 7, LeaderEpoch: 3, Metadata: "m", CommitTime: time.Unix(1, 0)},
			offsTP("t", 1): {Offset: 0},
			offsTP("u", 0): {Offset: 42, LeaderEpoch: -1},
		}))
		om, ok, err := l.committedOffset("g", offsTP("t", 0))
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, int64(7), om.Offset)
		assert.Equal(t, int32(3), om.LeaderEpoch)
		assert.Equal(t, "m", om.Metadata)
		assert.False(t, om.CommitTime.Before(before.Truncate(time.Millisecond)), "the log sets the commit time")
		assert.True(t, om.CommitTime.Equal(om.CommitTime.Truncate(time.Millisecond)), "to the millisecond")

		all, err := l.committedOffsets("g")
		require.NoError(t, err)
		assert.Len(t, all, 3)
		assert.Equal(t, int64(42), all[offsTP("u", 0)].Offset)
		all[offsTP("u", 0)] = OffsetAndMetadata{}
		again, _ := l.committedOffsets("g")
		assert.Equal(t, int64(42), again[offsTP("u", 0)].Offset, "the caller owns the returned map")

		none, err := l.committedOffsets("other")
		require.NoError(t, err)
		assert.NotNil(t, none)
		assert.Empty(t, none)
		_, ok, err = l.committedOffset("other", offsTP("t", 0))
		require.NoError(t, err)
		assert.False(t, ok, "nothing committed: the consumer falls back to auto.offset.reset")

		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 9}}))
		om, _, _ = l.committedOffset("g", offsTP("t", 0))
		assert.Equal(t, int64(9), om.Offset, "a later commit replaces the earlier one")
		assert.Empty(t, om.Metadata)

		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "h", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 1}}))
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "h", Generation: -1}, nil), "an empty commit commits nothing")
		groups, err := l.offsetGroups()
		require.NoError(t, err)
		assert.Equal(t, []string{"g", "h"}, groups)

		require.NoError(t, l.deleteOffsets("g", false, offsTP("t", 0), offsTP("t", 0), offsTP("t", 5)))
		all, _ = l.committedOffsets("g")
		assert.Len(t, all, 2)
		require.NoError(t, l.deleteOffsets("g", false, offsTP("t", 1), offsTP("u", 0)))
		require.NoError(t, l.deleteOffsets("h", false))
		require.NoError(t, l.deleteOffsets("never", false))
		groups, _ = l.offsetGroups()
		assert.Empty(t, groups, "a group with no offsets left is not listed")
		assert.Empty(t, offsStored(t, l))
	})
}

func TestOffsets_BadInputChangesNothing(t *testing.T) {
	offsModes(t, func(t *testing.T, dir string) {
		l := offsOpen(t, dir, nil)
		good := OffsetAndMetadata{Offset: 1}
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 5}}))
		stats := l.st.Stats()
		for name, tc := range map[string]struct {
			group string
			bad   TopicPartition
			om    OffsetAndMetadata
			want  error
		}{
			"empty group":            {"", offsTP("t", 1), good, ErrInvalidGroupID},
			"group id too long":      {strings.Repeat("g", 32768), offsTP("t", 1), good, ErrInvalidGroupID},
			"unknown topic":          {"g", offsTP("nope", 0), good, ErrUnknownTopic},
			"partition past the end": {"g", offsTP("t", 2), good, ErrUnknownTopic},
			"negative partition":     {"g", offsTP("t", -1), good, ErrUnknownTopic},
			"negative offset":        {"g", offsTP("t", 1), OffsetAndMetadata{Offset: -1}, ErrInvalidCommitOffset},
			"metadata too large": {"g", offsTP("t", 1), OffsetAndMetadata{Metadata: strings.Repeat("m", 4097)},
				ErrOffsetMetadataTooLarge},
		} {
			err := l.commitOffsets(GroupMetadata{GroupID: tc.group, Generation: -1}, map[TopicPartition]OffsetAndMetadata{
				offsTP("t", 0): {Offset: 100}, // valid, and must not be committed either
				tc.bad:         tc.om,
			})
			assert.ErrorIs(t, err, tc.want, name)
		}
		om, _, _ := l.committedOffset("g", offsTP("t", 0))
		assert.Equal(t, int64(5), om.Offset, "a rejected commit commits none of its offsets")
		after := l.st.Stats()
		assert.Equal(t, stats.Updates+stats.Failed, after.Updates+after.Failed, "nothing reached the store")

		_, _, err := l.committedOffset("", offsTP("t", 0))
		assert.ErrorIs(t, err, ErrInvalidGroupID)
		_, err = l.committedOffsets("")
		assert.ErrorIs(t, err, ErrInvalidGroupID)
		assert.ErrorIs(t, l.deleteOffsets("", false), ErrInvalidGroupID)
		_, err = l.expireOffsets(time.Now(), 0, nil)
		assert.ErrorIs(t, err, ErrInvalidConfig)
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
			offsTP("t", 1): {Offset: 0, Metadata: strings.Repeat("m", 4096)}}), "4096 bytes of metadata is the limit")
	})
}

func TestOffsets_SurviveReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", TopicConfig{Partitions: 3}))
	require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
		offsTP("t", 0): {Offset: 10, LeaderEpoch: 2, Metadata: "ünïcode"},
		offsTP("t", 2): {Offset: 30},
	}))
	require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "h", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 1): {Offset: 1}}))
	require.NoError(t, l.deleteOffsets("h", false))
	want, err := l.committedOffsets("g")
	require.NoError(t, err)
	require.NoError(t, l.Close())

	l, err = Open(dir, nil)
	require.NoError(t, err)
	defer l.Close()
	got, err := l.committedOffsets("g")
	require.NoError(t, err)
	require.Len(t, got, 2)
	for tp, om := range want {
		assert.True(t, om.CommitTime.Equal(got[tp].CommitTime), "%v", tp)
		om.CommitTime = got[tp].CommitTime
		assert.Equal(t, om, got[tp], "%v", tp)
	}
	groups, _ := l.offsetGroups()
	assert.Equal(t, []string{"g"}, groups, "the deleted group stays deleted")
}

func TestOffsets_DeleteTopicDropsItsOffsets(t *testing.T) {
	offsModes(t, func(t *testing.T, dir string) {
		l := offsOpen(t, dir, nil)
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
			offsTP("t", 0): {Offset: 1}, offsTP("u", 0): {Offset: 2}}))
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "only-t", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 1): {Offset: 3}}))
		require.NoError(t, l.DeleteTopic("t"))
		got, _ := l.committedOffsets("g")
		assert.Equal(t, []TopicPartition{offsTP("u", 0)}, keysOf(got))
		groups, _ := l.offsetGroups()
		assert.Equal(t, []string{"g"}, groups)
		assert.Equal(t, offsMemory(l), offsStored(t, l))

		require.NoError(t, l.CreateTopic("t", TopicConfig{Partitions: 2}))
		_, ok, _ := l.committedOffset("g", offsTP("t", 0))
		assert.False(t, ok, "a topic created again under the same name starts without offsets")
		if dir != "" {
			require.NoError(t, l.Close())
			l = offsOpen(t, dir, nil)
			got, _ = l.committedOffsets("g")
			assert.Equal(t, []TopicPartition{offsTP("u", 0)}, keysOf(got))
		}
	})
}

func TestOffsets_OffsetsOfMissingTopicDroppedAtOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir+"/log.db", nil)
	require.NoError(t, err)
	l, err := Open(dir, &Options{Store: st})
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", TopicConfig{}))
	require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 4}}))
	require.NoError(t, l.Close())
	// As if the process died after deleting a topic and before deleting its offsets.
	require.NoError(t, st.Update(func(tx *store.Tx) error {
		for _, g := range []string{"g", "gone-only"} {
			b, err := tx.CreateBucketIfNotExists(store.BucketLog, bktGroups, g, "gone")
			if err != nil {
				return err
			}
			if err := b.Put(partitionKey(0), encodeOffset(OffsetAndMetadata{Offset: 9})); err != nil {
				return err
			}
		}
		return nil
	}))
	l, err = Open(dir, &Options{Store: st})
	require.NoError(t, err)
	got, _ := l.committedOffsets("g")
	assert.Equal(t, []TopicPartition{offsTP("t", 0)}, keysOf(got))
	groups, _ := l.offsetGroups()
	assert.Equal(t, []string{"g"}, groups)
	assert.Equal(t, offsMemory(l), offsStored(t, l), "the orphans are gone from the store too")
	require.NoError(t, l.Close())

	// A value this build cannot read stops Open rather than being guessed at.
	require.NoError(t, st.Update(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog, bktGroups, "g", "t").Put(partitionKey(0), []byte{9, 9})
	}))
	_, err = Open(dir, &Options{Store: st})
	assert.ErrorContains(t, err, "stored offset")
	require.NoError(t, st.Close())
}

func TestOffsets_ClosedLog(t *testing.T) {
	l, err := Open("", nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", TopicConfig{}))
	require.NoError(t, l.Close())
	one := map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 1}}
	assert.ErrorIs(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, one), ErrClosed)
	_, _, err = l.committedOffset("g", offsTP("t", 0))
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.committedOffsets("g")
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.offsetGroups()
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, l.deleteOffsets("g", false), ErrClosed)
	_, err = l.expireOffsets(time.Now(), time.Hour, nil)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestOffsets_ConcurrentCommitsShareTransactions(t *testing.T) {
	l := offsOpen(t, t.TempDir(), nil)
	const writers, each = 32, 20
	start := l.st.Stats()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			group, tp := fmt.Sprintf("g%d", w), offsTP("t", int32(w%2))
			for i := range each {
				err := l.commitOffsets(GroupMetadata{GroupID: group, Generation: -1}, map[TopicPartition]OffsetAndMetadata{
					tp: {Offset: int64(i)}, offsTP("u", 0): {Offset: int64(i), Metadata: group}})
				if !assert.NoError(t, err) {
					return
				}
			}
		})
	}
	wg.Wait()
	stats := l.st.Stats()
	updates, commits := stats.Updates-start.Updates, stats.Commits-start.Commits
	assert.Equal(t, uint64(writers*each), updates)
	assert.Less(t, commits, updates, "concurrent commits share transactions (group commit)")
	t.Logf("%d commits in %d transactions", updates, commits)
	assert.Equal(t, offsMemory(l), offsStored(t, l), "memory and store agree")
	for w := range writers {
		got, err := l.committedOffsets(fmt.Sprintf("g%d", w))
		require.NoError(t, err)
		assert.Equal(t, int64(each-1), got[offsTP("t", int32(w%2))].Offset)
		assert.Equal(t, int64(each-1), got[offsTP("u", 0)].Offset)
	}
}

func TestOffsets_RacingCommitsAndDeletesAgree(t *testing.T) {
	offsModes(t, func(t *testing.T, dir string) {
		l := offsOpen(t, dir, nil)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 30 {
					var err error
					switch (w + i) % 4 {
					case 0:
						err = l.deleteOffsets("g", false)
					case 1:
						err = l.deleteOffsets("g", false, offsTP("t", 1))
					default:
						err = l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
							offsTP("t", int32(i%2)): {Offset: int64(w*100 + i)}, offsTP("u", 0): {Offset: int64(i)}})
					}
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, offsMemory(l), offsStored(t, l), "memory applies writes in the order the store did")
	})
}

func TestK12_CommittedOffsetIsNextToRead(t *testing.T) {
	offsModes(t, func(t *testing.T, dir string) {
		l := offsOpen(t, dir, nil)
		tp := offsTP("u", 0)
		for i := range 10 {
			_, err := l.Produce(context.Background(), "u", Record{Value: []byte(fmt.Sprint(i))})
			require.NoError(t, err)
		}
		c := l.NewConsumer(ConsumerOptions{Reset: ResetEarliest})
		require.NoError(t, c.Assign(tp))
		recs, err := c.Poll(context.Background())
		require.NoError(t, err)
		require.Len(t, recs, 10)
		// The application processed offsets 0 to 3, so it commits 4: the next one to read.
		processed := recs[:4]
		next := processed[len(processed)-1].Offset + 1
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{tp: {Offset: next}}))

		// A consumer of the same group resumes from the commit and reads offset 4 first.
		resumed := l.NewConsumer(ConsumerOptions{Reset: ResetLatest})
		require.NoError(t, resumed.Assign(tp))
		om, ok, err := l.committedOffset("g", tp)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, resumed.Seek(tp, om.Offset))
		recs, err = resumed.Poll(context.Background())
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		assert.Equal(t, int64(4), recs[0].Offset)
		assert.Equal(t, "4", string(recs[0].Value))
	})
	// Reference: K12, KafkaConsumer.java (commitSync javadoc), K:doc#design_consumerposition
}

func TestK14_OffsetsBelongToGroupTopicPartition(t *testing.T) {
	offsModes(t, func(t *testing.T, dir string) {
		l := offsOpen(t, dir, nil)
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "billing", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
			offsTP("t", 0): {Offset: 5}, offsTP("t", 1): {Offset: 50}}))
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "notification-service", Generation: -1}, map[TopicPartition]OffsetAndMetadata{
			offsTP("t", 0): {Offset: 2}}))
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "billing", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 6}}))

		for _, tc := range []struct {
			group string
			tp    TopicPartition
			want  int64
			ok    bool
		}{
			{"billing", offsTP("t", 0), 6, true},
			{"billing", offsTP("t", 1), 50, true},
			{"notification-service", offsTP("t", 0), 2, true},
			{"notification-service", offsTP("t", 1), 0, false},
			{"billing", offsTP("u", 0), 0, false},
		} {
			om, ok, err := l.committedOffset(tc.group, tc.tp)
			require.NoError(t, err)
			assert.Equal(t, tc.ok, ok, "%s %v", tc.group, tc.tp)
			assert.Equal(t, tc.want, om.Offset, "%s %v", tc.group, tc.tp)
		}
		require.NoError(t, l.deleteOffsets("billing", false))
		om, _, _ := l.committedOffset("notification-service", offsTP("t", 0))
		assert.Equal(t, int64(2), om.Offset, "deleting one group's offsets leaves the other's")
	})
	// Reference: K14, K:doc#intro_consumers
}

func TestK18_EmptyGroupOffsetsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := Open("", &Options{RetentionCheckInterval: 30 * 24 * time.Hour})
		require.NoError(t, err)
		defer l.Close()
		require.NoError(t, l.CreateTopic("orders", TopicConfig{}))
		tp := offsTP("orders", 0)
		commit := func(group string) {
			require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: group, Generation: -1}, map[TopicPartition]OffsetAndMetadata{tp: {Offset: 3}}))
		}
		// advance moves the bubble's fake clock on; nothing really waits.
		advance := func(d time.Duration) { <-time.After(d) }
		const week = DefaultOffsetsRetention

		t0 := time.Now()
		for _, g := range []string{"idle", "busy", "left"} {
			commit(g)
		}
		advance(3 * 24 * time.Hour)
		commit("late") // committed while empty: its own clock starts now
		// busy has members; left lost its last member on day 6; the others are empty.
		emptySince := func(group string) (time.Time, bool) {
			switch group {
			case "busy":
				return time.Time{}, false
			case "left":
				return t0.Add(6 * 24 * time.Hour), true
			}
			return time.Time{}, true
		}
		expire := func() []string {
			gone, err := l.expireOffsets(time.Now(), week, emptySince)
			require.NoError(t, err)
			return gone
		}
		advance(4*24*time.Hour - time.Millisecond)
		assert.Empty(t, expire(), "a millisecond before the retention nothing expires")

		advance(time.Millisecond)
		assert.Equal(t, []string{"idle"}, expire(), "7 days after its last commit, the empty group's offsets go")
		_, ok, err := l.committedOffset("idle", tp)
		require.NoError(t, err)
		assert.False(t, ok, "the group now starts from auto.offset.reset (K13)")

		advance(6 * 24 * time.Hour)
		assert.Equal(t, []string{"late", "left"}, expire(), "late: 7 days after its commit; left: 7 days after it emptied")
		groups, err := l.offsetGroups()
		require.NoError(t, err)
		assert.Equal(t, []string{"busy"}, groups, "a group with members keeps its offsets however old")
		assert.Empty(t, offsStored(t, l)["idle"])
	})
	// Reference: K18, KIP-211, GroupCoordinatorConfig.java (offsets.retention.minutes), GroupMetadata.scala
}

func TestOffsets_ExpiryRechecksCommitsThatRaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := Open("", &Options{RetentionCheckInterval: 30 * 24 * time.Hour})
		require.NoError(t, err)
		defer l.Close()
		require.NoError(t, l.CreateTopic("t", TopicConfig{}))
		tp := offsTP("t", 0)
		require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{tp: {Offset: 1}}))
		<-time.After(DefaultOffsetsRetention) // the bubble's clock jumps a week
		// emptySince runs after the group was picked as expired; a commit made meanwhile is
		// seen by the expiry's own transaction, which then keeps the group.
		gone, err := l.expireOffsets(time.Now(), DefaultOffsetsRetention, func(string) (time.Time, bool) {
			require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{tp: {Offset: 2}}))
			return time.Time{}, true
		})
		require.NoError(t, err)
		assert.Empty(t, gone)
		om, ok, _ := l.committedOffset("g", tp)
		assert.True(t, ok)
		assert.Equal(t, int64(2), om.Offset)
		assert.Equal(t, offsMemory(l), offsStored(t, l))
	})
}

func TestOffsets_ExpiredStayExpiredAfterReopen(t *testing.T) {
	dir := t.TempDir()
	l := offsOpen(t, dir, nil)
	require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "g", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 1}}))
	require.NoError(t, l.commitOffsets(GroupMetadata{GroupID: "h", Generation: -1}, map[TopicPartition]OffsetAndMetadata{offsTP("t", 0): {Offset: 1}}))
	gone, err := l.expireOffsets(time.Now().Add(2*DefaultOffsetsRetention), DefaultOffsetsRetention,
		func(g string) (time.Time, bool) { return time.Time{}, g == "g" })
	require.NoError(t, err)
	assert.Equal(t, []string{"g"}, gone)
	require.NoError(t, l.Close())
	l = offsOpen(t, dir, nil)
	groups, _ := l.offsetGroups()
	assert.Equal(t, []string{"h"}, groups)
}

func TestOffsets_ValueEncoding(t *testing.T) {
	om := OffsetAndMetadata{Offset: 1<<40 + 3, LeaderEpoch: -1, Metadata: "meta\x00data", CommitTime: time.UnixMilli(1_700_000_000_123)}
	got, err := decodeOffset(encodeOffset(om))
	require.NoError(t, err)
	assert.Equal(t, om, got)
	for _, bad := range [][]byte{nil, {1}, append([]byte{2}, make([]byte, 20)...),
		encodeOffset(OffsetAndMetadata{Offset: -5})} {
		_, err := decodeOffset(bad)
		assert.Error(t, err, "%x", bad)
	}
}

func keysOf(m map[TopicPartition]OffsetAndMetadata) []TopicPartition {
	out := []TopicPartition{}
	for tp := range m {
		out = append(out, tp)
	}
	return out
}
