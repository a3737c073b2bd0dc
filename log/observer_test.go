package log_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// recorder is an observer that keeps every event.
type recorder struct {
	mu  sync.Mutex
	evs []tlog.Event
}

func (r *recorder) observe(e tlog.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

// take returns the events so far, of the given kinds if any are given, with their times
// checked and cleared, and forgets every event so far.
func (r *recorder) take(t *testing.T, kinds ...tlog.EventKind) []tlog.Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []tlog.Event
	for _, e := range r.evs {
		assert.False(t, e.Time.IsZero(), "%v has no time", e.Kind)
		e.Time = time.Time{}
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	r.evs = nil
	return out
}

// observedLog opens a log in dir ("" for memory) with o and a recorder as its observer,
// closed with t.
func observedLog(t *testing.T, dir string, o tlog.Options) (*tlog.Log, *recorder) {
	t.Helper()
	r := &recorder{}
	o.Observer = r.observe
	l, err := tlog.Open(dir, &o)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l, r
}

func TestObserver_TopicLifecycle(t *testing.T) {
	l, r := observedLog(t, "", tlog.Options{})
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	require.NoError(t, l.CreatePartitions("t", 4))
	require.NoError(t, l.AlterTopicConfig("t", func(c *tlog.TopicConfig) error { c.RetentionTime = time.Hour; return nil }))
	require.NoError(t, l.DeleteTopic("t"))
	assert.Equal(t, []tlog.Event{
		{Kind: tlog.EventTopicCreated, Topic: "t", Count: 2},
		{Kind: tlog.EventPartitionsCreated, Topic: "t", Partition: 2, Count: 4},
		{Kind: tlog.EventTopicConfigChanged, Topic: "t"},
		{Kind: tlog.EventTopicDeleted, Topic: "t", Count: 4},
	}, r.take(t))

	require.NoError(t, l.CreateTopic("u", tlog.TopicConfig{}))
	r.take(t)
	assert.ErrorIs(t, l.CreateTopic("u", tlog.TopicConfig{}), tlog.ErrTopicExists)
	assert.ErrorIs(t, l.CreatePartitions("u", 1), tlog.ErrInvalidPartitions)
	assert.ErrorIs(t, l.DeleteTopic("nope"), tlog.ErrUnknownTopic)
	assert.Empty(t, r.take(t), "a refused change emits nothing")
}

// One EventAppended per batch, with its first offset and record count, and none for a
// duplicate an idempotent producer retried (K39).
func TestObserver_AppendedOncePerBatch(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l, r := observedLog(t, dir, tlog.Options{})
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
		pid, epoch, err := l.Requests().InitProducerID()
		require.NoError(t, err)
		r.take(t)

		_, err = l.ProduceTo(t.Context(), "t", 1, tlog.Record{Value: []byte("a")})
		require.NoError(t, err)
		three := []tlog.Record{{Value: []byte("b")}, {Value: []byte("c")}, {Value: []byte("d")}}
		off, err := l.AppendIdempotent("t", 1, pid, epoch, 0, slices.Clone(three))
		require.NoError(t, err)
		require.Equal(t, int64(1), off)
		off, err = l.AppendIdempotent("t", 1, pid, epoch, 0, slices.Clone(three))
		require.NoError(t, err)
		require.Equal(t, int64(1), off, "a retry")
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventAppended, Topic: "t", Partition: 1, Offset: 0, Count: 1},
			{Kind: tlog.EventAppended, Topic: "t", Partition: 1, Offset: 1, Count: 3, ProducerID: pid},
		}, r.take(t))
	})
}

