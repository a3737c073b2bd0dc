package log_test

import (
	"context"
	"testing"

	tlog "github.com/tribusmq/tribus/log"
)

// observers are the benchmarks' variants: no observer, which must cost nothing (the figures
// match the Log's before observers existed, allocations included), and one that discards
// every event.
var observers = []struct {
	name string
	obs  func(tlog.Event)
}{
	{"observer=nil", nil},
	{"observer=set", func(tlog.Event) {}},
}

// benchLog opens an in-memory Log with one single-partition topic "bench" for a benchmark.
func benchLog(b *testing.B, obs func(tlog.Event)) *tlog.Log {
	b.Helper()
	l, err := tlog.Open("", &tlog.Options{Observer: obs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	if err := l.CreateTopic("bench", tlog.TopicConfig{Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkLog_ProduceTo appends one 128-byte record at a time.
func BenchmarkLog_ProduceTo(b *testing.B) {
	for _, o := range observers {
		b.Run(o.name, func(b *testing.B) {
			l := benchLog(b, o.obs)
			rec := tlog.Record{Value: make([]byte, 128)}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.ProduceTo(ctx, "bench", 0, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLog_FetchAppend reads 100 records at a time from a partition of 10,000.
func BenchmarkLog_FetchAppend(b *testing.B) {
	for _, o := range observers {
		b.Run(o.name, func(b *testing.B) {
			l := benchLog(b, o.obs)
			ctx := context.Background()
			rec := tlog.Record{Value: make([]byte, 128)}
			for range 10000 {
				if _, err := l.ProduceTo(ctx, "bench", 0, rec); err != nil {
					b.Fatal(err)
				}
			}
			var dst []tlog.Record
			off := int64(0)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = l.FetchAppend(ctx, dst[:0], "bench", 0, off, tlog.FetchOptions{MaxBytes: 16 << 10, MaxRecords: 100}); err != nil {
					b.Fatal(err)
				}
				if off += 100; off >= 10000 {
					off = 0
				}
			}
		})
	}
}

// BenchmarkRequests_CommitOffsets commits one partition's offset for a group with no members.
func BenchmarkRequests_CommitOffsets(b *testing.B) {
	for _, o := range observers {
		b.Run(o.name, func(b *testing.B) {
			l := benchLog(b, o.obs)
			q := l.Requests()
			gm := tlog.GroupMetadata{GroupID: "g", Generation: -1}
			tp := tlog.TopicPartition{Topic: "bench", Partition: 0}
			off := int64(0)
			b.ReportAllocs()
			for b.Loop() {
				off++
				if _, err := q.CommitOffsets(gm, map[tlog.TopicPartition]tlog.OffsetAndMetadata{tp: {Offset: off}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRequests_Heartbeat heartbeats a Stable group's one member: the coordinator's
// busiest request, which no observer may make slower when none is set.
func BenchmarkRequests_Heartbeat(b *testing.B) {
	for _, o := range observers {
		b.Run(o.name, func(b *testing.B) {
			l := benchLog(b, o.obs)
			q := l.Requests()
			joined := make(chan tlog.JoinGroupResponse, 1)
			q.JoinGroup("g", groupReq(""), func(r tlog.JoinGroupResponse, err error) { joined <- r })
			m := (<-joined).MemberID
			synced := make(chan struct{})
			q.SyncGroup("g", tlog.SyncGroupRequest{MemberID: m, Generation: 1, Assignments: map[string][]byte{m: nil}},
				func(tlog.SyncGroupResponse, error) { close(synced) })
			<-synced
			b.ReportAllocs()
			for b.Loop() {
				if code, err := q.Heartbeat("g", m, "", 1); err != nil || code != 0 {
					b.Fatal(code, err)
				}
			}
		})
	}
}
