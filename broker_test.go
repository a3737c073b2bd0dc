package tribus_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/leakcheck"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/store"
	"github.com/tribusmq/tribus/wire/kafka"
	"github.com/tribusmq/tribus/wire/resp"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// forEachMode runs body against an in-memory broker and a durable one in a temp dir.
func forEachMode(t *testing.T, body func(t *testing.T, dir string)) {
	t.Run("memory", func(t *testing.T) { body(t, "") })
	t.Run("durable", func(t *testing.T) { body(t, t.TempDir()) })
}

func TestBroker_OpenPublishReceiveClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		leakcheck.Check(t)
		b, err := tribus.Open(dir, nil)
		require.NoError(t, err)
		assert.Equal(t, dir, b.Dir())
		s, err := b.Hub().Subscribe("order:notifications")
		require.NoError(t, err)
		assert.Equal(t, 1, b.Hub().Publish("order:notifications", []byte("shipped")))
		m, err := s.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "shipped", string(m.Payload))
		require.NoError(t, b.Close())
	})
}

func TestBroker_CloseIsIdempotentAndLaterCallsFail(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		leakcheck.Check(t)
		b, err := tribus.Open(dir, nil)
		require.NoError(t, err)
		s, err := b.Hub().Subscribe("x")
		require.NoError(t, err)
		require.NoError(t, b.Close())
		require.NoError(t, b.Close())

		_, err = b.Hub().Subscribe("x")
		assert.ErrorIs(t, err, tribus.ErrClosed)
		_, err = b.Hub().PublishContext(context.Background(), "x", nil)
		assert.ErrorIs(t, err, tribus.ErrClosed)
		_, err = s.Next(context.Background())
		assert.ErrorIs(t, err, tribus.ErrClosed, "an engine's ErrClosed is the broker's ErrClosed")
		assert.ErrorIs(t, err, pubsub.ErrClosed)
	})
}

func TestBroker_InMemoryTouchesNoDisk(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	b, err := tribus.Open("", nil)
	require.NoError(t, err)
	b.Hub().Publish("x", nil)
	require.NoError(t, b.Close())
	entries, err := os.ReadDir(wd)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestBroker_SecondOpenOfSameDirFailsFast(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	_, err = tribus.Open(dir, nil)
	require.ErrorIs(t, err, tribus.ErrLocked)
	assert.Contains(t, err.Error(), dir)

	// The refused Open changed nothing: the first broker still works and the dir reopens.
	s, err := b.Hub().Subscribe("x")
	require.NoError(t, err)
	assert.Equal(t, 1, b.Hub().Publish("x", nil))
	require.NoError(t, s.Close())
	require.NoError(t, b.Close())
	b2, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b2.Close())
}

func TestBroker_FilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "tribus")
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	for path, want := range map[string]os.FileMode{
		dir:                             0o700 | os.ModeDir,
		filepath.Join(dir, "tribus.db"): 0o600,
		filepath.Join(dir, "LOCK"):      0o600,
	} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode(), path)
	}
}

func TestBroker_UnknownSchemaVersionIsRefused(t *testing.T) {
	dir := t.TempDir()
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.Close())

	// The store refuses to write its reserved keys (store.ErrReserved), so a future build's
	// file is made with bbolt itself.
	db, err := bolt.Open(filepath.Join(dir, "tribus.db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(store.BucketMeta)).Put([]byte(store.SchemaKey), []byte{0, 0, 0, 99})
	}))
	require.NoError(t, db.Close())

	_, err = tribus.Open(dir, nil)
	require.ErrorIs(t, err, store.ErrSchemaVersion)
	_, err = tribus.Open(dir, nil)
	require.ErrorIs(t, err, store.ErrSchemaVersion, "the refused Open released the directory lock")
}

func TestBroker_InvalidOptions(t *testing.T) {
	_, err := tribus.Open("", &tribus.Options{PubSub: pubsub.Options{Limits: pubsub.Limits{MaxMessages: -1}}})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
	assert.ErrorIs(t, err, pubsub.ErrInvalidOptions)

	dir := t.TempDir()
	_, err = tribus.Open(dir, &tribus.Options{PubSub: pubsub.Options{Limits: pubsub.Limits{Policy: 42}}})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "invalid options change nothing on disk")
}

func TestBroker_OptionsReachTheHub(t *testing.T) {
	b, err := tribus.Open("", &tribus.Options{PubSub: pubsub.Options{Limits: pubsub.Limits{MaxMessages: 1}}})
	require.NoError(t, err)
	defer b.Close()
	s, err := b.Hub().Subscribe("x")
	require.NoError(t, err)
	b.Hub().Publish("x", nil)
	b.Hub().Publish("x", nil)
	assert.ErrorIs(t, s.Err(), pubsub.ErrSlowSubscriber)
}

func TestBroker_SyncPoliciesKeepWhatWasConfirmed(t *testing.T) {
	for _, policy := range []tribus.SyncPolicy{tribus.SyncAlways, tribus.SyncBatch, tribus.SyncNever} {
		dir := t.TempDir()
		b, err := tribus.Open(dir, &tribus.Options{Sync: policy, SyncInterval: time.Millisecond})
		require.NoError(t, err)
		s, err := b.Router().NewSession()
		require.NoError(t, err)
		_, err = s.QueueDeclare("q", exchange.QueueOptions{Durable: true})
		require.NoError(t, err)
		_, err = s.Publish(context.Background(), "", "q", false, exchange.Publishing{DeliveryMode: exchange.Persistent, Body: []byte("kept")})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		b, err = tribus.Open(dir, nil)
		require.NoError(t, err)
		info, err := b.Router().QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, 1, info.Ready, "policy %d", policy)
		require.NoError(t, b.Close())
	}
	_, err := tribus.Open(t.TempDir(), &tribus.Options{Sync: 9})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
	_, err = tribus.Open(t.TempDir(), &tribus.Options{SyncInterval: -time.Second})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
}