// A transaction's records are appended as transactional batches; its commit commits the
// offsets sent to it, then writes the markers, then reports the commit (K42).
func TestObserver_TransactionCommitAndAbort(t *testing.T) {
	l, r := observedLog(t, "", tlog.Options{})
	require.NoError(t, l.CreateTopic("out", tlog.TopicConfig{Partitions: 2}))
	require.NoError(t, l.CreateTopic("in", tlog.TopicConfig{}))
	pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "tx"})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, pr.InitTransactions(ctx))
	pid, _ := pr.ProducerID()
	r.take(t)

	require.NoError(t, pr.BeginTransaction())
	for p := range int32(2) {
		_, err := pr.ProduceTo(ctx, "out", p, tlog.Record{Value: []byte("v")})
		require.NoError(t, err)
	}
	require.NoError(t, pr.SendOffsetsToTransaction(ctx, map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "in"}: {Offset: 5}},
		tlog.GroupMetadata{GroupID: "g", Generation: -1}))
	require.NoError(t, pr.CommitTransaction(ctx))
	assert.Equal(t, []tlog.Event{
		{Kind: tlog.EventAppended, Topic: "out", Partition: 0, Count: 1, ProducerID: pid, Transactional: true},
		{Kind: tlog.EventAppended, Topic: "out", Partition: 1, Count: 1, ProducerID: pid, Transactional: true},
		{Kind: tlog.EventGroupCreated, Group: "g"},
		{Kind: tlog.EventCommitted, Group: "g", Generation: -1, TransactionalID: "tx", Topic: "in", Offset: 5},
		{Kind: tlog.EventAppended, Topic: "out", Partition: 0, Offset: 1, Count: 1, ProducerID: pid, Control: true, Reason: "commit"},
		{Kind: tlog.EventAppended, Topic: "out", Partition: 1, Offset: 1, Count: 1, ProducerID: pid, Control: true, Reason: "commit"},
		{Kind: tlog.EventTxnCommitted, TransactionalID: "tx", ProducerID: pid, Count: 2},
	}, r.take(t))

	require.NoError(t, pr.BeginTransaction())
	_, err = pr.ProduceTo(ctx, "out", 0, tlog.Record{Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, pr.AbortTransaction(ctx))
	assert.Equal(t, []tlog.Event{
		{Kind: tlog.EventAppended, Topic: "out", Partition: 0, Offset: 2, Count: 1, ProducerID: pid, Transactional: true},
		{Kind: tlog.EventAppended, Topic: "out", Partition: 0, Offset: 3, Count: 1, ProducerID: pid, Control: true, Reason: "abort"},
		{Kind: tlog.EventTxnAborted, TransactionalID: "tx", ProducerID: pid, Count: 1, Reason: "AbortTransaction"},
	}, r.take(t))
}

// A transaction that outlives its timeout is aborted, and the event says why (K44).
func TestObserver_TransactionTimeoutAbortIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := observedLog(t, "", tlog.Options{})
		require.NoError(t, l.CreateTopic("out", tlog.TopicConfig{}))
		pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "tx", Timeout: time.Minute})
		require.NoError(t, err)
		require.NoError(t, pr.InitTransactions(t.Context()))
		require.NoError(t, pr.BeginTransaction())
		_, err = pr.ProduceTo(t.Context(), "out", 0, tlog.Record{Value: []byte("v")})
		require.NoError(t, err)
		pid, _ := pr.ProducerID()
		r.take(t)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventAppended, Topic: "out", Offset: 1, Count: 1, ProducerID: pid, Control: true, Reason: "abort"},
			{Kind: tlog.EventTxnAborted, TransactionalID: "tx", ProducerID: pid, Count: 1, Reason: "transaction.timeout.ms passed"},
		}, r.take(t))
	})
}

// groupReq is a JoinGroup request of a consumer member with the range protocol.
func groupReq(memberID string) tlog.JoinGroupRequest {
	return tlog.JoinGroupRequest{MemberID: memberID, ClientID: "c", ProtocolType: "consumer",
		Protocols: []tlog.GroupProtocol{{Name: "range"}}, SessionTimeout: tlog.DefaultSessionTimeout,
		RebalanceTimeout: time.Minute}
}

// answer returns a function to give a request's done and a channel its answer arrives on.
func answer[R any](t *testing.T) (func(R, error), <-chan R) {
	ch := make(chan R, 1)
	return func(resp R, err error) {
		assert.NoError(t, err)
		ch <- resp
	}, ch
}

func join(t *testing.T, q *tlog.Requests, req tlog.JoinGroupRequest) <-chan tlog.JoinGroupResponse {
	done, ch := answer[tlog.JoinGroupResponse](t)
	q.JoinGroup("g", req, done)
	return ch
}

func syncGroup(t *testing.T, q *tlog.Requests, req tlog.SyncGroupRequest) <-chan tlog.SyncGroupResponse {
	done, ch := answer[tlog.SyncGroupResponse](t)
	q.SyncGroup("g", req, done)
	return ch
}

