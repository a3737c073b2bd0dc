package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tribusmq/tribus/store"
)

// This file keeps the committed offsets of consumer groups: per (group, topic, partition), the
// next offset the group reads (K12, K14). They live in the store under
// log/groups/<group>/<topic>, keyed by the partition number, and in memory, so that reading
// them never touches the store. Writes go through the store's group commit: concurrent commits
// share one transaction.
//
// The group coordinator is the only caller; it checks members and generations (K20) before it
// commits, and it decides which groups are empty when offsets expire (K18).

// OffsetAndMetadata is what a consumer group has committed for one partition.
type OffsetAndMetadata struct {
	// Offset is the next offset the group reads from the partition: the last record processed
	// plus one (K12). It is never negative.
	Offset int64
	// LeaderEpoch is the leader epoch of the last record consumed as the consumer saw it, -1
	// when unknown. It is kept and returned unchanged; with one broker there is nothing to
	// check it against.
	LeaderEpoch int32
	// Metadata is free text the committer attaches, at most 4096 bytes
	// (offset.metadata.max.bytes).
	Metadata string
	// CommitTime is when the log accepted the commit, to the millisecond. The log sets it; a
	// value passed in is ignored. Expiry (K18) counts from it.
	CommitTime time.Time
}

// DefaultOffsetsRetention is Kafka's default offsets.retention.minutes, 7 days: how long the
// committed offsets of an empty group are kept (K18).
const DefaultOffsetsRetention = 7 * 24 * time.Hour

const (
	bktGroups = "groups"

	offsetMetadataMaxBytes = 4096          // offset.metadata.max.bytes
	groupIDMaxBytes        = math.MaxInt16 // the longest string Kafka's protocol carries

	offsetValueV1  = 1
	offsetValueLen = 1 + 8 + 4 + 8 // version, offset, leader epoch, commit time in Unix ms
)

// offsetState is the in-memory copy of the committed offsets.
//
// Writes are submitted to the store under mu, which numbers them (issued) in the order the
// store commits them. When a write's transaction is answered, its change is applied to groups
// in that same order (applied counts the writes done, and each write wakes the next through turns), so the map always
// equals what the store holds, even when commits and deletes of the same keys race.
//
// Lock order: Log.mu, then offsetState.mu. The store's committer never takes either.
type offsetState struct {
	mu      sync.RWMutex
	turns   map[uint64]chan struct{} // closed when the write before the key's is applied
	issued  uint64
	applied uint64
	groups  map[string]map[TopicPartition]OffsetAndMetadata
}

// submit queues fn in the store and returns its place in line; the caller passes both to
// finish. Callers that check Log.closed or topics hold Log.mu across submit, so that what
// they checked still holds when fn is queued.
func (o *offsetState) submit(st *store.Store, fn func(tx *store.Tx) error) (uint64, func() error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.issued++
	return o.issued, st.Submit(fn)
}

// finish waits for the write seq, then, in submission order, applies its change to the map
// if it was committed.
func (o *offsetState) finish(seq uint64, wait func() error, apply func()) error {
	err := wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.applied+1 != seq {
		// Wait for exactly the write before this one; a broadcast would wake every waiter
		// of a large commit round once per write.
		if o.turns == nil {
			o.turns = map[uint64]chan struct{}{}
		}
		ch := make(chan struct{})
		o.turns[seq] = ch
		o.mu.Unlock()
		<-ch
		o.mu.Lock()
	}
	if err == nil {
		apply()
	}
	o.applied = seq
	if ch, ok := o.turns[seq+1]; ok {
		delete(o.turns, seq+1)
		close(ch)
	}
	switch {
	case errors.Is(err, store.ErrClosed):
		return ErrClosed // a store the caller shared and closed first
	case err != nil:
		return fmt.Errorf("tribus/log: offsets: %w", err)
	}
	return nil
}

