package tribus

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/store"
	"github.com/tribusmq/tribus/wire/amqp"
	"github.com/tribusmq/tribus/wire/kafka"
	"github.com/tribusmq/tribus/wire/resp"
)

// Options configures a [Broker]. The zero value, and nil, mean the defaults documented on each
// field. Options are validated by [Open]; an invalid value is [ErrInvalidOptions].
type Options struct {
	// Logger receives the broker's and engines' log lines. nil discards them.
	Logger *slog.Logger

	// PubSub configures the pub/sub hub: its default per-subscription buffer limits and
	// slow-subscriber policy. The zero value is Redis's `client-output-buffer-limit pubsub
	// 32mb 8mb 60` with disconnection.
	PubSub pubsub.Options

	// Redis configures the RESP front door ([Broker.Redis]): requirepass, maxclients, the idle
	// timeout, proto-max-bulk-len and the output-buffer limits of remote subscribers. The zero
	// value is Redis's defaults.
	Redis resp.Options

	// AMQP configures the AMQP 0-9-1 front door ([Broker.AMQP]): users, virtual hosts beyond
	// "/", what connection.tune proposes and the connection limit. The zero value is
	// RabbitMQ's defaults (guest/guest from loopback only, channel_max 2047, frame_max
	// 131072, heartbeat 60 s).
	AMQP amqp.Options

	// Kafka configures the Kafka protocol front door ([Broker.Kafka]): topic auto-creation
	// and its partition count, the advertised address, request and connection limits, and
	// SASL/PLAIN users. The zero value is Kafka's broker defaults.
	Kafka kafka.Options

	// ExchangeObserver, if set, receives every lifecycle event of the exchange router
	// (routed, enqueued, delivered, acked, requeued, dead-lettered, expired, dropped, consumers
	// added and cancelled...; see exchange.Options.Observer for what it may rely on). It is
	// called synchronously and must be quick. nil costs nothing.
	ExchangeObserver func(exchange.Event)

	// LogObserver, if set, receives every lifecycle event of the commit log (appended,
	// committed, members joining and leaving, rebalances, transactions...; see
	// log.Options.Observer). It is called synchronously and must be quick. nil costs nothing.
	// The pub/sub hub's observer is PubSub.Observer.
	LogObserver func(tlog.Event)

	// Seed, if not 0, makes the choices the engines may make either way follow it, the same
	// for the same seed and different for another: where each queue's round-robin among its
	// consumers starts (exchange.Options.Seed) and the member ids consumer groups hand out,
	// and so which member the assignors give which partitions (log.Options.Seed), and the
	// names the router generates (consumer tags, amq.gen- queues). 0 keeps the defaults: the
	// first consumer first, members in the order they joined, random names. For tests that
	// explore orders; a durable broker should leave it 0.
	Seed uint64

	// Trace turns on [Broker.Trace], the one stream of every engine's and front door's events. Off (the
	// default), the engines build no event for it and it costs nothing. On, it still costs
	// nothing while nobody reads it: the engines build events for it only from a call to
	// Trace until its loop ends, and each is then numbered and copied to the readers, who never slow the engines.
	Trace bool
	// TraceBuffer is how many events a trace reader may fall behind by before it loses
	// events: 0 means DefaultTraceBuffer (4096); negative is ErrInvalidOptions.
	TraceBuffer int

	// ExchangeFaults and LogFaults are the engines' fault hooks (exchange.Faults,
	// log.Faults), for test toolkits such as tribustest. nil costs nothing.
	ExchangeFaults *exchange.Faults
	LogFaults      *tlog.Faults
	// StoreBeforeSync is the store's fault hook (store.Options.BeforeSync): called before each
	// fsync of the durable store (persistent messages, durable declarations, committed
	// offsets), its error fails that fsync as a disk error would, and the store refuses writes
	// until the broker is reopened. Not called in memory or with SyncNever.
	StoreBeforeSync func(what string) error

	// MemoryBudget bounds the memory the persistent messages of durable queues take in the
	// exchange router; beyond it only a 64-byte index entry per message stays in memory and
	// contents are read back from disk when delivered (see exchange.Options.MemoryBudget). A
	// quarter of it (at least 1 MiB, at most 16 MiB) bounds the writes the store holds in
	// memory between two checkpoints. 0 means exchange.DefaultMemoryBudget (128 MiB);
	// negative means no limit. Ignored in memory.
	MemoryBudget int64

	// DiskFreeLimit is RabbitMQ's disk_free_limit, in bytes: while the file system holding the
	// directory has less free space than this, produces to the commit log fail with an error
	// matching [ErrDiskFull] before anything is written, and the exchange router's disk alarm
	// is on (publishes wait, or fail with FailFastOnAlarm); fetching, committing, consuming,
	// acking and deleting go on. 0 means 50 MB (RabbitMQ's default); negative turns the check
	// off. Ignored in memory.
	DiskFreeLimit int64

	// MaxMessageSize bounds a body published to the exchange router (RabbitMQ's
	// max_message_size): 0 means 16 MiB; above 512 MiB or negative is ErrInvalidOptions.
	MaxMessageSize int64

	// MemoryHighWatermark bounds the bytes of messages the exchange router's queues hold,
	// transient ones included (RabbitMQ's vm_memory_high_watermark): over it every publish
	// waits until consumers bring it down, or fails with FailFastOnAlarm. 0 means
	// exchange.DefaultMemoryHighWatermark (512 MiB); negative turns it off.
	MemoryHighWatermark int64

	// FailFastOnAlarm makes a publish to the exchange router fail at once with
	// exchange.ErrMemoryAlarm or an error matching [ErrDiskFull] while an alarm is on, instead
	// of waiting for it to clear.
	FailFastOnAlarm bool

	// RecoverCorruptJournal makes Open go on when the store's write-ahead journal is damaged
	// (an error matching [ErrCorrupt] otherwise): the records before the damage are kept, the
	// damaged file is renamed to tribus.db-journal.corrupt-<UTC time> and kept, and a warning
	// goes to Logger. What the journal held after the damage is lost. Default false: Open fails
	// and changes nothing, so that an operator decides; see docs/reliability.md. Ignored in
	// memory.
	RecoverCorruptJournal bool

	// Sync says when durable writes reach the disk. Ignored in memory.
	Sync SyncPolicy
	// SyncInterval is the longest a commit waits for its fsync under SyncBatch; 0 means
	// DefaultSyncInterval (10 ms).
	SyncInterval time.Duration
}