// A group's life through the coordinator's requests: members join, rebalance, stabilise,
// leave and expire, each step reported with the generation and member count it left
// (K19–K25).
//
// The leader's assignments are reported per member as the coordinator handed them out
// (EventSynced), whatever client the member runs.
func TestObserver_GroupLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := observedLog(t, "", tlog.Options{})
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		q := l.Requests()
		r.take(t)

		ja := <-join(t, q, groupReq(""))
		a := ja.MemberID
		<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: a, Generation: 1, Assignments: map[string][]byte{a: nil}})
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventGroupCreated, Group: "g"},
			{Kind: tlog.EventMemberJoined, Group: "g", Member: a, Count: 1},
			{Kind: tlog.EventRebalancing, Group: "g", Member: a, Count: 1, Reason: "a new member joined"},
			{Kind: tlog.EventJoinCompleted, Group: "g", Member: a, Generation: 1, Count: 1, Protocol: "range"},
			{Kind: tlog.EventStable, Group: "g", Generation: 1, Count: 1},
			{Kind: tlog.EventSynced, Group: "g", Member: a, Generation: 1},
		}, r.take(t))

		jbc := join(t, q, groupReq(""))
		synctest.Wait()
		code, err := q.Heartbeat("g", a, "", 1)
		require.NoError(t, err)
		require.Equal(t, tlog.GroupCode(27), code, "REBALANCE_IN_PROGRESS")
		ja = <-join(t, q, groupReq(a))
		b := (<-jbc).MemberID
		sb := syncGroup(t, q, tlog.SyncGroupRequest{MemberID: b, Generation: 2})
		<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: a, Generation: 2,
			Assignments: map[string][]byte{a: consumerAssignment("t", 0), b: []byte("not an assignment")}})
		<-sb
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventMemberJoined, Group: "g", Member: b, Generation: 1, Count: 2},
			{Kind: tlog.EventRebalancing, Group: "g", Member: b, Generation: 1, Count: 2, Reason: "a new member joined"},
			{Kind: tlog.EventMemberRejoined, Group: "g", Member: a, Generation: 1, Count: 2},
			{Kind: tlog.EventJoinCompleted, Group: "g", Member: a, Generation: 2, Count: 2, Protocol: "range"},
			{Kind: tlog.EventStable, Group: "g", Generation: 2, Count: 2},
			{Kind: tlog.EventSynced, Group: "g", Member: a, Generation: 2, Count: 1, Partitions: []tlog.TopicPartition{{Topic: "t"}}},
			{Kind: tlog.EventSynced, Group: "g", Member: b, Generation: 2, Reason: "malformed assignment"},
		}, r.take(t))

		code, err = q.CommitOffsets(tlog.GroupMetadata{GroupID: "g", MemberID: a, Generation: 2},
			map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "t"}: {Offset: 0}})
		require.NoError(t, err)
		require.Zero(t, code)
		code, err = q.LeaveGroup("g", b, "")
		require.NoError(t, err)
		require.Zero(t, code)
		<-join(t, q, groupReq(a))
		<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: a, Generation: 3, Assignments: map[string][]byte{a: nil}})
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventCommitted, Group: "g", Member: a, Generation: 2, Topic: "t"},
			{Kind: tlog.EventMemberLeft, Group: "g", Member: b, Generation: 2, Count: 1, Reason: "LeaveGroup"},
			{Kind: tlog.EventRebalancing, Group: "g", Member: b, Generation: 2, Count: 1, Reason: "LeaveGroup"},
			{Kind: tlog.EventMemberRejoined, Group: "g", Member: a, Generation: 2, Count: 1},
			{Kind: tlog.EventJoinCompleted, Group: "g", Member: a, Generation: 3, Count: 1, Protocol: "range"},
			{Kind: tlog.EventStable, Group: "g", Generation: 3, Count: 1},
			{Kind: tlog.EventSynced, Group: "g", Member: a, Generation: 3},
		}, r.take(t))

		// a stops heartbeating: its session times out (K23) and the group empties.
		time.Sleep(tlog.DefaultSessionTimeout)
		synctest.Wait()
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventMemberExpired, Group: "g", Member: a, Generation: 3, Reason: "session timed out"},
			{Kind: tlog.EventRebalancing, Group: "g", Member: a, Generation: 3, Reason: "session timed out"},
			{Kind: tlog.EventGroupEmpty, Group: "g", Generation: 4},
		}, r.take(t))

		require.NoError(t, l.DeleteGroup("g"))
		assert.Equal(t, []tlog.Event{{Kind: tlog.EventGroupDeleted, Group: "g", Reason: "DeleteGroups"}}, r.take(t))
	})
}

// A static member that restarts within its session takes its place without a rebalance
// (K29): the old member id leaves, fenced, and the new one joins.
func TestObserver_K29_StaticMemberReplacement(t *testing.T) {
	l, r := observedLog(t, "", tlog.Options{})
	q := l.Requests()
	req := groupReq("")
	req.InstanceID = "i1"
	old := (<-join(t, q, req)).MemberID
	<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: old, InstanceID: "i1", Generation: 1, Assignments: map[string][]byte{old: nil}})
	r.take(t)
	resp := <-join(t, q, req)
	assert.Equal(t, int32(1), resp.Generation, "no rebalance")
	assert.Equal(t, []tlog.Event{
		{Kind: tlog.EventMemberLeft, Group: "g", Member: old, InstanceID: "i1", Generation: 1,
			Reason: "fenced: its group.instance.id rejoined with a new member id"},
		{Kind: tlog.EventMemberJoined, Group: "g", Member: resp.MemberID, InstanceID: "i1", Generation: 1, Count: 1,
			Reason: "a static member rejoined with a new member id"},
	}, r.take(t))
}