func TestBroker_CloseEndsTheRedisDoor(t *testing.T) {
	leakcheck.Check(t)
	b, err := tribus.Open("", nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- b.Redis().Serve(ln) }()

	tcp, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer tcp.Close()
	_, err = tcp.Write([]byte("SUBSCRIBE order:notifications\r\n"))
	require.NoError(t, err)
	ack := make([]byte, len("*3\r\n$9\r\nsubscribe\r\n$19\r\norder:notifications\r\n:1\r\n"))
	_, err = io.ReadFull(tcp, ack)
	require.NoError(t, err)
	inproc, err := b.Redis().Dial(context.Background(), "tcp", "tribus")
	require.NoError(t, err)
	defer inproc.Close()
	assert.Equal(t, 1, b.Hub().Publish("order:notifications", []byte("x")), "the remote subscriber is the hub's")

	require.NoError(t, b.Close())
	assert.ErrorIs(t, <-served, resp.ErrServerClosed)
	for _, nc := range []net.Conn{tcp, inproc} {
		_, err := io.ReadAll(nc) // the rest of what was sent, then the close
		assert.NoError(t, err)
	}
	_, err = b.Redis().Dial(context.Background(), "tcp", "tribus")
	assert.ErrorIs(t, err, resp.ErrServerClosed)
}

func TestBroker_KafkaDoorServesTheLog(t *testing.T) {
	leakcheck.Check(t)
	b, err := tribus.Open("", &tribus.Options{Kafka: kafka.Options{DisableAutoCreateTopics: true}})
	require.NoError(t, err)
	assert.Same(t, b.Kafka(), b.Kafka(), "built once")
	require.NoError(t, b.Log().CreateTopic("orders", tlog.TopicConfig{Partitions: 3}))

	nc, err := b.Kafka().Dial(context.Background(), "tcp", "tribus:9092")
	require.NoError(t, err)
	defer nc.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	resp := kafkaRoundTrip(t, nc, req).(*kmsg.MetadataResponse)
	require.Len(t, resp.Topics, 1)
	assert.Equal(t, "orders", *resp.Topics[0].Topic)
	assert.Len(t, resp.Topics[0].Partitions, 3, "the door serves the broker's own log")

	require.NoError(t, b.Close())
	_, err = io.ReadAll(nc) // closed by the broker's Close
	assert.NoError(t, err)
	_, err = b.Kafka().Dial(context.Background(), "tcp", "tribus:9092")
	assert.ErrorIs(t, err, kafka.ErrServerClosed)
}

// kafkaRoundTrip writes req on nc as a Kafka request and reads its response.
func kafkaRoundTrip(t *testing.T, nc net.Conn, req kmsg.Request) kmsg.Response {
	t.Helper()
	body := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, 1)
	_, err := nc.Write(body)
	require.NoError(t, err)
	var size [4]byte
	_, err = io.ReadFull(nc, size[:])
	require.NoError(t, err)
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(nc, buf)
	require.NoError(t, err)
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	skip := 4 // the correlation id
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		skip++ // the empty tag buffer of a flexible response header
	}
	require.NoError(t, resp.ReadFrom(buf[skip:]))
	return resp
}

func TestBroker_InvalidKafkaOptions(t *testing.T) {
	_, err := tribus.Open("", &tribus.Options{Kafka: kafka.Options{MaxConnections: -1}})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
	assert.ErrorIs(t, err, kafka.ErrInvalidOptions)
}

func TestBroker_InvalidRedisOptions(t *testing.T) {
	_, err := tribus.Open("", &tribus.Options{Redis: resp.Options{MaxClients: -1}})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
	assert.ErrorIs(t, err, resp.ErrInvalidOptions)
}

func TestBroker_DiskFreeLimitReachesTheLog(t *testing.T) {
	// A limit larger than any disk: every produce is refused before it writes.
	b, err := tribus.Open(t.TempDir(), &tribus.Options{DiskFreeLimit: 1 << 62})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Log().CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	_, err = b.Log().ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("v")})
	require.ErrorIs(t, err, tribus.ErrDiskFull)
	end, _, err := b.Log().ListOffsets("t", 0, tlog.Latest)
	require.NoError(t, err)
	assert.Zero(t, end, "nothing was written")
}

func TestBroker_DiskFreeLimitReachesTheRouter(t *testing.T) {
	// A limit larger than any disk: the router's disk alarm is on; fail fast shows it.
	b, err := tribus.Open(t.TempDir(), &tribus.Options{DiskFreeLimit: 1 << 62, FailFastOnAlarm: true})
	require.NoError(t, err)
	defer b.Close()
	s, err := b.Router().NewSession()
	require.NoError(t, err)
	_, err = s.QueueDeclare("q", exchange.QueueOptions{Durable: true})
	require.NoError(t, err)
	_, err = s.Publish(context.Background(), "", "q", false, exchange.Publishing{DeliveryMode: exchange.Persistent, Body: []byte("x")})
	require.ErrorIs(t, err, tribus.ErrDiskFull)
	info, err := b.Router().QueueInfo("q")
	require.NoError(t, err)
	assert.Zero(t, info.Ready, "nothing was enqueued")
}
