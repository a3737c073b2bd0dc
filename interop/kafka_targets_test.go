package interop

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/wire/kafka"
)

// kafkaTarget is one Kafka-protocol server the kgo suite runs against: tribus over TCP,
// tribus in process (no socket), and franz-go's kfake as a second opinion. There is no
// Kafka in Debian; kfake is a fake too, and where it and tribus differ Kafka's documented
// behaviour decides (docs/compat.md).
type kafkaTarget struct {
	name string
	opts []kgo.Opt // what reaches the server: seeds, and the dialer in process
	// tribus is the log behind the server, nil for kfake.
	tribus *tlog.Log
}

// client returns a kgo client of the target with opts added, closed when the test ends.
func (tg kafkaTarget) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, tg.opts...), opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// admin returns a kadm client of the target.
func (tg kafkaTarget) admin(t testing.TB) *kadm.Client {
	return kadm.NewClient(tg.client(t))
}

// createTopics creates topics with partitions each on tg, failing the test if it cannot.
func (tg kafkaTarget) createTopics(t testing.TB, ctx context.Context, partitions int32, topics ...string) {
	t.Helper()
	resps, err := tg.admin(t).CreateTopics(ctx, partitions, 1, nil, topics...)
	require.NoError(t, err)
	require.NoError(t, resps.Error())
}

// startKafkaTribus serves a fresh durable log on a loopback listener and in process.
func startKafkaTribus(t testing.TB, opts *kafka.Options) (tcp, inproc kafkaTarget) {
	t.Helper()
	return startKafkaTribusIn(t, t.TempDir(), opts)
}

// startKafkaTribusIn is startKafkaTribus with the log in dir ("": in memory).
func startKafkaTribusIn(t testing.TB, dir string, opts *kafka.Options) (tcp, inproc kafkaTarget) {
	t.Helper()
	return startKafkaTribusWith(t, dir, nil, opts)
}

// startKafkaTribusWith is startKafkaTribusIn with the log opened with lopts.
func startKafkaTribusWith(t testing.TB, dir string, lopts *tlog.Options, opts *kafka.Options) (tcp, inproc kafkaTarget) {
	t.Helper()
	l, err := tlog.Open(dir, lopts)
	require.NoError(t, err)
	srv, err := kafka.NewServer(l, opts)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		l.Close()
	})
	tcp = kafkaTarget{name: "tribus", tribus: l, opts: []kgo.Opt{kgo.SeedBrokers(ln.Addr().String())}}
	inproc = kafkaTarget{name: "tribus-inproc", tribus: l, opts: []kgo.Opt{kgo.SeedBrokers("tribus:9092"),
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) { return srv.Dial(ctx, network, host) })}}
	return tcp, inproc
}

// startKfake starts a one-broker kfake cluster.
func startKfake(t testing.TB) kafkaTarget {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return kafkaTarget{name: "kfake", opts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}}
}

// eachKafka runs fn against every Kafka target, each with a server of its own.
func eachKafka(t *testing.T, fn func(t *testing.T, tg kafkaTarget)) {
	for _, name := range []string{"tribus", "tribus-inproc", "kfake"} {
		t.Run(name, func(t *testing.T) {
			var tg kafkaTarget
			switch name {
			case "kfake":
				tg = startKfake(t)
			case "tribus":
				tg, _ = startKafkaTribus(t, nil)
			default:
				_, tg = startKafkaTribus(t, nil)
			}
			fn(t, tg)
		})
	}
}

// isKfake reports whether tg is kfake. A test asks it only where kfake is known to differ
// from Kafka's documented behaviour (each difference is listed in docs/compat.md), and then
// checks what kfake does instead, so that a change on either side shows.
func (tg kafkaTarget) isKfake() bool { return tg.tribus == nil }

// topicName is a topic name unique to the test.
func topicName(t testing.TB) string {
	r := strings.NewReplacer("/", ".", " ", "_", "#", "_")
	return r.Replace(t.Name())
}