// Offsets deleted by OffsetDelete and a reset are reported; the offsets of a group empty for
// longer than offsets.retention.minutes expire with the group (K18).
func TestObserver_OffsetDeleteResetAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := observedLog(t, "", tlog.Options{OffsetsRetention: time.Hour, RetentionCheckInterval: 1000 * time.Hour})
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
		for p := range int32(2) {
			_, err := l.ProduceTo(t.Context(), "t", p, tlog.Record{Value: []byte("v")})
			require.NoError(t, err)
		}
		tp0, tp1 := tlog.TopicPartition{Topic: "t"}, tlog.TopicPartition{Topic: "t", Partition: 1}
		require.NoError(t, l.ResetGroupOffsets("g", tlog.Latest, time.Time{}, tp0, tp1))
		require.NoError(t, l.Requests().DeleteOffsets("g", tp1, tlog.TopicPartition{Topic: "t", Partition: 9}))
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventCommitted, Group: "g", Generation: -1, Topic: "t", Offset: 1},
			{Kind: tlog.EventCommitted, Group: "g", Generation: -1, Topic: "t", Partition: 1, Offset: 1},
			{Kind: tlog.EventOffsetDeleted, Group: "g", Topic: "t", Partition: 1, Offset: 1},
		}, r.take(t, tlog.EventCommitted, tlog.EventOffsetDeleted), "one per partition; nothing for one never committed")

		time.Sleep(time.Hour)
		l.RunRetention()
		assert.Equal(t, []tlog.Event{{Kind: tlog.EventGroupDeleted, Group: "g", Reason: "offsets expired"}}, r.take(t))
	})
}

// Segments roll at segment.bytes; DeleteRecords and retention move the log start offset and
// delete the segments wholly below it (K31, K32).
func TestObserver_SegmentsAndRecordsDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := observedLog(t, "", tlog.Options{RetentionCheckInterval: 1000 * time.Hour})
		// About three records a segment.
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 250, RetentionTime: -1}))
		for i := range 10 {
			produce(t, l, "t", "", fmt.Sprintf("record-%02d", i))
		}
		rolled := r.take(t, tlog.EventSegmentRolled)
		require.GreaterOrEqual(t, len(rolled), 3)
		_, _, segs := startEnd(t, l, "t")
		require.Len(t, rolled, segs-1, "one event per roll")
		var bases []int64
		for _, e := range rolled {
			assert.Equal(t, tlog.Event{Kind: tlog.EventSegmentRolled, Topic: "t", Offset: e.Offset, Reason: "segment.bytes"}, e)
			bases = append(bases, e.Offset)
		}

		// Up to inside the second segment: the first is deleted.
		require.NoError(t, l.DeleteRecords("t", 0, bases[0]+1))
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventSegmentDeleted, Topic: "t", Reason: "DeleteRecords"},
			{Kind: tlog.EventRecordsDeleted, Topic: "t", Offset: bases[0] + 1, Reason: "DeleteRecords"},
		}, r.take(t))

		// Retention by size keeps the newest segments only.
		require.NoError(t, l.AlterTopicConfig("t", func(c *tlog.TopicConfig) error { c.RetentionBytes = 250; return nil }))
		l.RunRetention()
		start, _, _ := startEnd(t, l, "t")
		got := r.take(t)
		require.NotEmpty(t, got)
		last := got[len(got)-1]
		assert.Equal(t, tlog.Event{Kind: tlog.EventRecordsDeleted, Topic: "t", Offset: start, Reason: "retention"}, last)
		for _, e := range got[1 : len(got)-1] {
			assert.Equal(t, tlog.Event{Kind: tlog.EventSegmentDeleted, Topic: "t", Offset: e.Offset, Reason: "retention"}, e)
			assert.Contains(t, bases, e.Offset)
		}
	})
}

// A compaction pass reports the records it removed and where the clean part ends (K35).
func TestObserver_K35_CompactionPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := observedLog(t, "", tlog.Options{RetentionCheckInterval: 1000 * time.Hour})
		require.NoError(t, l.CreateTopic("t", compactConfig(tlog.CleanupCompact)))
		write(t, l, "t", 0, put("a", "1"), put("b", "1"), put("a", "2"), put("a", "3"), put("b", "2"))
		r.take(t)
		rollAndRun(l)
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventSegmentRolled, Topic: "t", Offset: 5, Reason: "segment.ms"},
			{Kind: tlog.EventCompacted, Topic: "t", Offset: 5, Count: 3},
		}, slices.DeleteFunc(r.take(t), func(e tlog.Event) bool { return e.Kind == tlog.EventSegmentDeleted }))
	})
}

func TestObserver_EventKindNames(t *testing.T) {
	assert.Equal(t, "appended", tlog.EventAppended.String())
	assert.Equal(t, "txn-aborted", tlog.EventTxnAborted.String())
	assert.Equal(t, "unknown", tlog.EventKind(200).String())
	seen := map[string]bool{}
	for k := tlog.EventKind(1); k <= tlog.EventSynced; k++ {
		name := k.String()
		assert.False(t, name == "unknown" || seen[name], "kind %d is named %q", k, name)
		seen[name] = true
	}
	assert.Equal(t, "unknown", (tlog.EventSynced + 1).String(), "the names table ends with the last kind")
}

