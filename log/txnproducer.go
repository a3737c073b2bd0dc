package log

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// TransactionalOptions configure a [TransactionalProducer].
type TransactionalOptions struct {
	// TransactionalID names the producer across restarts (transactional.id); required. A
	// later producer with the same id fences this one (K41).
	TransactionalID string
	// Timeout is how long a transaction may stay open before the coordinator aborts it
	// (transaction.timeout.ms, K44); 0 means DefaultTransactionTimeout (60 s). It may not
	// exceed MaxTransactionTimeout (15 min).
	Timeout time.Duration
	// Compression is the codec the transaction's batches are compressed with
	// (compression.type); the zero value writes them uncompressed. Transaction markers are
	// never compressed.
	Compression Compression
}

// GroupMetadata identifies a consumer group member to
// [TransactionalProducer.SendOffsetsToTransaction], like Kafka's ConsumerGroupMetadata: the
// offsets are accepted only if MemberID is a member of GroupID in Generation (K20). A
// standalone committer, outside any generation, passes Generation -1 and no MemberID, which
// an empty group accepts. [GroupConsumer.GroupMetadata] returns a member's.
type GroupMetadata struct {
	GroupID    string
	Generation int32
	MemberID   string
	// GroupInstanceID is the member's group.instance.id, "" for a dynamic member: an older
	// incarnation of a static member is fenced by it (KIP-345).
	GroupInstanceID string
}

// TransactionalProducer writes to any partitions of any topics, and commits consumer group
// offsets, atomically (KIP-98, K42): after CommitTransaction, read_committed consumers see
// every record of the transaction and the group sees every offset sent to it; after
// AbortTransaction (or a crash, a timeout or fencing) they see none of them. Every batch is
// idempotent (K39, K40) and carries the producer id and epoch InitTransactions obtained.
//
// A TransactionalProducer is safe for concurrent use, though a transaction is usually driven
// from one goroutine: InitTransactions once, then BeginTransaction, sends, and
// CommitTransaction or AbortTransaction, again and again. Once fenced, every call but Close
// returns ErrProducerFenced.
type TransactionalProducer struct {
	l           *Log
	id          string
	timeout     time.Duration
	compression Compression

	mu     sync.Mutex // serialises the producer's calls
	m      *txnMeta   // nil before InitTransactions
	pid    int64
	epoch  int16
	inTxn  bool
	seqs   map[*partition]int32 // next sequence per partition, for the current epoch
	fenced error
	closed bool
}

// NewTransactionalProducer returns a producer for o.TransactionalID; call InitTransactions
// before anything else. An empty id is ErrInvalidConfig, a negative or too long timeout
// ErrInvalidTransactionTimeout; after Close of the Log, ErrClosed.
func (l *Log) NewTransactionalProducer(o TransactionalOptions) (*TransactionalProducer, error) {
	if o.TransactionalID == "" {
		return nil, fmt.Errorf("%w: empty transactional id", ErrInvalidConfig)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTransactionTimeout
	}
	if o.Timeout < 0 || o.Timeout > MaxTransactionTimeout {
		return nil, fmt.Errorf("%w: %v is not within (0, %v]", ErrInvalidTransactionTimeout, o.Timeout, MaxTransactionTimeout)
	}
	if err := o.Compression.validate(); err != nil {
		return nil, err
	}
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	return &TransactionalProducer{l: l, id: o.TransactionalID, timeout: o.Timeout, compression: o.Compression,
		pid: -1, epoch: -1}, nil
}

// TransactionalID returns the producer's transactional id.
func (pr *TransactionalProducer) TransactionalID() string { return pr.id }

// ProducerID returns the producer id and epoch InitTransactions obtained, or -1, -1 before it.
func (pr *TransactionalProducer) ProducerID() (int64, int16) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.pid, pr.epoch
}

// usableLocked returns why the producer cannot act: closed, fenced, or not initialised.
func (pr *TransactionalProducer) usableLocked() error {
	switch {
	case pr.closed:
		return ErrClosed
	case pr.fenced != nil:
		return pr.fenced
	case pr.m == nil:
		return fmt.Errorf("%w: call InitTransactions first", ErrInvalidTxnState)
	}
	return pr.l.checkOpen()
}

// note remembers a fencing error, which is final.
func (pr *TransactionalProducer) note(err error) error {
	if errors.Is(err, ErrProducerFenced) && pr.fenced == nil {
		pr.fenced = err
		pr.inTxn = false
	}
	return err
}

// InitTransactions registers the producer with the Log's transaction coordinator and obtains
// its producer id and epoch. If the transactional id was used before, the epoch goes up, so
// every earlier producer with this id is fenced (K41), and a transaction such a producer left
// open is aborted first (or, if it had already decided to commit, its commit is finished). It
// may be called once; a second call is ErrInvalidTxnState.
func (pr *TransactionalProducer) InitTransactions(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	switch {
	case pr.closed:
		return ErrClosed
	case pr.m != nil:
		return fmt.Errorf("%w: InitTransactions was already called", ErrInvalidTxnState)
	}
	pid, epoch, err := pr.l.initTxn(pr.id, pr.timeout)
	if err != nil {
		return err
	}
	pr.m, pr.pid, pr.epoch, pr.seqs = pr.l.txns.get(pr.id), pid, epoch, make(map[*partition]int32)
	return nil
}

