package log

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ProducerOptions configure a batching [Producer]. The zero value is Kafka's defaults.
type ProducerOptions struct {
	// BatchBytes is the size a partition's batch is sent at (batch.size); 0 means 16384.
	BatchBytes int
	// Linger is how long a batch that is not full waits for more records (linger.ms). With 0
	// a batch is sent at once if none of its partition is in flight, and otherwise grows until
	// one completes, as a Kafka producer's batches grow while it waits for a response.
	Linger time.Duration
	// MaxInFlight bounds the batches per partition written and not yet durable
	// (max.in.flight.requests.per.connection); 0 means 5, the most idempotence allows (K40).
	MaxInFlight int
	// DisableIdempotence turns off sequence numbers (enable.idempotence=false). By default
	// every batch carries the producer id, epoch and sequence, so a retried batch is written
	// once (K39).
	DisableIdempotence bool
	// Compression is the codec batches are compressed with (compression.type); the zero
	// value, CompressionNone, writes them uncompressed. Consumers decompress transparently.
	Compression Compression
}

// nextProducerID hands out producer ids, unique in the process (the broker's InitProducerId).
var nextProducerID atomic.Int64

// Producer batches records per partition, like a Kafka producer: ProduceAsync adds a record
// to its partition's batch, which is written when it reaches BatchBytes or Linger passes, and
// its callback runs once the batch is durable (acks=all), in produce order per partition.
// Several batches of a partition can be in flight at once, so one fsync covers many of them.
// A Producer is safe for concurrent use; Close flushes it.
type Producer struct {
	l     *Log
	opts  ProducerOptions
	id    int64
	epoch int16

	mu     sync.Mutex
	parts  map[*partition]*accumulator
	closed bool
	wg     sync.WaitGroup // batches in flight
}

// accumulator is one partition's open batch and sequence counter. Guarded by Producer.mu;
// send holds sendMu so that batches are written in order.
type accumulator struct {
	p       *partition
	recs    []Record
	cbs     []func(ProduceResult, error)
	bytes   int
	nextSeq int32
	timer   *time.Timer
	sendMu  sync.Mutex
	last    chan struct{} // closed when the latest batch's callbacks have run; guarded by sendMu
	slots   chan struct{} // MaxInFlight tokens

	// spare holds the slices of batches already sent, for the next batches to fill: a 1 MiB
	// batch of small records is a large []Record that would otherwise be allocated, and
	// zeroed, anew every time. Guarded by Producer.mu.
	spare []batchSlices
}

// batchSlices are the records and callbacks of one batch.
type batchSlices struct {
	recs []Record
	cbs  []func(ProduceResult, error)
}

// NewProducer returns a Producer with its own producer id (epoch 0).
func (l *Log) NewProducer(o ProducerOptions) (*Producer, error) {
	if o.BatchBytes < 0 || o.Linger < 0 || o.MaxInFlight < 0 {
		return nil, fmt.Errorf("%w: negative producer option", ErrInvalidConfig)
	}
	if err := o.Compression.validate(); err != nil {
		return nil, err
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = 16384
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 5
	}
	if !o.DisableIdempotence && o.MaxInFlight > dedupWindow {
		return nil, fmt.Errorf("%w: an idempotent producer allows at most %d batches in flight (K40)", ErrInvalidConfig, dedupWindow)
	}
	id := int64(-1)
	if !o.DisableIdempotence {
		id = nextProducerID.Add(1)
	}
	return &Producer{l: l, opts: o, id: id, parts: make(map[*partition]*accumulator)}, nil
}

// ProduceAsync adds rec to its partition's batch (chosen as [Log.Produce] chooses) and calls
// cb, if not nil, once the record is durable or failed. It blocks only while MaxInFlight
// batches of that partition are unconfirmed.
func (pr *Producer) ProduceAsync(ctx context.Context, topicName string, rec Record, cb func(ProduceResult, error)) error {
	part, err := pr.l.choosePartition(topicName, rec)
	if err != nil {
		return err
	}
	return pr.ProduceToAsync(ctx, topicName, part, rec, cb)
}

// ProduceToAsync is ProduceAsync to an explicit partition (K5).
func (pr *Producer) ProduceToAsync(ctx context.Context, topicName string, partition int32, rec Record, cb func(ProduceResult, error)) error {
	p, err := pr.l.partitionFor(ctx, topicName, partition, rec)
	if err != nil {
		return err
	}
	pr.mu.Lock()
	if pr.closed {
		pr.mu.Unlock()
		return ErrClosed
	}
	a := pr.parts[p]
	if a == nil {
		a = &accumulator{p: p, slots: make(chan struct{}, pr.opts.MaxInFlight)}
		pr.parts[p] = a
	}
	a.recs = append(a.recs, rec)
	a.cbs = append(a.cbs, cb)
	a.bytes += len(rec.Key) + len(rec.Value) + 16
	full := a.bytes >= pr.opts.BatchBytes
	var recs []Record
	var cbs []func(ProduceResult, error)
	if full || (pr.opts.Linger == 0 && len(a.slots) == 0) {
		recs, cbs = pr.takeLocked(a)
	} else if pr.opts.Linger > 0 && a.timer == nil {
		a.timer = time.AfterFunc(pr.opts.Linger, func() { pr.flushPartition(context.Background(), a) })
	}
	pr.mu.Unlock()
	if recs != nil {
		return pr.send(ctx, a, recs, cbs)
	}
	return nil
}

