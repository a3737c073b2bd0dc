package interop

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	tlog "github.com/tribusmq/tribus/log"
)

// The Kafka rows compare tribus with kfake in one run, the same kgo client and 128-byte
// values; tribus's log is durable (fsync per batch) unless a row says otherwise, kfake's is
// in RAM. "-inproc" rows dial tribus in process (kgo.Dialer), the others loopback TCP;
// "-proc" rows run the server in a process of its own (kafka_proc_test.go).
//
//	cd interop && go test -run '^$' -bench 'Kgo_' -benchmem -count 3

// kafkaBenchTargets are the servers of a throughput row.
var kafkaBenchTargets = []string{"tribus", "tribus-inproc", "kfake", "tribus-proc", "kfake-proc"}

// BenchmarkKgo_ProduceAsync: kgo async produce (idempotent, kgo's default batching and
// linger). Reports records/s.
func BenchmarkKgo_ProduceAsync(b *testing.B) {
	for _, name := range kafkaBenchTargets {
		b.Run(name, func(b *testing.B) {
			tg := startKfakeOrTribus(b, name)
			ctx := context.Background()
			cl := tg.client(b, kgo.DefaultProduceTopic("bench"), kgo.AllowAutoTopicCreation())
			require.NoError(b, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warm")}).FirstErr())
			value := make([]byte, 128)
			b.ResetTimer()
			for range b.N {
				cl.Produce(ctx, &kgo.Record{Value: value}, nil)
			}
			require.NoError(b, cl.Flush(ctx))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// fillTopic produces n 128-byte records to topic (one partition, created first) on tg.
func fillTopic(b *testing.B, tg kafkaTarget, topic string, n int) {
	b.Helper()
	ctx := context.Background()
	tg.createTopics(b, ctx, 1, topic)
	cl := tg.client(b, kgo.DefaultProduceTopic(topic))
	value := make([]byte, 128)
	for range n {
		cl.Produce(ctx, &kgo.Record{Value: value}, nil)
	}
	require.NoError(b, cl.Flush(ctx))
	cl.Close()
}

// pollAll polls cl until n records have arrived.
func pollAll(b *testing.B, cl *kgo.Client, n int) {
	b.Helper()
	for got := 0; got < n; {
		fs := cl.PollFetches(context.Background())
		fs.EachError(func(topic string, p int32, err error) { b.Fatalf("fetch %s-%d: %v", topic, p, err) })
		got += fs.NumRecords()
	}
}

// BenchmarkKgo_Consume: a direct (group-less) consumer reading b.N records from the start of
// a partition filled before the timer starts. Reports records/s.
func BenchmarkKgo_Consume(b *testing.B) {
	for _, name := range kafkaBenchTargets {
		b.Run(name, func(b *testing.B) {
			tg := startKfakeOrTribus(b, name)
			fillTopic(b, tg, "bench", b.N)
			cl := tg.client(b, kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			b.ResetTimer()
			pollAll(b, cl, b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkKgo_GroupConsume: as BenchmarkKgo_Consume, by the one member of a consumer group
// (join, sync and offset fetch included in the time). Reports records/s.
func BenchmarkKgo_GroupConsume(b *testing.B) {
	for _, name := range kafkaBenchTargets {
		b.Run(name, func(b *testing.B) {
			tg := startKfakeOrTribus(b, name)
			fillTopic(b, tg, "bench", b.N)
			b.ResetTimer()
			cl := tg.client(b, kgo.ConsumeTopics("bench"), kgo.ConsumerGroup("bench-group"),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			pollAll(b, cl, b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkKgo_ProduceSync: one record in flight (ProduceSync in a loop, linger 0). The
// "disk" row is the floor for a durable acknowledgement: a 200-byte write and fdatasync on
// the same file system, in the same run. "-nosync" rows open the log without fsync.
// Reports records/s.
func BenchmarkKgo_ProduceSync(b *testing.B) {
	b.Run("disk", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "probe"))
		require.NoError(b, err)
		defer f.Close()
		buf := make([]byte, 200)
		b.ResetTimer()
		for range b.N {
			_, err := f.Write(buf)
			require.NoError(b, err)
			require.NoError(b, syscall.Fdatasync(int(f.Fd())))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	for _, name := range []string{"tribus", "tribus-nosync", "tribus-inproc-nosync", "kfake"} {
		b.Run(name, func(b *testing.B) {
			var tg kafkaTarget
			switch name {
			case "tribus-nosync":
				tg, _ = startKafkaTribusWith(b, b.TempDir(), &tlog.Options{NoSync: true}, nil)
			case "tribus-inproc-nosync":
				_, tg = startKafkaTribusWith(b, b.TempDir(), &tlog.Options{NoSync: true}, nil)
			default:
				tg = startKfakeOrTribus(b, name)
			}
			ctx := context.Background()
			tg.createTopics(b, ctx, 1, "bench")
			cl := tg.client(b, kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0))
			require.NoError(b, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warm")}).FirstErr())
			value := make([]byte, 128)
			b.ResetTimer()
			for range b.N {
				require.NoError(b, cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkKgo_UnitTestCost: what one unit test pays: start a server, connect kgo (in
// process for tribus), create a topic by producing to it, consume the record, close. Rows:
// tribus with its log in memory (what a unit test uses) and on disk, and kfake; each with
// kgo's producer linger at 0, which a test suite sets, and at kgo's default (10 ms since
// franz-go 1.20), which every ProduceSync then waits out whatever the server.
func BenchmarkKgo_UnitTestCost(b *testing.B) {
	for _, linger := range []string{"linger0", "lingerDefault"} {
		for _, name := range []string{"tribus-inproc-memory", "tribus-inproc-disk", "kfake"} {
			b.Run(name+"/"+linger, func(b *testing.B) {
				for range b.N {
					func() {
						tb := &cleanupTB{TB: b}
						defer tb.run()
						var tg kafkaTarget
						switch name {
						case "kfake":
							tg = startKfake(tb)
						case "tribus-inproc-memory":
							_, tg = startKafkaTribusIn(tb, "", nil)
						default:
							_, tg = startKafkaTribusIn(tb, b.TempDir(), nil)
						}
						opts := []kgo.Opt{kgo.DefaultProduceTopic("unit"), kgo.AllowAutoTopicCreation(),
							kgo.ConsumeTopics("unit"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
						if linger == "linger0" {
							opts = append(opts, kgo.ProducerLinger(0))
						}
						ctx := context.Background()
						cl := tg.client(tb, opts...)
						require.NoError(b, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr())
						for n := 0; n < 1; {
							n += len(cl.PollFetches(ctx).Records())
						}
					}()
				}
			})
		}
	}
}

// cleanupTB runs the cleanups registered on it when run is called, so that a benchmark
// iteration can open and close a server of its own.
type cleanupTB struct {
	testing.TB
	fns []func()
}

func (c *cleanupTB) Cleanup(fn func()) { c.fns = append(c.fns, fn) }
func (c *cleanupTB) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
}

func startKfakeOrTribus(tb testing.TB, name string) kafkaTarget {
	switch name {
	case "tribus-proc", "kfake-proc":
		return startProcTarget(tb, name)
	case "kfake":
		return startKfake(tb)
	case "tribus-inproc":
		_, tg := startKafkaTribus(tb, nil)
		return tg
	}
	tg, _ := startKafkaTribus(tb, nil)
	return tg
}