// BeginTransaction starts a transaction. It is ErrInvalidTxnState inside one; the
// coordinator's timeout (K44) starts with the first record or offsets sent.
func (pr *TransactionalProducer) BeginTransaction() error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if err := pr.usableLocked(); err != nil {
		return err
	}
	if pr.inTxn {
		return fmt.Errorf("%w: a transaction is already in progress", ErrInvalidTxnState)
	}
	pr.inTxn = true
	return nil
}

// Produce writes rec in the current transaction to the partition [Log.Produce] would choose,
// and returns where it went once it is durable. Read_committed consumers see it only once the
// transaction commits.
func (pr *TransactionalProducer) Produce(ctx context.Context, topicName string, rec Record) (ProduceResult, error) {
	part, err := pr.l.choosePartition(topicName, rec)
	if err != nil {
		return ProduceResult{}, err
	}
	return pr.ProduceTo(ctx, topicName, part, rec)
}

// ProduceTo writes rec in the current transaction to one partition (K5), as a transactional,
// idempotent batch, and returns once it is durable. Outside a transaction it is
// ErrInvalidTxnState; a record without a key on a compacted topic is ErrInvalidRecord (K36); a
// fenced producer gets ErrProducerFenced. A failed send leaves the transaction open: abort it.
func (pr *TransactionalProducer) ProduceTo(ctx context.Context, topicName string, partition int32, rec Record) (ProduceResult, error) {
	p, err := pr.l.partitionFor(ctx, topicName, partition, rec)
	if err != nil {
		return ProduceResult{}, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if err := pr.usableLocked(); err != nil {
		return ProduceResult{}, err
	}
	if !pr.inTxn {
		return ProduceResult{}, fmt.Errorf("%w: no transaction in progress; call BeginTransaction", ErrInvalidTxnState)
	}
	recs := [1]Record{rec}
	base, end, err := pr.l.txnWrite(pr.m, pr.pid, pr.epoch, pr.seqs[p], p, recs[:], pr.compression)
	if err != nil {
		return ProduceResult{}, pr.note(err)
	}
	pr.seqs[p]++
	if err := p.durable(end); err != nil {
		return ProduceResult{}, err
	}
	return ProduceResult{Partition: partition, Offset: base}, nil
}

// SendOffsetsToTransaction adds consumer group offsets to the current transaction
// (sendOffsetsToTransaction): each offset is the next one to read (K12), and they are
// committed for gm.GroupID when, and only when, the transaction commits (K42). gm is checked
// now as [GroupConsumer.CommitOffsets] checks a commit, and fails with ErrCommitFailed if the
// member left the group or its generation is stale (K20); the transaction should then be
// aborted. Invalid offsets fail with the errors of CommitOffsets. A failed call adds nothing.
func (pr *TransactionalProducer) SendOffsetsToTransaction(ctx context.Context, offsets map[TopicPartition]OffsetAndMetadata, gm GroupMetadata) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if err := pr.usableLocked(); err != nil {
		return err
	}
	if !pr.inTxn {
		return fmt.Errorf("%w: no transaction in progress; call BeginTransaction", ErrInvalidTxnState)
	}
	return pr.note(pr.l.txnSendOffsets(pr.m, pr.pid, pr.epoch, gm, offsets))
}

// CommitTransaction commits the current transaction: a commit marker goes to every partition
// it wrote to, each taking one offset (K42), and the offsets sent to it are committed, all at
// once. It returns once the commit is durable. If a group whose offsets it carries has
// rebalanced since they were sent, it aborts instead and returns ErrCommitFailed. If it fails
// after the commit was decided (say, writing a marker failed), the commit still stands: call
// it again to finish. A producer fenced meanwhile gets ErrProducerFenced, and its
// transaction is (or will be) aborted.
func (pr *TransactionalProducer) CommitTransaction(ctx context.Context) error {
	return pr.end(ctx, true)
}

// AbortTransaction aborts the current transaction: an abort marker goes to every partition it
// wrote to, so read_committed consumers skip its records (K43), and the offsets sent to it are
// dropped. A transaction whose commit was decided cannot be aborted (ErrInvalidTxnState).
func (pr *TransactionalProducer) AbortTransaction(ctx context.Context) error {
	return pr.end(ctx, false)
}

func (pr *TransactionalProducer) end(ctx context.Context, commit bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if err := pr.usableLocked(); err != nil {
		return err
	}
	if !pr.inTxn {
		return fmt.Errorf("%w: no transaction in progress", ErrInvalidTxnState)
	}
	err := pr.l.txnEnd(pr.m, pr.pid, pr.epoch, commit)
	if err == nil || errors.Is(err, ErrCommitFailed) {
		pr.inTxn = false
	}
	return pr.note(err)
}

// Close aborts a transaction in progress (if the producer is not fenced and the Log is open)
// and makes every later call return ErrClosed. It is idempotent.
func (pr *TransactionalProducer) Close() error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.closed {
		return nil
	}
	var err error
	if pr.inTxn && pr.fenced == nil && pr.l.checkOpen() == nil {
		err = pr.l.txnEnd(pr.m, pr.pid, pr.epoch, false)
		if errors.Is(err, ErrProducerFenced) || errors.Is(err, ErrClosed) {
			err = nil // someone else ends it
		}
	}
	pr.closed, pr.inTxn = true, false
	return err
}
