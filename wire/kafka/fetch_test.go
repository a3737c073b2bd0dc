package kafka

import (
	"bufio"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tribusmq/tribus/log"
)

// A fetched partition without batches carries a record set of size 0, never a null one (size
// -1): Kafka's broker always fills the Records field (MemoryRecords.EMPTY). kafka-python 2.0.2
// fails on a null one (MemoryRecords(None): "object of type 'NoneType' has no len()"), and
// librdkafka 2.0.2 never reports the partition's end, so `kcat -C -e` does not exit.
// kmsg decodes size -1 as nil and size 0 as a non-nil empty slice, which is what is checked.
// Reference: FetchResponse.json ("Records", nullableVersions 0+) and FetchResponse.java, which
// writes records.sizeInBytes() for every partition.
func TestFetch_PartitionWithoutBatchesHasEmptyNotNullRecords(t *testing.T) {
	l, nc := dialTest(t, nil)
	r := bufio.NewReader(nc)
	require.NoError(t, l.CreateTopic("t", log.TopicConfig{Partitions: 3}))
	for _, p := range []int32{1, 2} {
		_, err := l.ProduceTo(t.Context(), "t", p, log.Record{Value: []byte("v")})
		require.NoError(t, err)
	}

	type part struct {
		topic     string
		partition int32
		offset    int64
	}
	cases := []struct {
		name    string
		version int16
		// maxBytes is the fetch's MaxBytes (0: unlimited).
		maxBytes int32
		parts    []part
		// batches says, per part, whether the partition returns a batch.
		batches []bool
		codes   []int16
	}{
		{name: "empty partition", version: 12, parts: []part{{"t", 0, 0}},
			batches: []bool{false}, codes: []int16{codeNone}},
		{name: "at the log end", version: 12, parts: []part{{"t", 1, 1}},
			batches: []bool{false}, codes: []int16{codeNone}},
		{name: "oldest served version", version: 4, parts: []part{{"t", 0, 0}},
			batches: []bool{false}, codes: []int16{codeNone}},
		{name: "cut by KIP-74 after the first batch", version: 12, maxBytes: 1,
			parts: []part{{"t", 1, 0}, {"t", 2, 0}}, batches: []bool{true, false},
			codes: []int16{codeNone, codeNone}},
		{name: "offset out of range", version: 12, parts: []part{{"t", 1, 5}},
			batches: []bool{false}, codes: []int16{codeOffsetOutOfRange}},
		{name: "unknown topic", version: 12, parts: []part{{"missing", 0, 0}},
			batches: []bool{false}, codes: []int16{codeUnknownTopicOrPartition}},
		{name: "refused old version", version: 3, parts: []part{{"t", 1, 0}},
			batches: []bool{false}, codes: []int16{codeUnsupportedVersion}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := kmsg.NewPtrFetchRequest()
			req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 0, tc.maxBytes
			if req.MaxBytes == 0 {
				req.MaxBytes = 1 << 20
			}
			for _, p := range tc.parts {
				rt := kmsg.NewFetchRequestTopic()
				rt.Topic = p.topic
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.LogStartOffset = p.partition, p.offset, 1<<20, -1
				rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
				req.Topics = append(req.Topics, rt)
			}
			resp := kmsg.NewPtrFetchResponse()
			roundTrip(t, nc, r, req, tc.version, resp)
			require.Len(t, resp.Topics, len(tc.parts))
			for i, rt := range resp.Topics {
				require.Len(t, rt.Partitions, 1)
				p := rt.Partitions[0]
				assert.Equal(t, tc.codes[i], p.ErrorCode, "part %d error code", i)
				assert.NotNil(t, p.RecordBatches, "part %d: a null record set", i)
				assert.Equal(t, tc.batches[i], len(p.RecordBatches) > 0, "part %d returns a batch", i)
			}
		})
	}
}
