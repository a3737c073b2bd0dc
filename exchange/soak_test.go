package exchange_test

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// soakRun is a fast publisher and a slow consumer on one transient queue, until ctx ends. The
// consumer acks one message per consumeEvery. sample is called every 100 ms.
type soakRun struct {
	watermark    int64
	body         int
	consumeEvery time.Duration
	maxPublish   int64 // the publisher stops after this many; 0 for no limit
	sample       func(exchange.AlarmStatus)
}

type soakResult struct {
	published, consumed int64
	peakHeld            int64
	blockedEvents       int64
}

func (sr soakRun) run(t *testing.T, ctx context.Context) soakResult {
	var res soakResult
	var blocked atomic.Int64
	r, err := exchange.New(&exchange.Options{MemoryHighWatermark: sr.watermark, Observer: func(e exchange.Event) {
		if e.Kind == exchange.EventBlocked {
			blocked.Add(1)
		}
	}})
	require.NoError(t, err)
	defer r.Close()
	pubs, err := r.NewSession()
	require.NoError(t, err)
	_, err = pubs.QueueDeclare("soak", exchange.QueueOptions{})
	require.NoError(t, err)
	c, err := r.Consume("soak", exchange.ConsumeOptions{Prefetch: 100})
	require.NoError(t, err)

	var wg sync.WaitGroup
	var published, consumed atomic.Int64
	wg.Add(3)
	go func() { // the publisher: a fresh body per message, as a real producer has
		defer wg.Done()
		for ctx.Err() == nil && (sr.maxPublish == 0 || published.Load() < sr.maxPublish) {
			_, err := pubs.Publish(ctx, "", "soak", false, exchange.Publishing{Body: make([]byte, sr.body)})
			if err != nil {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			published.Add(1)
		}
	}()
	go func() { // the slow consumer
		defer wg.Done()
		tick := time.NewTicker(sr.consumeEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			d, err := c.Next(ctx)
			if err != nil {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			assert.NoError(t, d.Ack())
			consumed.Add(1)
		}
	}()
	go func() { // the sampler
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			a := r.Alarms()
			res.peakHeld = max(res.peakHeld, a.MemoryHeld)
			if sr.sample != nil {
				sr.sample(a)
			}
		}
	}()
	wg.Wait()
	res.published, res.consumed, res.blockedEvents = published.Load(), consumed.Load(), blocked.Load()
	return res
}

// TestSoak_MemoryBound is the measurement of the memory high watermark: a publisher as fast as
// the router lets it against a consumer acking one 4 KiB message per 100 µs, on a transient
// queue, for TRIBUS_SOAK (e.g. 30s), sampling the Go heap every 100 ms. Without the watermark
// such a queue grows by gigabytes in seconds. The peak heap must stay within twice the bound
// plus 32 MiB: with GOGC=100 the collector lets the heap reach twice what is live before it
// collects, and the rest is the runtime and the test. Not run in CI.
//
//	TRIBUS_SOAK=30s go test -run TestSoak_MemoryBound -v ./exchange/
func TestSoak_MemoryBound(t *testing.T) {
	d := os.Getenv("TRIBUS_SOAK")
	if d == "" {
		t.Skip("set TRIBUS_SOAK=30s to run the memory soak")
	}
	dur, err := time.ParseDuration(d)
	require.NoError(t, err)
	const bound = 64 << 20
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peakInuse, peakAlloc uint64
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	res := soakRun{watermark: bound, body: 4 << 10, consumeEvery: 100 * time.Microsecond,
		sample: func(exchange.AlarmStatus) {
			runtime.ReadMemStats(&ms)
			peakInuse, peakAlloc = max(peakInuse, ms.HeapInuse), max(peakAlloc, ms.HeapAlloc)
		}}.run(t, ctx)
	t.Logf("bound %d MiB; heap in use at start %.1f MiB; peak HeapInuse %.1f MiB, peak HeapAlloc %.1f MiB; "+
		"peak MemoryHeld %.1f MiB; published %d, consumed %d (%.0f/s); alarm raised %d times",
		bound>>20, mib(base), mib(peakInuse), mib(peakAlloc), mib(uint64(res.peakHeld)),
		res.published, res.consumed, float64(res.consumed)/dur.Seconds(), res.blockedEvents)
	assert.LessOrEqual(t, peakInuse, uint64(2*bound+32<<20))
	assert.LessOrEqual(t, res.peakHeld, int64(bound+8<<10))
	assert.Positive(t, res.blockedEvents, "the publisher outran the consumer")
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// TestSoak_MemoryBoundShort is the soak on a fake clock for one second with a 1 MiB bound: the
// count of held bytes never goes over the bound by more than a message, and both sides make
// progress. (The publisher stops at 20,000 messages, about 90 MiB, so that without a bound it
// ends, and the test fails, instead of spinning with the fake clock stopped.)
func TestSoak_MemoryBoundShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound = 1 << 20
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res := soakRun{watermark: bound, body: 4 << 10, consumeEvery: time.Millisecond, maxPublish: 20_000}.run(t, ctx)
		assert.LessOrEqual(t, res.peakHeld, int64(bound+8<<10))
		assert.Greater(t, res.peakHeld, int64(bound*7/8), "the publisher reached the bound")
		assert.InDelta(t, 1000, res.consumed, 2)
		assert.Greater(t, res.published, res.consumed)
		assert.Positive(t, res.blockedEvents)
	})
}