// loadOffsets reads the committed offsets into memory at Open, after the topics. Offsets of a
// topic that no longer exists (a crash between deleting the topic and its offsets) are
// dropped from the store.
func (l *Log) loadOffsets() error {
	o := &l.offs
	o.groups = map[string]map[TopicPartition]OffsetAndMetadata{}
	type orphan struct{ group, topic string }
	var orphans []orphan
	err := l.st.View(func(tx *store.Tx) error {
		root := tx.Bucket(store.BucketLog, bktGroups)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(g []byte) error {
			group := string(g)
			gb := root.Bucket(group)
			return gb.ForEachBucket(func(tn []byte) error {
				topic := string(tn)
				t := l.topics[topic]
				if t == nil {
					orphans = append(orphans, orphan{group, topic})
					return nil
				}
				return gb.Bucket(topic).ForEach(func(k, v []byte) error {
					om, err := decodeOffset(v)
					if err == nil && (len(k) != 4 || int(binary.BigEndian.Uint32(k)) >= len(t.parts)) {
						err = fmt.Errorf("bad partition key %x", k)
					}
					if err != nil {
						return fmt.Errorf("tribus/log: group %q, topic %q: stored offset: %w", group, topic, err)
					}
					tp := TopicPartition{Topic: topic, Partition: int32(binary.BigEndian.Uint32(k))}
					if o.groups[group] == nil {
						o.groups[group] = map[TopicPartition]OffsetAndMetadata{}
					}
					o.groups[group][tp] = om
					return nil
				})
			})
		})
	})
	if err != nil || len(orphans) == 0 {
		return err
	}
	err = l.st.Update(func(tx *store.Tx) error {
		for _, or := range orphans {
			if err := tx.DeleteBucket(store.BucketLog, bktGroups, or.group, or.topic); err != nil {
				return err
			}
			if err := dropEmptyGroup(tx, or.group); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tribus/log: dropping offsets of deleted topics: %w", err)
	}
	return nil
}

// commitOffsets commits offsets for gm's group, all or none (OffsetCommit); gm's member and
// generation, already checked by the caller, are for the observer. Each entry's CommitTime
// is set to now. It fails with [ErrInvalidGroupID], [ErrInvalidCommitOffset],
// [ErrOffsetMetadataTooLarge] or [ErrUnknownTopic] (a topic or partition that does not exist)
// without committing anything, and with [ErrClosed] after Close. It returns once the commit
// is durable; concurrent commits share one store transaction. An empty map commits nothing.
func (l *Log) commitOffsets(gm GroupMetadata, offsets map[TopicPartition]OffsetAndMetadata) error {
	group := gm.GroupID
	if err := validGroupID(group); err != nil {
		return err
	}
	now := time.UnixMilli(time.Now().UnixMilli())
	tps := slices.SortedFunc(maps.Keys(offsets), compareTP)
	vals := make(map[TopicPartition]OffsetAndMetadata, len(tps))
	for _, tp := range tps {
		om := offsets[tp]
		if om.Offset < 0 {
			return fmt.Errorf("%w: %d for %s-%d", ErrInvalidCommitOffset, om.Offset, tp.Topic, tp.Partition)
		}
		if len(om.Metadata) > offsetMetadataMaxBytes {
			return fmt.Errorf("%w: %d bytes for %s-%d, the most is %d", ErrOffsetMetadataTooLarge,
				len(om.Metadata), tp.Topic, tp.Partition, offsetMetadataMaxBytes)
		}
		om.CommitTime = now
		vals[tp] = om
	}

	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	for _, tp := range tps {
		if t := l.topics[tp.Topic]; t == nil || tp.Partition < 0 || int(tp.Partition) >= len(t.parts) {
			l.mu.RUnlock()
			return fmt.Errorf("%w: %s-%d", ErrUnknownTopic, tp.Topic, tp.Partition)
		}
	}
	if len(tps) == 0 {
		l.mu.RUnlock()
		return nil
	}
	seq, wait := l.offs.submit(l.st, func(tx *store.Tx) error {
		var b *store.Bucket
		for i, tp := range tps {
			if i == 0 || tp.Topic != tps[i-1].Topic {
				var err error
				if b, err = tx.CreateBucketIfNotExists(store.BucketLog, bktGroups, group, tp.Topic); err != nil {
					return err
				}
			}
			if err := b.PutOwned(partitionKey(tp.Partition), encodeOffset(vals[tp])); err != nil {
				return err
			}
		}
		return nil
	})
	l.mu.RUnlock()
	return l.offs.finish(seq, wait, func() {
		g := l.offs.groups[group]
		if g == nil {
			g = make(map[TopicPartition]OffsetAndMetadata, len(vals))
			l.offs.groups[group] = g
		}
		maps.Copy(g, vals)
		if l.observed() {
			for _, tp := range tps {
				l.emitCommitted(gm, "", tp, vals[tp].Offset)
			}
		}
	})
}

// emitCommitted reports a committed offset. Callers hold offs.mu, right after applying it,
// so that commits of one partition are reported in the order they were applied.
func (l *Log) emitCommitted(gm GroupMetadata, txnID string, tp TopicPartition, offset int64) {
	l.emit(Event{Kind: EventCommitted, Group: gm.GroupID, Member: gm.MemberID, InstanceID: gm.GroupInstanceID,
		Generation: gm.Generation, TransactionalID: txnID, Topic: tp.Topic, Partition: tp.Partition, Offset: offset})
}

// committedOffset returns what group has committed for tp (OffsetFetch), and false if nothing
// is committed, in which case the group starts by auto.offset.reset (K13). It reads memory
// only. It fails with [ErrInvalidGroupID], or [ErrClosed] after Close.
func (l *Log) committedOffset(group string, tp TopicPartition) (OffsetAndMetadata, bool, error) {
	if err := l.offsetsReadable(group); err != nil {
		return OffsetAndMetadata{}, false, err
	}
	l.offs.mu.RLock()
	defer l.offs.mu.RUnlock()
	om, ok := l.offs.groups[group][tp]
	return om, ok, nil
}

// committedOffsets returns every offset group has committed, in a map the caller owns (empty,
// not nil, when there is none). It reads memory only. It fails with [ErrInvalidGroupID], or
// [ErrClosed] after Close.
func (l *Log) committedOffsets(group string) (map[TopicPartition]OffsetAndMetadata, error) {
	if err := l.offsetsReadable(group); err != nil {
		return nil, err
	}
	l.offs.mu.RLock()
	defer l.offs.mu.RUnlock()
	out := make(map[TopicPartition]OffsetAndMetadata, len(l.offs.groups[group]))
	maps.Copy(out, l.offs.groups[group])
	return out, nil
}

// offsetGroups returns the groups that have committed offsets, sorted. It fails with
// [ErrClosed] after Close.
func (l *Log) offsetGroups() ([]string, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	l.offs.mu.RLock()
	defer l.offs.mu.RUnlock()
	return slices.Sorted(maps.Keys(l.offs.groups)), nil
}

// deleteOffsets deletes the offsets group committed for tps, or all of them when tps is empty
// (DeleteGroups, OffsetDelete); a group left with none is no longer listed. Deleting offsets
// that do not exist is not an error. The coordinator checks that the group may lose them. It
// fails with [ErrInvalidGroupID], or [ErrClosed] after Close. With report, each offset deleted
// is an EventOffsetDeleted (DeleteGroups reports the group's deletion instead).
func (l *Log) deleteOffsets(group string, report bool, tps ...TopicPartition) error {
	if err := validGroupID(group); err != nil {
		return err
	}
	tps = slices.Clone(tps)
	slices.SortFunc(tps, compareTP)
	tps = slices.Compact(tps)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	seq, wait := l.offs.submit(l.st, func(tx *store.Tx) error {
		gb := tx.Bucket(store.BucketLog, bktGroups, group)
		if gb == nil {
			return nil
		}
		if len(tps) == 0 {
			return tx.DeleteBucket(store.BucketLog, bktGroups, group)
		}
		for _, tp := range tps {
			tb := gb.Bucket(tp.Topic)
			if tb == nil || tp.Partition < 0 {
				continue
			}
			if err := tb.Delete(partitionKey(tp.Partition)); err != nil {
				return err
			}
			if empty, err := isEmptyBucket(tb); err != nil {
				return err
			} else if empty {
				if err := gb.DeleteBucket(tp.Topic); err != nil {
					return err
				}
			}
		}
		return dropEmptyGroup(tx, group)
	})
	l.mu.RUnlock()
	return l.offs.finish(seq, wait, func() {
		g := l.offs.groups[group]
		var gone []Event
		if report && l.observed() {
			named := tps
			if len(tps) == 0 {
				named = slices.SortedFunc(maps.Keys(g), compareTP)
			}
			for _, tp := range named {
				if om, ok := g[tp]; ok {
					gone = append(gone, Event{Kind: EventOffsetDeleted, Group: group, Topic: tp.Topic, Partition: tp.Partition,
						Offset: om.Offset})
				}
			}
		}
		if len(tps) == 0 {
			delete(l.offs.groups, group)
		} else {
			for _, tp := range tps {
				delete(g, tp)
			}
			if len(g) == 0 {
				delete(l.offs.groups, group)
			}
		}
		for _, e := range gone {
			l.emit(e)
		}
	})
}

// dropTopicOffsets deletes every group's offsets of topic, for DeleteTopic, which holds
// Log.mu. Groups left with none are no longer listed.
func (l *Log) dropTopicOffsets(topic string) error {
	seq, wait := l.offs.submit(l.st, func(tx *store.Tx) error {
		root := tx.Bucket(store.BucketLog, bktGroups)
		if root == nil {
			return nil
		}
		var groups []string
		if err := root.ForEachBucket(func(g []byte) error {
			if root.Bucket(string(g)).Bucket(topic) != nil {
				groups = append(groups, string(g))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, g := range groups {
			if err := tx.DeleteBucket(store.BucketLog, bktGroups, g, topic); err != nil {
				return err
			}
			if err := dropEmptyGroup(tx, g); err != nil {
				return err
			}
		}
		return nil
	})
	return l.offs.finish(seq, wait, func() {
		for group, g := range l.offs.groups {
			maps.DeleteFunc(g, func(tp TopicPartition, _ OffsetAndMetadata) bool { return tp.Topic == topic })
			if len(g) == 0 {
				delete(l.offs.groups, group)
			}
		}
	})
}

// expireOffsets deletes the committed offsets of empty groups once they are older than
// retention at now (K18, offsets.retention.minutes), and returns the groups it emptied,
// sorted. emptySince tells, for a group, whether it has no members and, if the coordinator
// knows it, since when (the zero time if not); nil means no group has members. A group
// expires as a whole when now - max(since, its newest commit) >= retention, so a commit made
// while it was empty restarts the count. The coordinator calls this from its own timer
// (offsets.retention.check.interval.ms); emptySince is called without any lock of the Log
// held. It fails with [ErrInvalidConfig] for a retention that is not positive, and with
// [ErrClosed] after Close.
//
// Kafka measures each offset on its own from its commit when it does not know since when the
// group is empty; tribus keeps a group's offsets together, all or none.
func (l *Log) expireOffsets(now time.Time, retention time.Duration, emptySince func(group string) (since time.Time, empty bool)) ([]string, error) {
	if retention <= 0 {
		return nil, fmt.Errorf("%w: offsets retention %v is not positive", ErrInvalidConfig, retention)
	}
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	l.offs.mu.RLock()
	newest := make(map[string]time.Time, len(l.offs.groups))
	for group, g := range l.offs.groups {
		newest[group] = newestCommit(maps.Values(g))
	}
	l.offs.mu.RUnlock()

	type candidate struct {
		group string
		since time.Time
	}
	var cands []candidate
	for _, group := range slices.Sorted(maps.Keys(newest)) {
		since, empty := time.Time{}, true
		if emptySince != nil {
			since, empty = emptySince(group)
		}
		if empty && expired(now, retention, since, newest[group]) {
			cands = append(cands, candidate{group, since})
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}

	var gone []string // set by the run of fn that commits
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	seq, wait := l.offs.submit(l.st, func(tx *store.Tx) error {
		gone = gone[:0]
		for _, c := range cands {
			gb := tx.Bucket(store.BucketLog, bktGroups, c.group)
			if gb == nil {
				continue
			}
			// Look again: a commit may have come in since the candidates were picked.
			latest, err := storedNewestCommit(gb)
			if err != nil {
				return err
			}
			if !expired(now, retention, c.since, latest) {
				continue
			}
			if err := tx.DeleteBucket(store.BucketLog, bktGroups, c.group); err != nil {
				return err
			}
			gone = append(gone, c.group)
		}
		return nil
	})
	l.mu.RUnlock()
	err := l.offs.finish(seq, wait, func() {
		for _, group := range gone {
			delete(l.offs.groups, group)
		}
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(gone), nil
}

// expired reports whether offsets last committed at newest, in a group empty since since
// (zero if unknown), are past retention at now.
func expired(now time.Time, retention time.Duration, since, newest time.Time) bool {
	base := newest
	if since.After(base) {
		base = since
	}
	return now.Sub(base) >= retention
}

// newestCommit returns the latest CommitTime among oms.
func newestCommit(oms iter.Seq[OffsetAndMetadata]) time.Time {
	var t time.Time
	for om := range oms {
		if om.CommitTime.After(t) {
			t = om.CommitTime
		}
	}
	return t
}

// storedNewestCommit returns the latest commit time stored in a group's bucket.
func storedNewestCommit(gb *store.Bucket) (time.Time, error) {
	var topics []string
	if err := gb.ForEachBucket(func(name []byte) error {
		topics = append(topics, string(name))
		return nil
	}); err != nil {
		return time.Time{}, err
	}
	var t time.Time
	for _, topic := range topics {
		if err := gb.Bucket(topic).ForEach(func(_, v []byte) error {
			om, err := decodeOffset(v)
			if err != nil {
				return fmt.Errorf("tribus/log: topic %q: stored offset: %w", topic, err)
			}
			if om.CommitTime.After(t) {
				t = om.CommitTime
			}
			return nil
		}); err != nil {
			return time.Time{}, err
		}
	}
	return t, nil
}

// offsetsReadable checks a read of group's offsets.
func (l *Log) offsetsReadable(group string) error {
	if err := validGroupID(group); err != nil {
		return err
	}
	return l.checkOpen()
}

// checkOpen returns ErrClosed after Close.
func (l *Log) checkOpen() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return nil
}

// validGroupID checks a group id: not empty, and short enough for Kafka's protocol (and a
// store key).
func validGroupID(group string) error {
	if group == "" {
		return fmt.Errorf("%w: empty", ErrInvalidGroupID)
	}
	if len(group) > groupIDMaxBytes {
		return fmt.Errorf("%w: %d bytes, the most is %d", ErrInvalidGroupID, len(group), groupIDMaxBytes)
	}
	return nil
}

// dropEmptyGroup deletes a group's bucket if no topic bucket is left in it.
func dropEmptyGroup(tx *store.Tx, group string) error {
	gb := tx.Bucket(store.BucketLog, bktGroups, group)
	if gb == nil {
		return nil
	}
	errFound := errors.New("found")
	err := gb.ForEachBucket(func([]byte) error { return errFound })
	switch {
	case errors.Is(err, errFound):
		return nil
	case err != nil:
		return err
	}
	return tx.DeleteBucket(store.BucketLog, bktGroups, group)
}

// isEmptyBucket reports whether b holds no value.
func isEmptyBucket(b *store.Bucket) (bool, error) {
	empty := true
	err := b.Seek(nil, func(_, _ []byte) (bool, error) {
		empty = false
		return false, nil
	})
	return empty, err
}

// partitionKey is the store key of a partition: its number, 4 bytes big-endian, so keys sort
// numerically.
func partitionKey(p int32) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(p))
}

// encodeOffset lays out a committed offset for the store: a version byte, the offset, the
// leader epoch, the commit time in Unix milliseconds, all big-endian, then the metadata.
func encodeOffset(om OffsetAndMetadata) []byte {
	b := make([]byte, 0, offsetValueLen+len(om.Metadata))
	b = append(b, offsetValueV1)
	b = binary.BigEndian.AppendUint64(b, uint64(om.Offset))
	b = binary.BigEndian.AppendUint32(b, uint32(om.LeaderEpoch))
	b = binary.BigEndian.AppendUint64(b, uint64(om.CommitTime.UnixMilli()))
	return append(b, om.Metadata...)
}

// decodeOffset reads what encodeOffset wrote. The result owns its bytes.
func decodeOffset(b []byte) (OffsetAndMetadata, error) {
	if len(b) < offsetValueLen || b[0] != offsetValueV1 {
		return OffsetAndMetadata{}, fmt.Errorf("unknown encoding (%d bytes)", len(b))
	}
	om := OffsetAndMetadata{
		Offset:      int64(binary.BigEndian.Uint64(b[1:])),
		LeaderEpoch: int32(binary.BigEndian.Uint32(b[9:])),
		CommitTime:  time.UnixMilli(int64(binary.BigEndian.Uint64(b[13:]))),
		Metadata:    string(b[offsetValueLen:]),
	}
	if om.Offset < 0 {
		return OffsetAndMetadata{}, fmt.Errorf("negative offset %d", om.Offset)
	}
	return om, nil
}