// waiter is how a test toolkit waits on the observer: every event wakes it, and it re-reads
// the Log's public state until its condition holds.
type waiter struct{ wake chan struct{} }

func newWaiter() *waiter { return &waiter{wake: make(chan struct{}, 1)} }

// waitedLog opens an in-memory Log observed by a new waiter, with a topic t of partitions.
func waitedLog(t *testing.T, partitions int) (*waiter, *tlog.Log) {
	t.Helper()
	w := newWaiter()
	l, err := tlog.Open("", &tlog.Options{Observer: w.observe})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: partitions}))
	return w, l
}

func (w *waiter) observe(tlog.Event) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// until returns a function that waits until cond holds, read after an event that comes after
// the call to until; call until before making the change. A change not followed by an event
// leaves the wait blocked: inside a synctest bubble the Log's own timers keep the bubble from
// deadlocking, so the wait gives up after a fake day, which costs no real time.
func (w *waiter) until(t *testing.T, desc string, cond func() bool) func() {
	select {
	case <-w.wake: // an earlier change's: it must not count for this one
	default:
	}
	done := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		for {
			select {
			case <-w.wake:
				if cond() {
					close(done)
					return
				}
			case <-quit:
				return
			}
		}
	}()
	return func() {
		t.Helper()
		defer close(quit)
		select {
		case <-done:
		case <-time.After(24 * time.Hour):
			t.Fatalf("%s: no event was followed by the state it waits for", desc)
		}
	}
}

// step makes change once the waiter is parked, so that only the events change emits can wake
// it, and waits for cond: a missing event fails the test whatever the scheduling.
func (w *waiter) step(t *testing.T, desc string, change func(), cond func() bool) {
	t.Helper()
	wait := w.until(t, desc, cond)
	synctest.Wait()
	change()
	wait()
}

// Each batch's EventAppended comes once ListOffsets and Fetch see it, in memory and on disk
// (where one fsync may cover many producers' batches), and a transaction's records reach
// read_committed readers with its commit marker's event.
func TestObserver_AppendedIsVisibleAfterTheEvent(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		synctest.Test(t, func(t *testing.T) {
			if dir != "" {
				dir = t.TempDir()
			}
			w := newWaiter()
			l, err := tlog.Open(dir, &tlog.Options{Observer: w.observe})
			require.NoError(t, err)
			t.Cleanup(func() { l.Close() })
			require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
			latest := func(p int32, iso tlog.IsolationLevel) int64 {
				off, _, err := l.ListOffsetsIsolated("t", p, tlog.Latest, iso)
				require.NoError(t, err)
				return off
			}
			wait := w.until(t, "20 records readable", func() bool {
				recs, err := l.Fetch(t.Context(), "t", 0, 0, tlog.FetchOptions{})
				require.NoError(t, err)
				return len(recs) == 10 && latest(0, tlog.ReadUncommitted) == 10 && latest(1, tlog.ReadUncommitted) == 10
			})
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					for range 5 {
						_, err := l.ProduceTo(t.Context(), "t", int32(i%2), tlog.Record{Value: []byte("v")})
						assert.NoError(t, err)
					}
				})
			}
			wait()
			wg.Wait()

			pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "tx"})
			require.NoError(t, err)
			require.NoError(t, pr.InitTransactions(t.Context()))
			require.NoError(t, pr.BeginTransaction())
			w.step(t, "one more record", func() {
				_, err := l.ProduceTo(t.Context(), "t", 1, tlog.Record{Value: []byte("v")})
				require.NoError(t, err)
			}, func() bool { return latest(1, tlog.ReadUncommitted) == 11 })
			w.step(t, "transactional record readable uncommitted", func() {
				_, err := pr.ProduceTo(t.Context(), "t", 0, tlog.Record{Value: []byte("in txn")})
				require.NoError(t, err)
			}, func() bool { return latest(0, tlog.ReadUncommitted) == 11 && latest(0, tlog.ReadCommitted) == 10 })
			w.step(t, "committed", func() { require.NoError(t, pr.CommitTransaction(t.Context())) },
				func() bool { return latest(0, tlog.ReadCommitted) == 12 })
			w.step(t, "records deleted", func() { require.NoError(t, l.DeleteRecords("t", 1, 4)) }, func() bool {
				start, _, err := l.ListOffsets("t", 1, tlog.Earliest)
				require.NoError(t, err)
				return start == 4
			})
		})
	})
}