// takeLocked empties a's batch. Callers hold pr.mu.
func (pr *Producer) takeLocked(a *accumulator) ([]Record, []func(ProduceResult, error)) {
	recs, cbs := a.recs, a.cbs
	if n := len(a.spare); n > 0 {
		a.recs, a.cbs = a.spare[n-1].recs, a.spare[n-1].cbs
		a.spare = a.spare[:n-1]
	} else {
		// The next batch will likely be as long: size it now rather than grow it by doubling.
		a.recs, a.cbs = make([]Record, 0, len(recs)), make([]func(ProduceResult, error), 0, len(recs))
	}
	a.bytes = 0
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	return recs, cbs
}

func (pr *Producer) flushPartition(ctx context.Context, a *accumulator) error {
	pr.mu.Lock()
	recs, cbs := pr.takeLocked(a)
	pr.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	return pr.send(ctx, a, recs, cbs)
}

// send writes one batch in order with the partition's other batches, then waits for it to be
// durable in the background and runs its callbacks.
func (pr *Producer) send(ctx context.Context, a *accumulator, recs []Record, cbs []func(ProduceResult, error)) error {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		for _, cb := range cbs {
			if cb != nil {
				cb(ProduceResult{}, ctx.Err())
			}
		}
		return ctx.Err()
	}
	a.sendMu.Lock()
	meta := batchMeta{producerID: -1, producerEpoch: -1, baseSequence: -1, compression: pr.opts.Compression}
	if pr.id >= 0 {
		meta.producerID, meta.producerEpoch, meta.baseSequence = pr.id, pr.epoch, a.nextSeq
	}
	base, end, err := a.p.write(recs, meta)
	if err == nil && pr.id >= 0 {
		a.nextSeq += int32(len(recs))
	}
	prev, done := a.last, make(chan struct{})
	a.last = done
	a.sendMu.Unlock()
	pr.wg.Add(1)
	go func() {
		defer pr.wg.Done()
		if err == nil {
			err = a.p.durable(end)
		}
		if prev != nil {
			<-prev // callbacks run in produce order per partition
		}
		for i, cb := range cbs {
			if cb != nil {
				cb(ProduceResult{Partition: a.p.id, Offset: base + int64(i)}, err)
			}
		}
		// Let the next batch's callbacks run before this goroutine sends again: the send
		// below may wait for a slot that only a later batch, waiting on done, can free.
		close(done)
		pr.recycle(a, recs, cbs)
		<-a.slots
		if pr.opts.Linger == 0 {
			pr.flushPartition(context.Background(), a) // what accumulated meanwhile
		}
	}()
	return nil
}

// recycle keeps a sent batch's slices for a later batch of a, dropping their references to
// the records and callbacks so that the garbage collector can take those.
func (pr *Producer) recycle(a *accumulator, recs []Record, cbs []func(ProduceResult, error)) {
	clear(recs)
	clear(cbs)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(a.spare) <= pr.opts.MaxInFlight {
		a.spare = append(a.spare, batchSlices{recs[:0], cbs[:0]})
	}
}

// Produce adds rec and waits until it is durable, like [Log.Produce] through this producer's
// batches and sequence numbers.
func (pr *Producer) Produce(ctx context.Context, topicName string, rec Record) (ProduceResult, error) {
	type result struct {
		r   ProduceResult
		err error
	}
	done := make(chan result, 1)
	if err := pr.ProduceAsync(ctx, topicName, rec, func(r ProduceResult, err error) { done <- result{r, err} }); err != nil {
		return ProduceResult{}, err
	}
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
		return ProduceResult{}, ctx.Err()
	}
}

// Flush sends every open batch and waits until every record produced so far is durable and
// its callback has run.
func (pr *Producer) Flush(ctx context.Context) error {
	pr.mu.Lock()
	accs := make([]*accumulator, 0, len(pr.parts))
	for _, a := range pr.parts {
		accs = append(accs, a)
	}
	pr.mu.Unlock()
	var errs []error
	for _, a := range accs {
		errs = append(errs, pr.flushPartition(ctx, a))
	}
	pr.wg.Wait()
	return errors.Join(errs...)
}

// Close flushes the producer and refuses further records with ErrClosed. It is idempotent.
func (pr *Producer) Close() error {
	err := pr.Flush(context.Background())
	pr.mu.Lock()
	pr.closed = true
	pr.mu.Unlock()
	return err
}
