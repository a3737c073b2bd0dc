package log

import (
	"context"
	"fmt"
)

// ProduceResult is where a produced record was written.
type ProduceResult struct {
	Partition int32
	Offset    int64
}

// Produce appends rec to topic and returns where it went once it is durable (acks=all: on
// disk, with concurrent produces sharing fsyncs). A record with a key goes to
// toPositive(murmur2(key)) % partitions (K4); a record without one (nil key; an empty key is
// hashed) goes where the sticky partitioner says (K6). rec's Offset, Topic and Partition are
// ignored; a zero Timestamp means now (K11).
func (l *Log) Produce(ctx context.Context, topicName string, rec Record) (ProduceResult, error) {
	part, err := l.choosePartition(topicName, rec)
	if err != nil {
		return ProduceResult{}, err
	}
	return l.ProduceTo(ctx, topicName, part, rec)
}

// choosePartition is the default partitioner: the key's hash (K4), or the sticky partition for
// a nil key (K6).
func (l *Log) choosePartition(topicName string, rec Record) (int32, error) {
	t, err := l.topic(topicName)
	if err != nil {
		return 0, err
	}
	if rec.Key != nil {
		return partitionForKey(rec.Key, len(t.parts)), nil
	}
	return t.parts[0].sticky.partition(len(t.parts), len(rec.Value)), nil
}

// partitionFor returns the partition a single record is produced to, refusing a keyless
// record on a compacted topic (K36).
func (l *Log) partitionFor(ctx context.Context, topicName string, partition int32, rec Record) (*partition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := l.partition(topicName, partition)
	if err != nil {
		return nil, err
	}
	if p.config().compacts() && rec.Key == nil {
		return nil, fmt.Errorf("%w: compacted topic %s needs keys (K36)", ErrInvalidRecord, topicName)
	}
	return p, nil
}

// ProduceTo appends rec to one partition of topic, whatever its key (K5). A partition that does
// not exist is ErrUnknownTopic. On a topic whose cleanup.policy includes compact, a record
// without a key is ErrInvalidRecord and nothing is written (K36).
func (l *Log) ProduceTo(ctx context.Context, topicName string, partition int32, rec Record) (ProduceResult, error) {
	p, err := l.partitionFor(ctx, topicName, partition, rec)
	if err != nil {
		return ProduceResult{}, err
	}
	if f := l.faults; f != nil && f.BeforeProduce != nil {
		drop, err := f.BeforeProduce(topicName, partition, rec)
		if err != nil {
			return ProduceResult{}, err
		}
		if drop {
			return ProduceResult{Partition: partition, Offset: -1}, nil
		}
	}
	recs := [1]Record{rec}
	base, err := p.append(recs[:], batchMeta{producerID: -1, producerEpoch: -1, baseSequence: -1})
	if err != nil {
		return ProduceResult{}, err
	}
	return ProduceResult{Partition: partition, Offset: base}, nil
}

// AppendIdempotent writes recs as one batch from an idempotent producer: producer id, epoch
// and the sequence number of its first record. A batch the partition has among the producer's
// last five comes back with its original base offset and is not written again (K39); a
// sequence that does not follow the last one is ErrOutOfOrderSequence (K40). On a compacted
// topic a record without a key is ErrInvalidRecord and nothing is written (K36). It is what a
// Kafka front door's Produce calls; the [Producer] uses it for every batch.
func (l *Log) AppendIdempotent(topicName string, partition int32, producerID int64, epoch int16, baseSequence int32, recs []Record) (int64, error) {
	if producerID < 0 || baseSequence < 0 || len(recs) == 0 {
		return 0, fmt.Errorf("%w: producer id %d, sequence %d, %d records", ErrInvalidRecord, producerID, baseSequence, len(recs))
	}
	p, err := l.partition(topicName, partition)
	if err != nil {
		return 0, err
	}
	if p.config().compacts() {
		for i := range recs {
			if recs[i].Key == nil {
				return 0, fmt.Errorf("%w: compacted topic %s needs keys (K36); record %d has none", ErrInvalidRecord, topicName, i)
			}
		}
	}
	return p.append(recs, batchMeta{producerID: producerID, producerEpoch: epoch, baseSequence: baseSequence})
}