// SyncPolicy says when the durable store fsyncs.
type SyncPolicy uint8

const (
	// SyncAlways, the default, fsyncs every commit before anything in it is acknowledged (a
	// publish confirmed, a declaration returned). Concurrent and pipelined writes share a commit
	// and its fsync (group commit). Nothing acknowledged is lost to a process crash or a power
	// loss.
	SyncAlways SyncPolicy = iota
	// SyncBatch acknowledges a commit before its fsync, which follows within SyncInterval. A
	// process crash (kill -9) loses nothing, because the writes are in the operating system's
	// page cache. A power loss or kernel crash can lose what was acknowledged in the last
	// SyncInterval, but never corrupts the store: only the journal's flush is deferred, and the
	// bbolt file is still changed only by fully flushed checkpoints.
	SyncBatch
	// SyncNever leaves fsyncs to the operating system. A process crash loses nothing; a power
	// loss or kernel crash can lose any amount of acknowledged data and can corrupt the store.
	// For tests and data you can rebuild.
	SyncNever
)

// DefaultSyncInterval is SyncBatch's interval when Options.SyncInterval is zero.
const DefaultSyncInterval = 10 * time.Millisecond

// storeOptions maps the sync policy and the recovery choice onto the store.
func (o *Options) storeOptions() (*store.Options, error) {
	if o.SyncInterval < 0 {
		return nil, fmt.Errorf("%w: SyncInterval %v is negative", ErrInvalidOptions, o.SyncInterval)
	}
	so := &store.Options{RecoverCorruptJournal: o.RecoverCorruptJournal, DiskFreeLimit: o.DiskFreeLimit,
		Logger: o.engineLogger("engine", "store"), CheckpointBytes: o.checkpointBytes(), BeforeSync: o.StoreBeforeSync}
	switch o.Sync {
	case SyncAlways:
	case SyncBatch:
		so.SyncInterval = o.SyncInterval
		if so.SyncInterval == 0 {
			so.SyncInterval = DefaultSyncInterval
		}
	case SyncNever:
		so.NoSync = true
	default:
		return nil, fmt.Errorf("%w: unknown sync policy %d", ErrInvalidOptions, o.Sync)
	}
	return so, nil
}