// Commits are seen by GroupLag and DescribeGroup after their events, whoever commits and
// however many commit at once: "group g committed offset O" and "group g has lag zero" need
// no polling.
func TestObserver_CommittedIsVisibleAfterTheEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, l := waitedLog(t, 3)
		lagZero := func(committed int64) func() bool {
			return func() bool {
				lag, err := l.GroupLag("g")
				require.NoError(t, err)
				if len(lag) != 3 {
					return false
				}
				for _, pl := range lag {
					if pl.Lag != 0 || pl.Committed != committed {
						return false
					}
				}
				_, err = l.DescribeGroup("g")
				return err == nil
			}
		}
		wait := w.until(t, "lag zero at 4", lagZero(4))
		var wg sync.WaitGroup
		for p := range int32(3) {
			wg.Go(func() {
				for i := range 4 {
					_, err := l.ProduceTo(t.Context(), "t", p, tlog.Record{Value: []byte("v")})
					assert.NoError(t, err)
					code, err := l.Requests().CommitOffsets(tlog.GroupMetadata{GroupID: "g", Generation: -1},
						map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "t", Partition: p}: {Offset: int64(i + 1)}})
					assert.NoError(t, err)
					assert.Zero(t, code)
				}
			})
		}
		wait()
		wg.Wait()

		// More records put the lag back above zero; a commit, a reset and a deletion each
		// show after their events.
		tp2 := tlog.TopicPartition{Topic: "t", Partition: 2}
		lagOf := func(tp tlog.TopicPartition) tlog.PartitionLag {
			lag, err := l.GroupLag("g")
			require.NoError(t, err)
			return lag[tp]
		}
		w.step(t, "lag one", func() {
			_, err := l.ProduceTo(t.Context(), "t", 2, tlog.Record{Value: []byte("v")})
			require.NoError(t, err)
		}, func() bool { return lagOf(tp2).Lag == 1 })
		w.step(t, "committed 3", func() {
			_, err := l.Requests().CommitOffsets(tlog.GroupMetadata{GroupID: "g", Generation: -1},
				map[tlog.TopicPartition]tlog.OffsetAndMetadata{tp2: {Offset: 3}})
			require.NoError(t, err)
		}, func() bool { return lagOf(tp2) == tlog.PartitionLag{Committed: 3, End: 5, Lag: 2} })
		w.step(t, "lag zero after the reset", func() {
			require.NoError(t, l.ResetGroupOffsets("g", tlog.Latest, time.Time{}, tp2))
		}, func() bool { return lagOf(tp2) == tlog.PartitionLag{Committed: 5, End: 5} })
		w.step(t, "offset deleted", func() { require.NoError(t, l.Requests().DeleteOffsets("g", tp2)) },
			func() bool { return lagOf(tp2) == tlog.PartitionLag{} }) // no commit and no member: not listed
		w.step(t, "group deleted", func() { require.NoError(t, l.DeleteGroup("g")) }, func() bool {
			_, err := l.DescribeGroup("g")
			return err != nil
		})
	})
}

// "group g is Stable with N members" (and the steps between) read after the event of each
// coordinator request, one request at a time, so that a missing event always fails.
func TestObserver_GroupStateIsVisibleAfterTheEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWaiter()
		l, err := tlog.Open("", &tlog.Options{Observer: w.observe})
		require.NoError(t, err)
		t.Cleanup(func() { l.Close() })
		q := l.Requests()
		state := func(st tlog.GroupState, gen int32, members int) func() bool {
			return func() bool {
				d, err := l.DescribeGroup("g")
				return err == nil && d.State == st && d.Generation == gen && len(d.Members) == members
			}
		}
		var a, b string
		var jb <-chan tlog.JoinGroupResponse
		var sb <-chan tlog.SyncGroupResponse
		w.step(t, "a joined", func() { a = (<-join(t, q, groupReq(""))).MemberID },
			state(tlog.GroupCompletingRebalance, 1, 1))
		w.step(t, "Stable with 1", func() {
			<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: a, Generation: 1, Assignments: map[string][]byte{a: nil}})
		}, state(tlog.GroupStable, 1, 1))
		w.step(t, "b joining", func() { jb = join(t, q, groupReq("")) }, state(tlog.GroupPreparingRebalance, 1, 2))
		w.step(t, "a rejoined", func() { <-join(t, q, groupReq(a)); b = (<-jb).MemberID },
			state(tlog.GroupCompletingRebalance, 2, 2))
		sb = syncGroup(t, q, tlog.SyncGroupRequest{MemberID: b, Generation: 2}) // waits for the leader's; no change
		w.step(t, "Stable with 2", func() {
			<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: a, Generation: 2, Assignments: map[string][]byte{a: nil, b: nil}})
			<-sb
		}, state(tlog.GroupStable, 2, 2))
		w.step(t, "b left", func() {
			_, err := q.LeaveGroup("g", b, "")
			require.NoError(t, err)
		}, state(tlog.GroupPreparingRebalance, 2, 1))
		w.step(t, "a rejoined alone", func() { <-join(t, q, groupReq(a)) }, state(tlog.GroupCompletingRebalance, 3, 1))
		w.step(t, "Stable with 1 again", func() {
			<-syncGroup(t, q, tlog.SyncGroupRequest{MemberID: a, Generation: 3, Assignments: map[string][]byte{a: nil}})
		}, state(tlog.GroupStable, 3, 1))
		w.step(t, "a expired", func() {}, state(tlog.GroupEmpty, 4, 0)) // its session times out (K23)
	})
}

