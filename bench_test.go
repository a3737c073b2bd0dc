package tribus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// BenchmarkPubSub_1to1 is one publisher and one subscriber with 128-byte payloads; msgs/s is
// end to end, from the first publish until the subscriber has read the last message.
func BenchmarkPubSub_1to1(b *testing.B) { benchFanout(b, 1) }

// BenchmarkPubSub_1to4 is one publisher and four subscribers; msgs/s counts deliveries.
func BenchmarkPubSub_1to4(b *testing.B) { benchFanout(b, 4) }

func benchFanout(b *testing.B, readers int) {
	hub, err := pubsub.New(&pubsub.Options{Limits: pubsub.Limits{MaxBytes: -1, SoftBytes: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Close()
	var wg sync.WaitGroup
	counts := make([]int, readers)
	for r := range readers {
		s, err := hub.Subscribe("bench")
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			got := 0 // a local count: neighbouring counts[r] would share a cache line
			for {
				m, err := s.Next(context.Background())
				if err != nil || m.Payload == nil {
					counts[r] = got
					return
				}
				got++
			}
		})
	}
	payload := make([]byte, 128)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		hub.Publish("bench", payload)
		n++
	}
	hub.Publish("bench", nil) // tells the readers to stop
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range counts {
		if c != n {
			b.Fatalf("a reader got %d of %d", c, n)
		}
	}
	b.ReportMetric(float64(n*readers)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkBroker_Startup is what one unit test pays: Open, subscribe, publish, receive, Close.
func BenchmarkBroker_Startup(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchStartup(b, func() string { return "" }) })
	b.Run("durable", func(b *testing.B) {
		root := b.TempDir()
		i := 0
		benchStartup(b, func() string {
			i++
			return filepath.Join(root, itoa(i))
		})
	})
	// The floor a durable broker stands on, measured in the same run: a new bbolt file in a
	// new directory, one Update, Close.
	b.Run("bbolt-baseline", func(b *testing.B) {
		root := b.TempDir()
		i := 0
		for b.Loop() {
			i++
			dir := filepath.Join(root, itoa(i))
			if err := os.Mkdir(dir, 0o700); err != nil {
				b.Fatal(err)
			}
			db, err := bolt.Open(filepath.Join(dir, "x.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucketIfNotExists([]byte("meta"))
				return err
			}); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
}

func benchStartup(b *testing.B, dir func() string) {
	ctx := context.Background()
	payload := []byte("hello")
	b.ReportAllocs()
	for b.Loop() {
		br, err := tribus.Open(dir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		s, err := br.Hub().Subscribe("c")
		if err != nil {
			b.Fatal(err)
		}
		br.Hub().Publish("c", payload)
		if _, err := s.Next(ctx); err != nil {
			b.Fatal(err)
		}
		if err := br.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(buf[n:])
		}
	}
}

// BenchmarkExchange_TopicAck is publish → topic exchange (100 bindings) → one queue → a
// consumer with prefetch 100 and manual acks, in memory; msgs/s is end to end.
func BenchmarkExchange_TopicAck(b *testing.B) {
	r, err := exchange.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	pub, _ := r.NewSession()
	sub, _ := r.NewSession()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(pub.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{}))
	_, err = pub.QueueDeclare("order_notifications", exchange.QueueOptions{})
	must(err)
	_, err = pub.QueueDeclare("elsewhere", exchange.QueueOptions{})
	must(err)
	must(pub.QueueBind("order_notifications", "orders", "order.*", nil))
	for i := range 99 {
		must(pub.QueueBind("elsewhere", "orders", "audit.region"+itoa(i)+".#", nil))
	}
	c, err := sub.Consume("order_notifications", exchange.ConsumeOptions{Prefetch: 100})
	must(err)
	done := make(chan int)
	go func() {
		n := 0
		for {
			d, err := c.Next(context.Background())
			if err != nil {
				done <- n
				return
			}
			if d.Body == nil {
				_ = d.Ack()
				done <- n
				return
			}
			if err := d.Ack(); err != nil {
				b.Error(err)
			}
			n++
		}
	}()
	msg := exchange.Publishing{ContentType: "application/json", Body: make([]byte, 128)}
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := pub.Publish(ctx, "orders", "order.created", false, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	_, err = pub.Publish(ctx, "orders", "order.created", false, exchange.Publishing{}) // the end marker
	must(err)
	got := <-done
	elapsed := time.Since(start)
	if got != n {
		b.Fatalf("consumed %d of %d", got, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
}

// persistentQueue opens a durable broker in a temp dir with a durable queue "jobs".
func persistentQueue(b *testing.B, opts *tribus.Options) (*tribus.Broker, *exchange.Session) {
	return persistentQueueIn(b, b.TempDir(), opts)
}

// persistentQueueIn is persistentQueue on a broker in dir.
func persistentQueueIn(b *testing.B, dir string, opts *tribus.Options) (*tribus.Broker, *exchange.Session) {
	br, err := tribus.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := br.Router().NewSession()
	if _, err := s.QueueDeclare("jobs", exchange.QueueOptions{Durable: true}); err != nil {
		b.Fatal(err)
	}
	return br, s
}

var persistentMsg = exchange.Publishing{DeliveryMode: exchange.Persistent, ContentType: "application/json", Body: make([]byte, 128)}

// publishPersistent is the timed loop of the pipelined benchmarks: persistentMsg to "jobs"
// through p, once per iteration. It returns how many it published.
func publishPersistent(b *testing.B, p *exchange.Publisher) int {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := p.Publish(context.Background(), "", "jobs", false, persistentMsg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkExchange_PersistentConfirm pipelines persistent publishes into a durable queue
// with a window of 1,000 unconfirmed, fsync on every commit; msgs/s counts confirmed messages,
// and "disk-share" is the payload bytes confirmed per second as a share of the disk's
// sequential write bandwidth, measured first in the same directory. Before the timed loop it
// also measures the ceiling no store can raise: the same publishes and confirms through an
// in-memory broker, which writes nothing ("memory-msgs/s", and "memory-disk-share", the disk
// share that ceiling would be).
func BenchmarkExchange_PersistentConfirm(b *testing.B) {
	dir := b.TempDir()
	seq := diskBandwidth(b, dir)
	ceiling := confirmCeiling(b)
	br, s := persistentQueueIn(b, dir, nil)
	defer br.Close()
	var confirmed, nacked int
	p, err := s.NewPublisher(1000, func(c exchange.Confirmation) {
		confirmed++
		if !c.Ack {
			nacked++
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n := publishPersistent(b, p)
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if confirmed != n || nacked != 0 {
		b.Fatalf("%d confirmed (%d nacked) of %d", confirmed, nacked, n)
	}
	rate := float64(n) / elapsed.Seconds()
	share := func(rate float64) float64 { return rate * float64(len(persistentMsg.Body)) / (1 << 20) / seq }
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(share(rate), "disk-share")
	b.ReportMetric(ceiling, "memory-msgs/s")
	b.ReportMetric(share(ceiling), "memory-disk-share")
}

// confirmCeiling is the rate of PersistentConfirm's publishes and confirms through an
// in-memory broker: the router's work for them with no store at all. The queue is bounded so
// that the run holds little memory.
func confirmCeiling(b *testing.B) float64 {
	const n = 200_000
	br, err := tribus.Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	s, _ := br.Router().NewSession()
	if _, err := s.QueueDeclare("jobs", exchange.QueueOptions{MaxLength: 10_000}); err != nil {
		b.Fatal(err)
	}
	confirmed := 0
	p, err := s.NewPublisher(1000, func(exchange.Confirmation) { confirmed++ })
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for range n {
		if _, err := p.Publish(context.Background(), "", "jobs", false, persistentMsg); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if confirmed != n {
		b.Fatalf("%d confirmed of %d", confirmed, n)
	}
	return n / elapsed.Seconds()
}

// BenchmarkExchange_PersistentBacklog consumes a durable queue of persistent 128-byte messages
// with prefetch 100 and manual acks, first while every message is in memory ("in-budget", a
// queue of half what the budget holds, filled and drained eight times), then a backlog of ten
// times as many messages as the memory budget holds, every one of them paged out
// ("over-budget"): another queue, never consumed, keeps the budget full, so each backlog
// message is written, paged out and read back from the store when delivered. It reports both
// rates, their ratio (target ≥ 0.5), and the live heap (after a collection) once the backlog is
// queued and once it is consumed, against the budget; the backlog's index entries (about 60
// bytes a message) are outside the budget by design. Every timed drain starts after a garbage
// collection, so that the garbage the untimed fill left is not charged to it.
func BenchmarkExchange_PersistentBacklog(b *testing.B) {
	const (
		budget = 16 << 20
		// What one 128-byte message counts as against the budget: its body and about 512
		// bytes of properties and bookkeeping (the router's estimate).
		perMessage = 128 + 512
		capacity   = budget / perMessage
		inBudget   = capacity / 2
		inRounds   = 8
		backlog    = 10 * capacity
	)
	liveHeap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc) / (1 << 20)
	}
	var inRate, overRate, heapQueued, heapDrained float64
	for b.Loop() {
		br, s := persistentQueue(b, &tribus.Options{MemoryBudget: budget})
		for _, q := range []string{"ballast", "backlog"} {
			if _, err := s.QueueDeclare(q, exchange.QueueOptions{Durable: true}); err != nil {
				b.Fatal(err)
			}
		}
		fill := func(queue string, n int) {
			b.StopTimer()
			defer b.StartTimer()
			p, err := s.NewPublisher(1000, nil)
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				if _, err := p.Publish(context.Background(), "", queue, false, persistentMsg); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Close(); err != nil {
				b.Fatal(err)
			}
			// The fill's garbage is collected before the drain is timed, as it is before the
			// backlog's drain (liveHeap): a round of the in-budget phase lasts a few
			// milliseconds, so whether a collection of what the fill left fell inside it moved
			// the round's rate by up to four times.
			runtime.GC()
		}
		drain := func(queue string, n int) time.Duration {
			cs, err := br.Router().NewSession()
			if err != nil {
				b.Fatal(err)
			}
			defer cs.Close()
			c, err := cs.Consume(queue, exchange.ConsumeOptions{Prefetch: 100})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for range n {
				d, err := c.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if len(d.Body) != len(persistentMsg.Body) {
					b.Fatalf("a %d-byte body, want %d", len(d.Body), len(persistentMsg.Body))
				}
				if err := d.Ack(); err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(start)
		}
		var inTime time.Duration
		for range inRounds {
			fill("jobs", inBudget)
			inTime += drain("jobs", inBudget)
		}
		inRate = inBudget * inRounds / inTime.Seconds()
		fill("ballast", capacity+capacity/10) // over the budget from here on
		fill("backlog", backlog)
		b.StopTimer()
		heapQueued = liveHeap()
		b.StartTimer()
		overRate = backlog / drain("backlog", backlog).Seconds()
		b.StopTimer()
		heapDrained = liveHeap()
		if err := br.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(inRate, "in-budget-msgs/s")
	b.ReportMetric(overRate, "over-budget-msgs/s")
	b.ReportMetric(overRate/inRate, "ratio")
	b.ReportMetric(heapQueued, "heap-queued-MiB")
	b.ReportMetric(heapDrained, "heap-drained-MiB")
	b.ReportMetric(float64(budget)/(1<<20), "budget-MiB")
}

// BenchmarkExchange_PersistentE2E is pipelined persistent publishes → durable queue → a
// consumer with prefetch 1,000 acking each message; msgs/s is end to end.
func BenchmarkExchange_PersistentE2E(b *testing.B) {
	br, s := persistentQueue(b, nil)
	defer br.Close()
	cs, _ := br.Router().NewSession()
	c, err := cs.Consume("jobs", exchange.ConsumeOptions{Prefetch: 1000})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan int)
	go func() {
		n := 0
		for {
			d, err := c.Next(context.Background())
			if err != nil {
				done <- n
				return
			}
			_ = d.Ack()
			if d.Body == nil {
				done <- n
				return
			}
			n++
		}
	}()
	p, err := s.NewPublisher(1000, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	n := publishPersistent(b, p)
	if _, err := p.Publish(ctx, "", "jobs", false, exchange.Publishing{DeliveryMode: exchange.Persistent}); err != nil {
		b.Fatal(err)
	}
	got := <-done
	elapsed := time.Since(start)
	_ = p.Close()
	if got != n {
		b.Fatalf("consumed %d of %d", got, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkExchange_PersistentSync publishes one persistent message at a time, each waiting for
// its fsync, and measures in the same run the disk's own rate of 128-byte write + fdatasync;
// "x-fsync" is how many times slower a publish is than that floor (target ≤ 1.5).
func BenchmarkExchange_PersistentSync(b *testing.B) {
	perFsync := fsyncTime(b)

	br, s := persistentQueue(b, nil)
	defer br.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Publish(ctx, "", "jobs", false, persistentMsg); err != nil {
			b.Fatal(err)
		}
	}
	perPublish := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(time.Second)/float64(perPublish), "msgs/s")
	b.ReportMetric(float64(time.Second)/float64(perFsync), "fsyncs/s")
	b.ReportMetric(float64(perPublish)/float64(perFsync), "x-fsync")
}

// BenchmarkExchange_Reopen1M reopens a broker whose durable queue holds 1,000,000 persistent
// messages (written once, untimed) and reports the time to reopen and the heap the broker
// holds afterwards: with the default memory budget, and with a budget of 1 byte, where only
// the index is in memory.
func BenchmarkExchange_Reopen1M(b *testing.B) {
	dir := b.TempDir()
	br, err := tribus.Open(dir, &tribus.Options{Sync: tribus.SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	s, _ := br.Router().NewSession()
	if _, err := s.QueueDeclare("jobs", exchange.QueueOptions{Durable: true}); err != nil {
		b.Fatal(err)
	}
	p, _ := s.NewPublisher(5000, nil)
	for range 1_000_000 {
		if _, err := p.Publish(context.Background(), "", "jobs", false, persistentMsg); err != nil {
			b.Fatal(err)
		}
	}
	_ = p.Close()
	if err := br.Close(); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		budget int64
	}{{"default-budget", 0}, {"index-only", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			var heap uint64
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				br, err := tribus.Open(dir, &tribus.Options{MemoryBudget: tc.budget})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				if info, _ := br.Router().QueueInfo("jobs"); info.Ready != 1_000_000 {
					b.Fatalf("reopened with %d messages", info.Ready)
				}
				_ = br.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/(1<<20), "MB-held")
		})
	}
}

// BenchmarkLog_Produce produces 128-byte records to one partition of a durable log through a
// batching Producer (1 MiB batches, every batch fsynced before its records are acknowledged);
// msgs/s counts acknowledged records, and "disk-share" is the MB/s written as a share of the
// disk's sequential write bandwidth measured in the same run.
func BenchmarkLog_Produce(b *testing.B) {
	dir := b.TempDir()
	seq := diskBandwidth(b, dir)
	l, err := tlog.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic("events", tlog.TopicConfig{}); err != nil {
		b.Fatal(err)
	}
	pr, err := l.NewProducer(tlog.ProducerOptions{BatchBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rec := tlog.Record{Value: make([]byte, 128)}
	b.ReportAllocs()
	b.ResetTimer()
	// A b.N loop, not b.Loop: the timed part must include the final Flush, or the run
	// sizes itself by how fast records are queued rather than made durable.
	start := time.Now()
	n := b.N
	for range n {
		if err := pr.ProduceToAsync(ctx, "events", 0, rec, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := pr.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	info, _ := l.DescribeTopic("events")
	mbps := float64(info.Partitions[0].Size) / elapsed.Seconds() / (1 << 20)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(mbps, "MB/s")
	b.ReportMetric(mbps/seq, "disk-share")
}

// diskBandwidth measures sequential writes of 1 MiB blocks (64 MiB, one fsync) in dir, in MB/s.
func diskBandwidth(b *testing.B, dir string) float64 {
	f, err := os.Create(filepath.Join(dir, "bandwidth"))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 1<<20)
	start := time.Now()
	for range 64 {
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return 64 / time.Since(start).Seconds()
}

// BenchmarkLog_Consume reads a 10M-record partition (128-byte values, written once, untimed)
// from the start with Fetch; msgs/s counts records decoded.
func BenchmarkLog_Consume(b *testing.B) {
	const total = 10_000_000
	l, err := tlog.Open(b.TempDir(), &tlog.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic("events", tlog.TopicConfig{}); err != nil {
		b.Fatal(err)
	}
	fillEvents(b, l, 1, total)
	ctx := context.Background()
	// "fetch" allocates a new []Record per call, as Fetch's callers do by default;
	// "fetch-append" passes the previous call's slice back to FetchAppend (recs[:0]), as a
	// reader that is done with the records may.
	for _, reuse := range []bool{false, true} {
		name := "fetch"
		if reuse {
			name = "fetch-append"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			read := 0
			var recs []tlog.Record
			for b.Loop() {
				for off := int64(0); off < total; {
					var err error
					if reuse {
						recs, err = l.FetchAppend(ctx, recs[:0], "events", 0, off, tlog.FetchOptions{MaxBytes: 8 << 20})
					} else {
						recs, err = l.Fetch(ctx, "events", 0, off, tlog.FetchOptions{MaxBytes: 8 << 20})
					}
					if err != nil {
						b.Fatal(err)
					}
					read += len(recs)
					off = recs[len(recs)-1].Offset + 1
				}
			}
			b.ReportMetric(float64(read)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// fsyncTime measures the disk's time for a 128-byte write followed by fdatasync.
func fsyncTime(b *testing.B) time.Duration {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 128)
	const probes = 200
	start := time.Now()
	for i := range probes {
		if _, err := f.WriteAt(buf, int64(i*128)); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / probes
}

// BenchmarkLog_ProduceSync produces one 128-byte record at a time, each waiting for its fsync,
// against the disk's write + fdatasync time measured in the same run; "x-fsync" is the ratio
// (target ≤ 1.5).
func BenchmarkLog_ProduceSync(b *testing.B) {
	perFsync := fsyncTime(b)
	l, err := tlog.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic("events", tlog.TopicConfig{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rec := tlog.Record{Value: make([]byte, 128)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.ProduceTo(ctx, "events", 0, rec); err != nil {
			b.Fatal(err)
		}
	}
	perProduce := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(time.Second)/float64(perProduce), "msgs/s")
	b.ReportMetric(float64(perProduce)/float64(perFsync), "x-fsync")
}

// BenchmarkLog_Reopen10M reopens a log holding 10M 128-byte records in one partition (written
// once, untimed; default 1 GiB segments) and reports the time, and the heap held after writing
// those ~1.6 GB.
func BenchmarkLog_Reopen10M(b *testing.B) {
	const total = 10_000_000
	dir := b.TempDir()
	l, err := tlog.Open(dir, &tlog.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.CreateTopic("events", tlog.TopicConfig{}); err != nil {
		b.Fatal(err)
	}
	pr, _ := l.NewProducer(tlog.ProducerOptions{BatchBytes: 1 << 20})
	rec := tlog.Record{Value: make([]byte, 128)}
	for range total {
		if err := pr.ProduceToAsync(context.Background(), "events", 0, rec, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := pr.Close(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heldAfterWrite := ms.HeapAlloc
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l, err := tlog.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if off, _, _ := l.ListOffsets("events", 0, tlog.Latest); off != total {
			b.Fatalf("reopened with end offset %d", off)
		}
		_ = l.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(heldAfterWrite)/(1<<20), "MB-heap-after-write")
}

// fillEvents writes perPartition 128-byte records to each of the first partitions of topic
// "events" with a batching Producer (1 MiB batches), untimed setup for the read benchmarks.
func fillEvents(b *testing.B, l *tlog.Log, partitions, perPartition int) {
	pr, err := l.NewProducer(tlog.ProducerOptions{BatchBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	rec := tlog.Record{Value: make([]byte, 128)}
	ctx := context.Background()
	for p := range partitions {
		for range perPartition {
			if err := pr.ProduceToAsync(ctx, "events", int32(p), rec, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := pr.Close(); err != nil {
		b.Fatal(err)
	}
}

// groupConsumers returns n consumers of group id on topic "events", polling with commits.
func groupConsumers(b *testing.B, l *tlog.Log, id string, n int) []*tlog.GroupConsumer {
	cs := make([]*tlog.GroupConsumer, n)
	for i := range cs {
		c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: id, Topics: []string{"events"},
			Reset: tlog.ResetEarliest, DisableAutoCommit: true, MaxWait: 10 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	return cs
}

// groupRound numbers the groups of BenchmarkLog_GroupConsume, which must start with no
// committed offsets, across -count runs too.
var groupRound atomic.Int64

// BenchmarkLog_GroupConsume reads 4,000,000 128-byte records from 8 partitions with a group of
// 4 consumers, each committing after every poll (max.poll.records 500), and reports the
// group's total records per second (target ≥ 5M). In "fsync" every commit round is fsynced
// before Commit returns; in "nosync" (the log opened with NoSync, like kfake, which keeps
// nothing) commits reach the page cache only.
func BenchmarkLog_GroupConsume(b *testing.B) {
	const partitions, perPartition = 8, 500_000
	dir := b.TempDir()
	l, err := tlog.Open(dir, &tlog.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.CreateTopic("events", tlog.TopicConfig{Partitions: partitions}); err != nil {
		b.Fatal(err)
	}
	fillEvents(b, l, partitions, perPartition)
	ctx := context.Background()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	for _, nosync := range []bool{false, true} {
		name := "fsync"
		if nosync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			l, err := tlog.Open(dir, &tlog.Options{NoSync: nosync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.ReportAllocs()
			var read, commits atomic.Int64
			var elapsed time.Duration
			for b.Loop() {
				cs := groupConsumers(b, l, fmt.Sprintf("%s-%d", name, groupRound.Add(1)), 4)
				start := time.Now()
				var wg sync.WaitGroup
				var done atomic.Int64
				for _, c := range cs {
					wg.Go(func() {
						for done.Load() < partitions*perPartition {
							recs, err := c.Poll(ctx)
							if err != nil {
								b.Error(err)
								return
							}
							if len(recs) == 0 {
								continue
							}
							err = c.Commit(ctx)
							if err != nil && !errors.Is(err, tlog.ErrCommitFailed) {
								b.Error(err)
								return
							}
							commits.Add(1)
							done.Add(int64(len(recs)))
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				read.Add(done.Load())
				for _, c := range cs {
					_ = c.Close()
				}
			}
			b.ReportMetric(float64(read.Load())/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(commits.Load())/elapsed.Seconds(), "commits/s")
		})
	}
}

// BenchmarkLog_GroupRebalance measures a rebalance of a 10-member group: from an eleventh
// member joining until every member has polled with the new generation's assignment. ns/op is
// that time.
func BenchmarkLog_GroupRebalance(b *testing.B) {
	l, err := tlog.Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic("events", tlog.TopicConfig{Partitions: 32}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	run := func(c *tlog.GroupConsumer) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := c.Poll(ctx); err != nil {
					return
				}
			}
		})
	}
	members := groupConsumers(b, l, "g", 10)
	for _, c := range members {
		run(c)
	}
	settled := func(cs []*tlog.GroupConsumer) {
		for {
			d, err := l.DescribeGroup("g")
			if err != nil {
				b.Fatal(err)
			}
			ok := d.State == tlog.GroupStable && len(d.Members) == len(cs)
			for _, c := range cs {
				ok = ok && c.Generation() == d.Generation
			}
			if ok {
				return
			}
			runtime.Gosched()
		}
	}
	settled(members)
	for b.Loop() {
		extra := groupConsumers(b, l, "g", 1)[0]
		run(extra)
		settled(append(members, extra))
		b.StopTimer()
		_ = extra.Close()
		settled(members)
		b.StartTimer()
	}
	cancel()
	for _, c := range members {
		_ = c.Close()
	}
}

// BenchmarkLog_GroupCommit has 64 members of one group commit their offsets concurrently, an
// fsync per commit round, and reports commits per second (target ≥ 100K).
func BenchmarkLog_GroupCommit(b *testing.B) {
	l, err := tlog.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const members = 64
	if err := l.CreateTopic("events", tlog.TopicConfig{Partitions: members}); err != nil {
		b.Fatal(err)
	}
	cs := groupConsumers(b, l, "g", members)
	ctx := context.Background()
	for range 20 { // settle the group
		for _, c := range cs {
			if _, err := c.Poll(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	var next atomic.Int64
	b.SetParallelism(members / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := cs[int(next.Add(1)-1)%members]
		tp := c.Assignment()
		off := int64(0)
		for pb.Next() {
			off++
			offsets := make(map[tlog.TopicPartition]tlog.OffsetAndMetadata, len(tp))
			for _, p := range tp {
				offsets[p] = tlog.OffsetAndMetadata{Offset: off}
			}
			if err := c.CommitOffsets(ctx, offsets); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
	for _, c := range cs {
		_ = c.Close()
	}
}

// BenchmarkLog_GroupRebalanceQuiet is BenchmarkLog_GroupRebalance with an observer that
// waits instead of spinning: it learns of each member's assignment from the rebalance
// listener, so the members have both cores to themselves.
func BenchmarkLog_GroupRebalanceQuiet(b *testing.B) {
	l, err := tlog.Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic("events", tlog.TopicConfig{Partitions: 32}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	assigned := make(chan int32, 4096)
	newMembers := func(n int) []*tlog.GroupConsumer {
		cs := make([]*tlog.GroupConsumer, n)
		for i := range cs {
			c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"events"},
				Reset: tlog.ResetEarliest, DisableAutoCommit: true, MaxWait: 10 * time.Millisecond,
				Listener: tlog.RebalanceListener{Assigned: func(c *tlog.GroupConsumer, _ []tlog.TopicPartition) {
					assigned <- c.Generation()
				}}})
			if err != nil {
				b.Fatal(err)
			}
			cs[i] = c
		}
		return cs
	}
	run := func(c *tlog.GroupConsumer) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := c.Poll(ctx); err != nil {
					return
				}
			}
		})
	}
	last := int32(-1)
	counts := map[int32]int{}
	settled := func(n int) {
		for {
			g := <-assigned
			counts[g]++
			if g > last && counts[g] == n {
				last = g
				return
			}
		}
	}
	members := newMembers(10)
	for _, c := range members {
		run(c)
	}
	settled(10)
	for b.Loop() {
		extra := newMembers(1)[0]
		run(extra)
		settled(11)
		b.StopTimer()
		_ = extra.Close()
		settled(10)
		b.StartTimer()
	}
	cancel()
	for _, c := range members {
		_ = c.Close()
	}
}

// BenchmarkTrace_Publish is what the trace costs a pub/sub publish with one subscriber (two
// events: delivered and published): off (the engines build no event), on with nobody
// reading, and on with a reader that keeps up. Compare the rows of one run.
func BenchmarkTrace_Publish(b *testing.B) {
	for _, tc := range []struct {
		name          string
		trace, reader bool
	}{{"off", false, false}, {"on", true, false}, {"on-read", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			br, err := tribus.Open("", &tribus.Options{Trace: tc.trace,
				PubSub: pubsub.Options{Limits: pubsub.Limits{MaxBytes: -1, SoftBytes: -1}}})
			if err != nil {
				b.Fatal(err)
			}
			s, err := br.Hub().Subscribe("bench")
			if err != nil {
				b.Fatal(err)
			}
			var read sync.WaitGroup
			if tc.reader {
				events := br.Trace(context.Background())
				read.Go(func() {
					for range events {
					}
				})
			}
			payload := make([]byte, 128)
			b.ReportAllocs()
			for b.Loop() {
				br.Hub().Publish("bench", payload)
				if _, err := s.Next(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			if err := br.Close(); err != nil {
				b.Fatal(err)
			}
			read.Wait()
		})
	}
}

// BenchmarkBroker_Inspect is what one snapshot costs (the dashboard takes one a second per
// open page, tribus inspect one): an in-memory broker with 100 queues holding 10 messages
// each, 10 topics of 4 partitions, 10 groups with committed offsets and one member each, and
// 10 pub/sub channels with a subscriber.
func BenchmarkBroker_Inspect(b *testing.B) {
	br, err := tribus.Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	r, l := br.Router(), br.Log()
	for i := range 100 {
		q := fmt.Sprintf("queue-%d", i)
		if _, err := r.QueueDeclare(q, exchange.QueueOptions{}); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if err := r.Publish(ctx, "", q, false, exchange.Publishing{Body: make([]byte, 128)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 10 {
		topic := fmt.Sprintf("topic-%d", i)
		if err := l.CreateTopic(topic, tlog.TopicConfig{Partitions: 4}); err != nil {
			b.Fatal(err)
		}
		for range 100 {
			if _, err := l.Produce(ctx, topic, tlog.Record{Value: make([]byte, 128)}); err != nil {
				b.Fatal(err)
			}
		}
		c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: fmt.Sprintf("group-%d", i), Topics: []string{topic}, Reset: tlog.ResetEarliest})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Poll(ctx); err != nil {
			b.Fatal(err)
		}
		if err := c.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		s, err := br.Hub().Subscribe(fmt.Sprintf("channel-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Inspect(); err != nil {
			b.Fatal(err)
		}
	}
}
