package kafka

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tribusmq/tribus/log"
)

func newTestServer(t *testing.T, opts *Options) (*log.Log, *Server) {
	t.Helper()
	l, err := log.Open("", nil)
	require.NoError(t, err)
	srv, err := NewServer(l, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Close()
		l.Close()
	})
	return l, srv
}

// roundTrip sends req at version v with correlation id 7 on nc and reads the response into
// resp, whose version it sets.
func roundTrip(t *testing.T, nc net.Conn, r *bufio.Reader, req kmsg.Request, v int16, resp kmsg.Response) {
	t.Helper()
	req.SetVersion(v)
	body := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, 7)
	_, err := nc.Write(body)
	require.NoError(t, err)
	buf := readFrame(t, r)
	assert.Equal(t, int32(7), int32(binary.BigEndian.Uint32(buf)), "correlation id")
	buf = buf[4:]
	resp.SetVersion(v)
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		buf = buf[1:] // an empty tagged-field section
	}
	require.NoError(t, resp.ReadFrom(buf))
}

// readFrame reads one size-prefixed response.
func readFrame(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	var size [4]byte
	_, err := io.ReadFull(r, size[:])
	require.NoError(t, err)
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	return buf
}

// dialTest starts a server with opts and dials it in process.
func dialTest(t *testing.T, opts *Options) (*log.Log, net.Conn) {
	t.Helper()
	l, srv := newTestServer(t, opts)
	nc, err := srv.Dial(t.Context(), "", "")
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return l, nc
}

func TestApiVersions_AdvertisesWhatIsServed(t *testing.T) {
	_, nc := dialTest(t, nil)
	resp := kmsg.NewPtrApiVersionsResponse()
	roundTrip(t, nc, bufio.NewReader(nc), kmsg.NewPtrApiVersionsRequest(), 3, resp)
	require.Equal(t, int16(0), resp.ErrorCode)
	got := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	assert.Equal(t, [2]int16{3, 11}, got[int16(kmsg.Produce)])
	assert.Equal(t, [2]int16{4, 12}, got[int16(kmsg.Fetch)])
	assert.Len(t, got, len(resp.ApiKeys), "one entry per key")
	for key, v := range got {
		assert.NotNil(t, apiFor(key), "advertised key %d is served", key)
		assert.LessOrEqual(t, v[0], v[1])
	}
}

// KIP-511: an ApiVersions newer than the server's gets UNSUPPORTED_VERSION in a v0 response
// that still lists the versions, not a closed connection.
func TestApiVersions_NewerVersionGetsUnsupportedVersionInV0(t *testing.T) {
	_, nc := dialTest(t, nil)
	r := bufio.NewReader(nc)
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(4)
	_, err := nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, 7))
	require.NoError(t, err)
	buf := readFrame(t, r)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	require.NoError(t, resp.ReadFrom(buf[4:]))
	assert.Equal(t, codeUnsupportedVersion, resp.ErrorCode)
	assert.NotEmpty(t, resp.ApiKeys)
}

func TestProduce_OldVersionGetsUnsupportedVersion(t *testing.T) {
	_, nc := dialTest(t, nil)
	req := kmsg.NewPtrProduceRequest()
	req.Acks = 1
	tp := kmsg.NewProduceRequestTopic()
	tp.Topic = "t"
	tp.Partitions = []kmsg.ProduceRequestTopicPartition{{Partition: 0}}
	req.Topics = []kmsg.ProduceRequestTopic{tp}
	resp := kmsg.NewPtrProduceResponse()
	roundTrip(t, nc, bufio.NewReader(nc), req, 2, resp)
	require.Len(t, resp.Topics, 1)
	assert.Equal(t, codeUnsupportedVersion, resp.Topics[0].Partitions[0].ErrorCode)
}