// Real group consumers, polling on their own goroutines: "group g is Stable with N members"
// and "group g has lag zero" are seen after an event, as members join, commit, one crashes and
// is dropped at its session timeout (K23), and the rest leave. The consumers commit only when
// they read something, so that no later event stands in for a missing one.
func TestObserver_StableIsVisibleAfterTheEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, l := waitedLog(t, 3)
		stableWith := func(n int) func() bool {
			return func() bool {
				d, err := l.DescribeGroup("g")
				if err != nil || d.State != tlog.GroupStable || len(d.Members) != n {
					return false
				}
				owned := 0
				for _, m := range d.Members {
					owned += len(m.Assignment)
				}
				return owned == 3
			}
		}

		// Each consumer polls until it is told to stop, or for a fake hour at most, so that
		// the bubble always ends.
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		start := time.Now()
		consumers := make([]*tlog.GroupConsumer, 3)
		stopped := make([]chan struct{}, 3)
		var wg sync.WaitGroup
		wait := w.until(t, "Stable with 3 members", stableWith(3))
		for i := range consumers {
			c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"},
				ClientID: fmt.Sprint("c", i), Reset: tlog.ResetEarliest, DisableAutoCommit: true})
			require.NoError(t, err)
			consumers[i], stopped[i] = c, make(chan struct{})
			wg.Go(func() {
				for ctx.Err() == nil && time.Since(start) < time.Hour {
					select {
					case <-stopped[i]:
						return
					default:
					}
					recs, err := c.Poll(ctx)
					if err != nil {
						return
					}
					if len(recs) > 0 {
						_ = c.Commit(ctx)
					}
				}
			})
		}
		wait()

		wait = w.until(t, "lag zero at 2", func() bool {
			lag, err := l.GroupLag("g")
			require.NoError(t, err)
			for _, pl := range lag {
				if pl.Lag != 0 || pl.Committed != 2 {
					return false
				}
			}
			return len(lag) == 3
		})
		for p := range int32(3) {
			for range 2 {
				_, err := l.ProduceTo(t.Context(), "t", p, tlog.Record{Value: []byte("v")})
				require.NoError(t, err)
			}
		}
		wait()

		wait = w.until(t, "Stable with 2 members", stableWith(2))
		close(stopped[0])
		consumers[0].Crash()
		wait()

		wait = w.until(t, "Empty", func() bool {
			d, err := l.DescribeGroup("g")
			return err == nil && d.State == tlog.GroupEmpty && len(d.Members) == 0
		})
		cancel()
		wg.Wait()
		for _, c := range consumers[1:] {
			require.NoError(t, c.Close())
		}
		wait()
	})
}

// An observer sees each step in order: here a topic, two appends and a group's commit. A test
// toolkit re-reads the state it waits for (DescribeGroup, GroupLag, ListOffsets) on each event.
func ExampleOptions_observer() {
	l, _ := tlog.Open("", &tlog.Options{Observer: func(e tlog.Event) {
		switch e.Kind {
		case tlog.EventTopicCreated:
			fmt.Printf("%v %s partitions=%d\n", e.Kind, e.Topic, e.Count)
		case tlog.EventAppended:
			fmt.Printf("%v %s-%d offset=%d records=%d\n", e.Kind, e.Topic, e.Partition, e.Offset, e.Count)
		case tlog.EventCommitted:
			fmt.Printf("%v %s %s-%d offset=%d\n", e.Kind, e.Group, e.Topic, e.Partition, e.Offset)
		}
	}})
	defer l.Close()

	_ = l.CreateTopic("orders", tlog.TopicConfig{Partitions: 1})
	_, _ = l.ProduceTo(context.Background(), "orders", 0, tlog.Record{Value: []byte("ORD-1")})
	_, _ = l.ProduceTo(context.Background(), "orders", 0, tlog.Record{Value: []byte("ORD-2")})
	_ = l.ResetGroupOffsets("billing", tlog.Latest, time.Time{}, tlog.TopicPartition{Topic: "orders"})
	// Output:
	// topic-created orders partitions=1
	// appended orders-0 offset=0 records=1
	// appended orders-0 offset=1 records=1
	// committed billing orders-0 offset=2
}

