package kafka

import (
	"errors"
	"reflect"
	"time"

	"github.com/tribusmq/tribus/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// defaultFetchMaxBytes is fetch.max.bytes, for Fetch v0–v2, which carry no MaxBytes.
const defaultFetchMaxBytes = 50 << 20

// codeFetchSessionIDNotFound is FETCH_SESSION_ID_NOT_FOUND: the server keeps no fetch
// sessions (KIP-227), so a request naming one is told it does not exist.
const codeFetchSessionIDNotFound int16 = 70

// noRecords is the record set of a fetched partition that returns no batches (empty, at its
// end, cut by KIP-74's limits, failed or refused). Kafka writes it as a record set of size 0,
// never as null (size -1): its Records field is nullable in the message spec, but the broker
// always fills it. kafka-python 2.0.2 fails on a null one, and librdkafka (kcat -e) never
// sees the end of a partition that answers null.
var noRecords = []byte{}

func isolation(level int8) log.IsolationLevel {
	if level == 1 {
		return log.ReadCommitted
	}
	return log.ReadUncommitted
}

// serveFetch reads every partition asked for and, until MinBytes have been read or
// MaxWaitMillis have passed, waits for any of them to grow and reads again, as Kafka's
// delayed fetch does. Fetch sessions are declined (the response's session id is 0), so every
// request is a full fetch.
func serveFetch(c *conn, req *kmsg.FetchRequest) kmsg.Response {
	if req.SessionID != 0 {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = codeFetchSessionIDNotFound
		return resp
	}
	deadline := time.Now().Add(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		resp, total, failed, waits := c.fetchOnce(req)
		if failed || total >= int(req.MinBytes) || len(waits) == 0 {
			return resp
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return resp
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		if !c.awaitAny(waits, timer.C) {
			return resp
		}
	}
}

// fetchOnce reads every partition of req once. It returns the response, the bytes it
// holds, whether a partition failed (a fetch with an error is answered at once), and the
// channels that close when a partition read grows.
func (c *conn) fetchOnce(req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, bool, []<-chan struct{}) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	iso := isolation(req.IsolationLevel)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = defaultFetchMaxBytes
	}
	total, failed := 0, false
	var waits []<-chan struct{}
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := &resp.Topics[i]
		*t = kmsg.NewFetchResponseTopic()
		t.Topic = rt.Topic
		t.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			p := &t.Partitions[j]
			*p = kmsg.NewFetchResponseTopicPartition()
			p.Partition, p.RecordBatches = rp.Partition, noRecords
			// Watch before reading, so that a write between the read and the wait is seen.
			ch, err := c.s.req.Changed(rt.Topic, rp.Partition)
			var rd log.BatchRead
			if err == nil {
				limit := max(min(int(rp.PartitionMaxBytes), budget-total), 1)
				rd, err = c.s.req.ReadBatches(rt.Topic, rp.Partition, rp.FetchOffset, limit, iso)
				// KIP-74: only the response's first batch may exceed the limits.
				if err == nil && total > 0 && len(rd.Batches) > limit {
					rd.Batches, rd.Aborted = nil, nil
				}
			}
			if err != nil {
				failed = true
				p.ErrorCode = errorCode(err)
				p.HighWatermark, p.LastStableOffset, p.LogStartOffset = -1, -1, -1
				var oor *log.OffsetOutOfRangeError
				if errors.As(err, &oor) {
					p.HighWatermark, p.LastStableOffset, p.LogStartOffset = oor.End, oor.End, oor.Start
				}
				continue
			}
			waits = append(waits, ch)
			p.HighWatermark, p.LastStableOffset, p.LogStartOffset = rd.HighWatermark, rd.LastStableOffset, rd.LogStartOffset
			if rd.Batches != nil {
				p.RecordBatches = rd.Batches
			}
			for _, a := range rd.Aborted {
				at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
				p.AbortedTransactions = append(p.AbortedTransactions, at)
			}
			if iso == log.ReadCommitted && p.AbortedTransactions == nil {
				p.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			total += len(rd.Batches)
		}
	}
	return resp, total, failed, waits
}

// awaitAny waits until one of waits closes (true), or until timeout fires or the server
// closes (false).
func (c *conn) awaitAny(waits []<-chan struct{}, timeout <-chan time.Time) bool {
	if len(waits) == 1 {
		select {
		case <-waits[0]:
			return true
		case <-timeout:
		case <-c.s.done:
		}
		return false
	}
	cases := make([]reflect.SelectCase, 0, len(waits)+2)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timeout)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.s.done)})
	for _, w := range waits {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w)})
	}
	i, _, _ := reflect.Select(cases)
	return i >= 2
}

// refuseFetch answers a Fetch of a version below v4 (message formats before RecordBatch v2)
// with code for every partition.
func refuseFetch(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewFetchResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition, p.ErrorCode, p.HighWatermark, p.RecordBatches = rp.Partition, code, -1, noRecords
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func serveListOffsets(c *conn, req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	iso := isolation(req.IsolationLevel)
	for _, rt := range req.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition = rp.Partition
			off, at, err := c.s.log.ListOffsetsIsolated(rt.Topic, rp.Partition, rp.Timestamp, iso)
			switch {
			case err != nil:
				p.ErrorCode, p.Offset, p.Timestamp = errorCode(err), -1, -1
			case req.Version == 0:
				p.OldStyleOffsets = []int64{off}
			default:
				p.Offset, p.Timestamp, p.LeaderEpoch = off, -1, 0
				if !at.IsZero() {
					p.Timestamp = at.UnixMilli()
				}
				if off < 0 {
					p.LeaderEpoch = -1
				}
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// serveOffsetForLeaderEpoch answers for the one leader epoch there is, 0: it ends at the
// log end offset; a later epoch is unknown (epoch and offset -1).
func serveOffsetForLeaderEpoch(c *conn, req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetForLeaderEpochResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			p.Partition, p.LeaderEpoch, p.EndOffset = rp.Partition, -1, -1
			end, _, err := c.s.log.ListOffsets(rt.Topic, rp.Partition, log.Latest)
			switch {
			case err != nil:
				p.ErrorCode = errorCode(err)
			case rp.CurrentLeaderEpoch > 0:
				p.ErrorCode = codeUnknownLeaderEpoch
			case rp.LeaderEpoch <= 0:
				p.LeaderEpoch, p.EndOffset = 0, end
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// codeUnknownLeaderEpoch is UNKNOWN_LEADER_EPOCH: the client knows of a newer epoch than
// the broker's.
const codeUnknownLeaderEpoch int16 = 74