func TestMetadata_AutoCreatesTopicsUnlessDisabled(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		l, srv := newTestServer(t, &Options{DisableAutoCreateTopics: disabled, DefaultPartitions: 3})
		nc, err := srv.Dial(t.Context(), "", "")
		require.NoError(t, err)
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr("orders")
		req.Topics = []kmsg.MetadataRequestTopic{mt}
		resp := kmsg.NewPtrMetadataResponse()
		roundTrip(t, nc, bufio.NewReader(nc), req, 12, resp)
		nc.Close()
		require.Len(t, resp.Topics, 1)
		if disabled {
			assert.Equal(t, codeUnknownTopicOrPartition, resp.Topics[0].ErrorCode)
			assert.Empty(t, l.Topics())
			continue
		}
		assert.Equal(t, codeNone, resp.Topics[0].ErrorCode)
		assert.Len(t, resp.Topics[0].Partitions, 3, "num.partitions")
		assert.Equal(t, []string{"orders"}, l.Topics())
	}
}

func TestRequest_UnknownAPIKeyClosesOnlyItsConnection(t *testing.T) {
	_, srv := newTestServer(t, nil)
	bad, err := srv.Dial(t.Context(), "", "")
	require.NoError(t, err)
	defer bad.Close()
	frame := []byte{0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0}
	_, err = bad.Write(frame)
	require.NoError(t, err)
	_, err = bad.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the connection is closed without a response")

	good, err := srv.Dial(t.Context(), "", "")
	require.NoError(t, err)
	defer good.Close()
	resp := kmsg.NewPtrApiVersionsResponse()
	roundTrip(t, good, bufio.NewReader(good), kmsg.NewPtrApiVersionsRequest(), 3, resp)
	assert.Equal(t, int16(0), resp.ErrorCode)
}

func TestErrorCode_MapsEveryLogSentinel(t *testing.T) {
	for _, c := range codes {
		assert.Equal(t, c.code, errorCode(c.err), "%v", c.err)
	}
	assert.Equal(t, codeInvalidPartitions, errorCode(log.ErrInvalidPartitions), "ErrInvalidPartitions is 37")
	assert.Equal(t, codeNone, errorCode(nil))
}

// A *log.KafkaError (a test's injected fault) is answered with its own code, wrapped or not.
func TestErrorCode_KafkaErrorKeepsItsCode(t *testing.T) {
	assert.Equal(t, int16(6), errorCode(&log.KafkaError{Code: 6}))
	assert.Equal(t, int16(27), errorCode(fmt.Errorf("committing: %w", &log.KafkaError{Code: 27})))
}

// idempotentBatch encodes a RecordBatch v2 of one record from producer id at epoch, starting
// at sequence seq.
func idempotentBatch(id int64, epoch int16, seq int32) []byte {
	rec := kmsg.Record{Value: []byte("v")}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1) // the rest, after the one-byte varint of 0
	recBytes := rec.AppendTo(nil)
	b := kmsg.RecordBatch{Magic: 2, ProducerID: id, ProducerEpoch: epoch, FirstSequence: seq,
		NumRecords: 1, Records: recBytes}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))                                          // Length
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))) // CRC
	return raw
}

// K40: a batch whose producer epoch is older than the last the partition wrote for that
// producer id is answered INVALID_PRODUCER_EPOCH, as a Kafka partition leader has answered it
// since 2.7, whether or not the producer is transactional.
func TestProduce_K40_OlderEpochIsInvalidProducerEpoch(t *testing.T) {
	l, nc := dialTest(t, nil)
	require.NoError(t, l.CreateTopic("t", log.TopicConfig{Partitions: 1}))
	r := bufio.NewReader(nc)
	produce := func(epoch int16) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		tp := kmsg.NewProduceRequestTopic()
		tp.Topic = "t"
		tp.Partitions = []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: idempotentBatch(9, epoch, 0)}}
		req.Topics = []kmsg.ProduceRequestTopic{tp}
		resp := kmsg.NewPtrProduceResponse()
		roundTrip(t, nc, r, req, 7, resp)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	assert.Equal(t, int16(0), produce(1))
	assert.Equal(t, codeInvalidProducerEpoch, produce(0))
}
