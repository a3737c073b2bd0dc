package log_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	tlog "github.com/tribusmq/tribus/log"
)

// opReader hands out the fuzzer's bytes as small numbers; past the end it gives zeros.
type opReader struct{ b []byte }

func (r *opReader) n(limit int) int {
	if len(r.b) == 0 || limit <= 0 {
		return 0
	}
	v := int(r.b[0]) % limit
	r.b = r.b[1:]
	return v
}

// signed returns a number in [-limit, limit].
func (r *opReader) signed(limit int) int { return r.n(2*limit+1) - limit }

func (r *opReader) bytes(limit int) []byte {
	n := r.n(limit + 1)
	if n > len(r.b) {
		n = len(r.b)
	}
	out := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return out
}

var fuzzTopics = []string{"t", "u", "", ".", "..", "bad name", "__consumer_offsets", strings.Repeat("x", 250)}

// FuzzLog_Ops drives random sequences of operations with random arguments, valid or not,
// against an in-memory log inside a synctest bubble, and fails on a panic or on an operation
// that does not return within a minute of fake time (a hang), printing the operations so far.
// Records stay small: the storage side's limits are not what this target explores.
func FuzzLog_Ops(f *testing.F) {
	f.Add([]byte{0, 0, 2, 1, 0, 3, 1, 2, 0, 0, 5, 3, 1})
	f.Add([]byte{0, 1, 1, 9, 0, 4, 2, 6, 7, 8, 10, 10, 11})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runOps(t, &opReader{b: data}) })
	})
}

func runOps(t *testing.T, r *opReader) {
	ctx := context.Background()
	l, err := tlog.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var consumers []*tlog.GroupConsumer
	var trace []string
	defer func() {
		for _, c := range consumers {
			_ = c.Close()
		}
		_ = l.Close()
	}()
	topic := func() string { return fuzzTopics[r.n(len(fuzzTopics))] }
	for step := 0; step < 64 && len(r.b) > 0; step++ {
		op := r.n(14)
		var desc string
		var do func()
		switch op {
		case 0:
			name := topic()
			cfg := tlog.TopicConfig{Partitions: r.signed(4), SegmentBytes: int64(r.signed(64) * 16),
				RetentionBytes: int64(r.signed(2)), MinCleanableDirtyRatio: float64(r.signed(3)) / 2,
				SegmentAge: time.Duration(r.signed(2)) * time.Hour}
			if r.n(2) == 1 {
				cfg.CleanupPolicy = tlog.CleanupCompact
			}
			desc = fmt.Sprintf("CreateTopic(%q, %+v)", name, cfg)
			do = func() { _ = l.CreateTopic(name, cfg) }
		case 1:
			name, key, val := topic(), r.bytes(8), r.bytes(32)
			desc = fmt.Sprintf("Produce(%q, %q, %q)", name, key, val)
			do = func() { _, _ = l.Produce(ctx, name, tlog.Record{Key: key, Value: val}) }
		case 2:
			name, p, key, val := topic(), int32(r.signed(4)), r.bytes(8), r.bytes(32)
			desc = fmt.Sprintf("ProduceTo(%q, %d, %q, %q)", name, p, key, val)
			do = func() { _, _ = l.ProduceTo(ctx, name, p, tlog.Record{Key: key, Value: val}) }
		case 3:
			name, p, off := topic(), int32(r.signed(4)), int64(r.signed(8))
			o := tlog.FetchOptions{MaxBytes: r.signed(2) * 100, MaxRecords: r.signed(3),
				MaxWait: time.Duration(r.signed(2)) * time.Second, Isolation: tlog.IsolationLevel(r.n(3))}
			desc = fmt.Sprintf("Fetch(%q, %d, %d, %+v)", name, p, off, o)
			do = func() { _, _ = l.Fetch(ctx, name, p, off, o) }
		case 4:
			name, p, ts := topic(), int32(r.signed(3)), int64(r.signed(4))
			desc = fmt.Sprintf("ListOffsets(%q, %d, %d)", name, p, ts)
			do = func() { _, _, _ = l.ListOffsets(name, p, ts) }
		case 5:
			name, p, before := topic(), int32(r.signed(3)), int64(r.signed(8))
			desc = fmt.Sprintf("DeleteRecords(%q, %d, %d)", name, p, before)
			do = func() { _ = l.DeleteRecords(name, p, before) }
		case 6:
			name, n := topic(), r.signed(6)
			desc = fmt.Sprintf("CreatePartitions(%q, %d)", name, n)
			do = func() { _ = l.CreatePartitions(name, n) }
		case 7:
			id, spec, name, p := []string{"g", "h", ""}[r.n(3)], int64(r.signed(5)), topic(), int32(r.signed(3))
			desc = fmt.Sprintf("ResetGroupOffsets(%q, %d, %q-%d)", id, spec, name, p)
			do = func() {
				_ = l.ResetGroupOffsets(id, spec, time.Time{}, tlog.TopicPartition{Topic: name, Partition: p})
			}
		case 8:
			opts := tlog.GroupConsumerOptions{GroupID: []string{"g", "h", ""}[r.n(3)], Topics: []string{topic()},
				MaxPollRecords: r.signed(3), MaxWait: time.Duration(r.signed(2)) * time.Second,
				SessionTimeout: time.Duration(r.n(3)) * 10 * time.Second}
			if r.n(3) == 0 {
				opts.InstanceID = "static"
			}
			desc = fmt.Sprintf("NewGroupConsumer(%+v)", opts)
			do = func() {
				if c, err := l.NewGroupConsumer(opts); err == nil {
					consumers = append(consumers, c)
				}
			}
		case 9, 10, 11, 12:
			if len(consumers) == 0 {
				continue
			}
			i := r.n(len(consumers))
			c := consumers[i]
			switch op {
			case 9:
				desc = fmt.Sprintf("consumer[%d].Poll", i)
				do = func() { _, _ = c.Poll(ctx) }
			case 10:
				off := int64(r.signed(8))
				desc = fmt.Sprintf("consumer[%d].CommitOffsets(t-0: %d)", i, off)
				do = func() {
					_ = c.CommitOffsets(ctx, map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "t"}: {Offset: off, LeaderEpoch: -1}})
				}
			case 11:
				desc = fmt.Sprintf("consumer[%d].Close", i)
				do = func() { _ = c.Close() }
			case 12:
				desc = fmt.Sprintf("consumer[%d].Crash", i)
				do = func() { c.Crash() }
			}
		case 13:
			desc = "Close and reopen"
			do = func() {
				for _, c := range consumers {
					_ = c.Close()
				}
				consumers = nil
				_ = l.Close()
				_ = l.Close() // idempotent
				nl, err := tlog.Open("", nil)
				if err != nil {
					panic(err)
				}
				l = nl
			}
		}
		trace = append(trace, desc)
		done := make(chan struct{})
		go func() {
			defer close(done)
			do()
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("operation did not return within a minute (fake time):\n%s", strings.Join(trace, "\n"))
		}
	}
}