// A read that returns records is EventFetched, whoever reads: Log.Fetch, a consumer filling
// its fetch buffer, and the front door's ReadBatches (counting the records of the batches it
// returns, from the first one's base); a read that finds nothing is no event.
func TestObserver_FetchesAreEvents(t *testing.T) {
	l, r := observedLog(t, "", tlog.Options{})
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	for _, v := range []string{"a", "b", "c"} {
		_, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte(v)})
		require.NoError(t, err)
	}
	r.take(t)
	_, err := l.Fetch(t.Context(), "t", 0, 1, tlog.FetchOptions{})
	require.NoError(t, err)
	_, err = l.Fetch(t.Context(), "t", 0, 3, tlog.FetchOptions{})
	require.NoError(t, err)
	c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest, MaxWait: time.Millisecond})
	c.Assign(tlog.TopicPartition{Topic: "t"})
	recs, err := c.Poll(t.Context())
	require.NoError(t, err)
	require.Len(t, recs, 3)
	_, err = l.Requests().ReadBatches("t", 0, 2, 1<<20, tlog.ReadUncommitted)
	require.NoError(t, err)
	assert.Equal(t, []tlog.Event{
		{Kind: tlog.EventFetched, Topic: "t", Offset: 1, Count: 2},
		{Kind: tlog.EventFetched, Topic: "t", Offset: 0, Count: 3},
		{Kind: tlog.EventFetched, Topic: "t", Offset: 2, Count: 1},
	}, r.take(t))
}

// A native group member's rebalance listener calls are events too, with the partitions, at
// the member's generation: assigned when it joins, lost when the coordinator dropped it
// (as after a session timeout), assigned again when it rejoins, revoked when it closes.
func TestObserver_AssignmentsAreEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, r := observedLog(t, "", tlog.Options{})
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
		c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, MaxWait: time.Millisecond})
		require.NoError(t, err)
		poll := func(until func() bool) {
			for range 20 {
				_, err := c.Poll(t.Context())
				require.NoError(t, err)
				if until() {
					return
				}
			}
			t.Fatal("the consumer did not get there")
		}
		poll(func() bool { return c.Generation() == 1 })
		first := c.MemberID()
		code, err := l.Requests().LeaveGroup("g", first, "")
		require.NoError(t, err)
		require.Zero(t, code)
		poll(func() bool { return c.MemberID() != first && c.Generation() > 1 })
		second, gen := c.MemberID(), c.Generation()
		require.NoError(t, c.Close())

		both := []tlog.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 1}}
		got := r.take(t, tlog.EventAssigned, tlog.EventRevoked, tlog.EventLost)
		assert.Equal(t, []tlog.Event{
			{Kind: tlog.EventAssigned, Group: "g", Member: first, Generation: 1, Count: 2, Partitions: both},
			{Kind: tlog.EventLost, Group: "g", Member: first, Generation: 1, Count: 2, Partitions: both},
			{Kind: tlog.EventAssigned, Group: "g", Member: second, Generation: gen, Count: 2, Partitions: both},
			{Kind: tlog.EventRevoked, Group: "g", Member: second, Generation: gen, Count: 2, Partitions: both},
		}, got)
	})
}

// SetObserver swaps the observer at runtime: later events reach the new one, and none reach
// an observer that was removed.
func TestObserver_SetObserverTakesEffectForLaterEvents(t *testing.T) {
	l, err := tlog.Open("", nil)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	r := &recorder{}
	l.SetObserver(r.observe)
	_, err = l.ProduceTo(t.Context(), "t", 0, tlog.Record{Value: []byte("a")})
	require.NoError(t, err)
	assert.Equal(t, []tlog.Event{{Kind: tlog.EventAppended, Topic: "t", Count: 1}}, r.take(t))
	c := make(chan tlog.JoinGroupResponse, 1)
	l.Requests().JoinGroup("g", groupReq(""), func(resp tlog.JoinGroupResponse, _ error) { c <- resp })
	<-c
	assert.NotEmpty(t, r.take(t, tlog.EventGroupCreated, tlog.EventRebalancing), "the groups report to an observer set at runtime")

	l.SetObserver(nil)
	_, err = l.ProduceTo(t.Context(), "t", 0, tlog.Record{Value: []byte("b")})
	require.NoError(t, err)
	l.Requests().JoinGroup("h", groupReq(""), func(resp tlog.JoinGroupResponse, _ error) { c <- resp })
	<-c
	require.NoError(t, l.DeleteTopic("t"))
	assert.Empty(t, r.take(t))
}

// consumerAssignment encodes a ConsumerProtocolAssignment (v0) of topic's parts, as a Kafka
// client's leader sends it in SyncGroup.
func consumerAssignment(topic string, parts ...int32) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(topic)))
	b = append(b, topic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(parts)))
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(p))
	}
	return binary.BigEndian.AppendUint32(b, 0xFFFFFFFF) // no user data
}
