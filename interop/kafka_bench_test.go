package interop

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkKgo_ProduceAsync: kgo async produce of 128-byte values on loopback TCP, tribus
// (durable, fsync per batch) and kfake (in RAM) in the same run. Reports records/s.
//
//	cd interop && go test -run '^$' -bench 'Kgo_' -benchmem -count 3
func BenchmarkKgo_ProduceAsync(b *testing.B) {
	for _, name := range []string{"tribus", "kfake"} {
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

// BenchmarkKgo_UnitTestCost: what one unit test pays: start a server, connect kgo (in
// process for tribus), create a topic, produce a record, consume it, close.
func BenchmarkKgo_UnitTestCost(b *testing.B) {
	for _, name := range []string{"tribus-inproc", "kfake"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				func() {
					tb := &cleanupTB{TB: b}
					defer tb.run()
					tg := startKfakeOrTribus(tb, name)
					ctx := context.Background()
					cl := tg.client(tb, kgo.DefaultProduceTopic("unit"), kgo.AllowAutoTopicCreation(),
						kgo.ConsumeTopics("unit"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
					require.NoError(b, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr())
					for n := 0; n < 1; {
						n += len(cl.PollFetches(ctx).Records())
					}
				}()
			}
		})
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
	case "kfake":
		return startKfake(tb)
	case "tribus-inproc":
		_, tg := startKafkaTribus(tb, nil)
		return tg
	}
	tg, _ := startKafkaTribus(tb, nil)
	return tg
}