// checkpointBytes is the store's checkpoint size for the memory budget. The store keeps the
// rounds it has not checkpointed in memory (in the open bbolt transaction, and in about twice
// as many bytes of pages while a checkpoint writes them out), so it gets a quarter of the
// budget: never more than the store's default, never less than minCheckpointBytes, below which
// a checkpoint's two fsyncs would come every few messages.
func (o *Options) checkpointBytes() int {
	budget := o.MemoryBudget
	if budget == 0 {
		budget = exchange.DefaultMemoryBudget
	}
	if budget < 0 {
		return 0 // the store's default
	}
	return int(min(max(budget/4, minCheckpointBytes), store.DefaultCheckpointBytes))
}

// minCheckpointBytes is the smallest checkpoint a memory budget makes.
const minCheckpointBytes = 1 << 20

// discard is the logger of a broker given none, shared: With on it would allocate for nothing.
var discard = slog.New(slog.DiscardHandler)

// withDefaults returns a copy of the options with defaults filled in. Each engine validates its
// own part when Open builds it.
func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.Logger == nil {
		v.Logger = discard
	}
	if v.PubSub.Logger == nil {
		v.PubSub.Logger = v.engineLogger("engine", "pubsub")
	}
	return v
}

// engineLogger is the broker's logger with an engine's attribute, or the shared discard logger.
func (o *Options) engineLogger(key, value string) *slog.Logger {
	if o.Logger == discard {
		return discard
	}
	return o.Logger.With(key, value)
}

// exchangeOptions is the router's part of the options, without the store.
func (o *Options) exchangeOptions() exchange.Options {
	return exchange.Options{Observer: o.ExchangeObserver, Faults: o.ExchangeFaults, Seed: o.Seed, Logger: o.engineLogger("engine", "exchange"),
		MaxMessageSize: o.MaxMessageSize, MemoryHighWatermark: o.MemoryHighWatermark, FailFastOnAlarm: o.FailFastOnAlarm}
}

// redisOptions is the RESP front door's part of the options.
func (o *Options) redisOptions() *resp.Options {
	ropts := o.Redis
	if ropts.Version == "" {
		ropts.Version = Version
	}
	if ropts.Logger == nil {
		ropts.Logger = o.engineLogger("wire", "resp")
	}
	return &ropts
}

// kafkaOptions is the Kafka front door's part of the options.
func (o *Options) kafkaOptions() *kafka.Options {
	kopts := o.Kafka
	if kopts.Logger == nil {
		kopts.Logger = o.engineLogger("wire", "kafka")
	}
	return &kopts
}

// amqpOptions is the AMQP front door's part of the options.
func (o *Options) amqpOptions() *amqp.Options {
	aopts := o.AMQP
	if aopts.Version == "" {
		aopts.Version = Version
	}
	if aopts.Logger == nil {
		aopts.Logger = o.engineLogger("wire", "amqp")
	}
	return &aopts
}
