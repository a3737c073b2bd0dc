package log

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/diskspace"
	"github.com/tribusmq/tribus/internal/observe"
	"github.com/tribusmq/tribus/log/internal/group"
	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/store"
)

// Options configures a [Log]. The zero value (and nil) is valid.
type Options struct {
	// Observer, if set, is called synchronously for every lifecycle event (see [Event]):
	// topics created and deleted, batches appended, log start offsets moved, segments rolled
	// and deleted, compaction passes, consumer groups' members and states, offset commits and
	// transactions. Every change to what [Log.DescribeGroup], [Log.GroupLag],
	// [Log.ListOffsets] and a Fetch report is followed by at least one event, emitted once
	// the change is visible: a read that starts after the observer returns sees it (or a
	// later state). So a test may wait for a condition by re-reading it on each event instead
	// of polling. Events of one topic partition, of one group and of one transactional id
	// come in the order of the changes; some are emitted with a lock of the Log held, so the
	// observer must be quick and must not call back into the Log (hand the event to another
	// goroutine for that). nil costs nothing: no event is built.
	Observer func(Event)
	// Faults, if set, are the hooks a test toolkit injects failures through (package
	// tribustest uses them); see [Faults]. nil costs one nil check per produce and commit.
	Faults *Faults
	// Seed, if not 0, makes the member ids consumer groups hand out come from it, so that the
	// order members sort in (which the range and round-robin assignors follow, and so which
	// member gets which partitions) differs from seed to seed and repeats for the same seed,
	// instead of following the order they joined. A test that explores assignments varies it
	// (tribustest.Explore does). Ids stay unique within a Log, not across Logs opened with the
	// same seed: a durable Log should leave it 0.
	Seed uint64
	// Store keeps topic configurations (and, later, committed offsets). nil: a Log opened on a
	// directory opens its own store there (log.db); an in-memory Log keeps them in memory.
	Store *store.Store
	// NoSync acknowledges produces, and offset commits in a store the Log opens itself, before
	// their fsync. A process crash loses nothing (the writes are in the page cache); a power
	// loss can lose acknowledged records and commits. Default false: every produce and commit
	// is on disk before it returns, and concurrent ones share fsyncs.
	NoSync bool
	// RetentionCheckInterval is how often retention runs (log.retention.check.interval.ms),
	// followed by compaction of the topics whose cleanup.policy includes compact (Kafka's
	// cleaner threads wake every log.cleaner.backoff.ms instead). 0 means 5 minutes.
	RetentionCheckInterval time.Duration
	// Logger receives notices, such as how much of a torn tail was truncated at open, or
	// which segment's indexes were rebuilt from its .log.
	Logger *slog.Logger
	// GroupInitialRebalanceDelay is how long the first rebalance of an empty consumer group
	// waits for more members (group.initial.rebalance.delay.ms, K27). Kafka's broker default is
	// 3 s, which exists to spare a starting fleet of consumers a series of rebalances; in
	// process, where members join within microseconds, the default is 0.
	GroupInitialRebalanceDelay time.Duration
	// OffsetsRetention is how long the committed offsets of an empty group are kept after its
	// last member left and its last commit (offsets.retention.minutes, K18). They expire when
	// retention runs. 0 means DefaultOffsetsRetention (7 days).
	OffsetsRetention time.Duration
	// DiskFreeLimit is the free disk space, in bytes, below which produces fail with
	// ErrDiskFull before anything is written, like RabbitMQ's disk_free_limit; fetches,
	// commits and DeleteRecords go on, so that consumers can free space. 0 means 50 MB
	// (diskspace.DefaultLimit); negative turns the check off. An in-memory Log ignores it.
	DiskFreeLimit int64

	// For tests (export_test.go): the file system under dir, and how free space is read.
	fs       segfs.FS
	diskFree func(dir string) (int64, error)
}

// Log is a Kafka-style commit log in process: topics of partitions, each an append-only,
// segmented log on disk (or in memory), with retention, offsets lookups and fetches.
//
// A Log is safe for concurrent use. Close it when done.
type Log struct {
	dir      string
	fs       segfs.FS
	st       *store.Store
	ownStore bool
	nosync   bool
	logger   *slog.Logger
	every    time.Duration
	guard    *diskspace.Guard // the free-disk limit of produces; nil (off) in memory

	// mu guards topics and closed. Lock order: Log.mu, then partition.mu.
	mu     sync.RWMutex
	topics map[string]*topic
	closed bool

	offs  offsetState                    // committed offsets of consumer groups (offsets.go)
	coord *group.Coordinator             // consumer groups (group.go)
	txns  txnCoordinator                 // transactional ids (txn.go)
	meta  *atomic.Pointer[chan struct{}] // closed and replaced when topics change (group.go)

	offsetsRetention time.Duration
	obs              observe.Slot[Event] // Options.Observer, or what SetObserver set; none: emit nothing
	faults           *Faults             // Options.Faults; nil: no hook

	life  sync.Mutex // guards timer and the callbacks in flight (wg)
	timer *time.Timer
	wg    sync.WaitGroup
	done  bool
}

// topic is one topic; its partitions slice is replaced (never edited) when partitions are added.
type topic struct {
	name  string
	cfg   TopicConfig
	parts []*partition
}

// Open opens the log in dir, creating it (0700) if needed, or an in-memory log for dir == "".
// Existing topics come back; each partition's active segment tail is checked and a torn tail
// truncated at the last valid batch.
func Open(dir string, opts *Options) (*Log, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	l := &Log{dir: dir, st: o.Store, nosync: o.NoSync, logger: o.Logger, every: o.RetentionCheckInterval,
		topics: make(map[string]*topic), offsetsRetention: o.OffsetsRetention, faults: o.Faults, meta: newMetadata()}
	l.SetObserver(o.Observer)
	l.coord = newCoordinator(o.GroupInitialRebalanceDelay, o.Seed, l.observeGroups())
	l.coord.SetNotes(l.observed())
	if l.offsetsRetention <= 0 {
		l.offsetsRetention = DefaultOffsetsRetention
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.every == 0 {
		l.every = 5 * time.Minute
	}
	if l.every < 0 {
		return nil, fmt.Errorf("%w: negative RetentionCheckInterval", ErrInvalidConfig)
	}
	if dir == "" {
		l.fs = segfs.NewMem()
		if l.st == nil {
			l.st, l.ownStore = store.OpenMemory(), true
		}
	} else {
		l.fs = segfs.OS()
		if o.fs != nil {
			l.fs = o.fs
		}
		if o.diskFree != nil {
			l.guard = diskspace.NewGuardFunc(dir, o.DiskFreeLimit, o.diskFree)
		} else {
			l.guard = diskspace.NewGuard(dir, o.DiskFreeLimit)
		}
		if err := l.fs.MkdirAll(dir); err != nil {
			return nil, fmt.Errorf("tribus/log: %w", err)
		}
		if l.st == nil {
			st, err := store.Open(filepath.Join(dir, "log.db"), &store.Options{NoSync: o.NoSync})
			if err != nil {
				return nil, fmt.Errorf("tribus/log: %w", err)
			}
			l.st, l.ownStore = st, true
		}
	}
	if err := l.load(); err != nil {
		l.closeAll()
		return nil, err
	}
	l.scheduleRetention()
	return l, nil
}

const bktTopics = "topics"

// load reads the topic configurations and opens their partitions.
func (l *Log) load() error {
	if err := l.st.Update(func(tx *store.Tx) error {
		_, err := tx.CreateBucketIfNotExists(store.BucketLog, bktTopics)
		return err
	}); err != nil {
		return fmt.Errorf("tribus/log: %w", err)
	}
	cfgs := map[string]TopicConfig{}
	if err := l.st.View(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog, bktTopics).ForEach(func(k, v []byte) error {
			var c TopicConfig
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("tribus/log: topic %q: stored config: %w", k, err)
			}
			// A config saved before a field existed gets that field's default; resolved
			// leaves the fields it already resolved unchanged. Builds before issue 11 took
			// any negative retention.ms as forever and saved it as given.
			if c.RetentionTime < 0 {
				c.RetentionTime = -1
			}
			c, err := c.resolved()
			if err != nil {
				return fmt.Errorf("tribus/log: topic %q: stored config: %w", k, err)
			}
			cfgs[string(k)] = c
			return nil
		})
	}); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(cfgs)) {
		if err := validTopicName(name); err != nil {
			return fmt.Errorf("tribus/log: stored topic: %w", err)
		}
		t := &topic{name: name, cfg: cfgs[name]}
		for i := range t.cfg.Partitions {
			p, err := l.openPartition(t, int32(i))
			if err != nil {
				return err
			}
			t.parts = append(t.parts, p)
		}
		l.topics[name] = t
	}
	if err := l.loadOffsets(); err != nil {
		return err
	}
	return l.loadTxns()
}

func (l *Log) saveTopic(t *topic) error {
	v, err := json.Marshal(t.cfg)
	if err != nil {
		return err
	}
	return l.st.Update(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog, bktTopics).Put([]byte(t.name), v)
	})
}

// partitionDir is where a partition's segments live: <topic>-<partition>, as Kafka names it.
// The topic name has been validated (K1), so it cannot escape the directory.
func (l *Log) partitionDir(topic string, p int32) string {
	name := topic + "-" + strconv.Itoa(int(p))
	if l.dir == "" {
		return name
	}
	return filepath.Join(l.dir, name)
}

// Close stops retention, syncs and closes every segment, and closes the store if the Log
// opened it. Later calls return ErrClosed; Close is idempotent and returns nil.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.life.Lock()
	l.done = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.life.Unlock()
	l.wg.Wait()
	l.stopTxnTimers()
	l.coord.Close()
	return l.closeAll()
}

func (l *Log) closeAll() error {
	var errs []error
	for _, t := range l.topics {
		for _, p := range t.parts {
			if err := p.close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if l.ownStore {
		if err := l.st.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("tribus/log: close: %w", errs[0])
	}
	return nil
}

// CreateTopic creates a topic (K1, K2, K8 for the name). Its configuration's zero fields take
// Kafka's defaults.
func (l *Log) CreateTopic(name string, cfg TopicConfig) error {
	if err := validTopicName(name); err != nil {
		return err
	}
	cfg, err := cfg.resolved()
	if err != nil {
		return err
	}
	defer l.topicsChanged() // after the unlock: a pattern may match the new topic (K21)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if _, ok := l.topics[name]; ok {
		return fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	for other := range l.topics {
		if collisionKey(other) == collisionKey(name) {
			return fmt.Errorf("%w: topic %q collides with existing topic %q ('.' and '_' are the same in metric names)",
				ErrInvalidTopic, name, other)
		}
	}
	t := &topic{name: name, cfg: cfg}
	for i := range cfg.Partitions {
		p, err := l.openPartition(t, int32(i))
		if err != nil {
			for _, q := range t.parts {
				q.close()
			}
			return err
		}
		t.parts = append(t.parts, p)
	}
	if err := l.saveTopic(t); err != nil {
		return fmt.Errorf("tribus/log: %w", err)
	}
	l.topics[name] = t
	if l.observed() {
		l.emit(Event{Kind: EventTopicCreated, Topic: name, Count: len(t.parts)})
	}
	return nil
}

// CreatePartitions raises a topic's partition count to total. It can only grow (K7): a total
// not above the current count is [ErrInvalidPartitions] and changes nothing. Existing
// records stay where they are, and keys hash over the new count from now on.
func (l *Log) CreatePartitions(name string, total int) error {
	defer l.topicsChanged() // after the unlock: groups reading name rebalance (K21)
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.topicLocked(name)
	if err != nil {
		return err
	}
	if total <= len(t.parts) {
		return fmt.Errorf("%w: topic %s has %d partitions; the count can only increase", ErrInvalidPartitions, name, len(t.parts))
	}
	parts := slices.Clone(t.parts)
	undo := func() {
		for _, p := range parts[len(t.parts):] {
			p.delete()
		}
	}
	for i := len(parts); i < total; i++ {
		p, err := l.openPartition(t, int32(i))
		if err != nil {
			undo()
			return err
		}
		parts = append(parts, p)
	}
	nt := &topic{name: name, cfg: t.cfg, parts: parts}
	nt.cfg.Partitions = total
	if err := l.saveTopic(nt); err != nil {
		undo()
		return fmt.Errorf("tribus/log: %w", err)
	}
	l.install(nt)
	if l.observed() {
		l.emit(Event{Kind: EventPartitionsCreated, Topic: name, Partition: int32(len(t.parts)), Count: total})
	}
	return nil
}

// install makes t the topic under its name and gives each of its partitions t's
// configuration. Called with mu held.
func (l *Log) install(t *topic) {
	for _, p := range t.parts {
		p.cfg.Store(&t.cfg)
	}
	l.topics[t.name] = t
}

// AlterTopicConfig changes a topic's configuration: alter is called with the current one
// and edits it in place; the result is resolved (zero fields take Kafka's defaults, as in
// CreateTopic), checked and saved, and applies from then on: max.message.bytes and the
// timestamp type to the next append, segment settings to the next roll, retention and
// compaction settings to their next pass. The partition count cannot change here
// ([Log.CreatePartitions] does that). An error from alter, or an invalid result
// ([ErrInvalidConfig]), changes nothing. Alters of one topic are serialised, so a
// read-modify-write in alter loses no concurrent change.
func (l *Log) AlterTopicConfig(name string, alter func(*TopicConfig) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.topicLocked(name)
	if err != nil {
		return err
	}
	cfg := t.cfg
	if err := alter(&cfg); err != nil {
		return err
	}
	if cfg.Partitions != t.cfg.Partitions {
		return fmt.Errorf("%w: topic %s: the partition count is changed by CreatePartitions, not by a config change", ErrInvalidConfig, name)
	}
	cfg, err = cfg.resolved()
	if err != nil {
		return err
	}
	nt := &topic{name: name, cfg: cfg, parts: t.parts}
	if err := l.saveTopic(nt); err != nil {
		return fmt.Errorf("tribus/log: %w", err)
	}
	l.install(nt)
	if l.observed() {
		l.emit(Event{Kind: EventTopicConfigChanged, Topic: name})
	}
	return nil
}

// DeleteTopic deletes a topic and its data.
func (l *Log) DeleteTopic(name string) error {
	defer l.topicsChanged() // after the unlock
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.topicLocked(name)
	if err != nil {
		return err
	}
	delete(l.topics, name)
	for _, p := range t.parts {
		p.delete()
	}
	if l.observed() {
		// The topic is gone from here on, whatever the store says below; the offsets
		// dropped with it follow before the lock is released.
		defer l.emit(Event{Kind: EventTopicDeleted, Topic: name, Count: len(t.parts)})
	}
	if err := l.dropTopicOffsets(name); err != nil {
		return err
	}
	return l.st.Update(func(tx *store.Tx) error {
		// A topic created later under the same name must not inherit the partitions' log
		// start offsets or cleaner checkpoints.
		for _, bkt := range []string{bktStarts, bktCleaner} {
			if b := tx.Bucket(store.BucketLog, bkt); b != nil {
				for _, p := range t.parts {
					if err := b.Delete([]byte(p.name())); err != nil {
						return err
					}
				}
			}
		}
		return tx.Bucket(store.BucketLog, bktTopics).Delete([]byte(name))
	})
}

// Topics returns the topic names, sorted.
func (l *Log) Topics() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Sorted(maps.Keys(l.topics))
}

// PartitionInfo describes one partition.
type PartitionInfo struct {
	Partition int32
	// StartOffset is the log start offset: the first offset still readable (K32).
	StartOffset int64
	// EndOffset is the log end offset, the next offset to be written: also the high watermark
	// (one broker, every acknowledged record is durable).
	EndOffset int64
	// LastStableOffset is where read_committed consumers stop: the first offset of the
	// earliest transaction not yet committed or aborted, or EndOffset if there is none (K43).
	LastStableOffset int64
	Segments         int
	Size             int64 // bytes of its segments
}

// TopicInfo describes a topic: its resolved configuration and partitions.
type TopicInfo struct {
	Name       string
	Config     TopicConfig
	Partitions []PartitionInfo
}

// DescribeTopic returns a topic's configuration and partitions.
func (l *Log) DescribeTopic(name string) (TopicInfo, error) {
	t, err := l.topic(name)
	if err != nil {
		return TopicInfo{}, err
	}
	info := TopicInfo{Name: t.name, Config: t.cfg}
	for _, p := range t.parts {
		info.Partitions = append(info.Partitions, p.info())
	}
	return info, nil
}

func (l *Log) topic(name string) (*topic, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.topicLocked(name)
}

// topicLocked returns the topic name, ErrClosed or ErrUnknownTopic. Called with mu held
// (read or write).
func (l *Log) topicLocked(name string) (*topic, error) {
	if l.closed {
		return nil, ErrClosed
	}
	t := l.topics[name]
	if t == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return t, nil
}

func (l *Log) partition(topicName string, p int32) (*partition, error) {
	t, err := l.topic(topicName)
	if err != nil {
		return nil, err
	}
	if p < 0 || int(p) >= len(t.parts) {
		return nil, fmt.Errorf("%w: %s-%d (the topic has %d partitions)", ErrUnknownTopic, topicName, p, len(t.parts))
	}
	return t.parts[p], nil
}

// scheduleRetention arms the retention timer; each run re-arms it.
func (l *Log) scheduleRetention() {
	l.life.Lock()
	defer l.life.Unlock()
	if l.done {
		return
	}
	l.timer = l.afterFunc(l.every, func() {
		l.RunRetention()
		l.scheduleRetention()
	})
}

// afterFunc is time.AfterFunc whose callback does nothing once the Log is closed, and which
// Close waits for while it runs: the one way the Log's own timers are armed.
func (l *Log) afterFunc(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() {
		l.life.Lock()
		if l.done {
			l.life.Unlock()
			return
		}
		l.wg.Add(1)
		l.life.Unlock()
		defer l.wg.Done()
		fn()
	})
}

// stopTimer stops *t, if armed, and clears it.
func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// RunRetention applies retention (and rolls segments past their age) on every partition now,
// then compacts every partition of a compacted topic that is due (K35–K38), and expires the
// committed offsets of groups empty for longer than Options.OffsetsRetention (K18), as the
// periodic check does. Tests call it to skip the wait. Errors are logged, not returned: a partition
// that fails is tried again at the next run.
func (l *Log) RunRetention() {
	l.mu.RLock()
	var parts []*partition
	for _, t := range l.topics {
		parts = append(parts, t.parts...)
	}
	l.mu.RUnlock()
	now := time.Now()
	for _, p := range parts {
		if err := p.retain(now); err != nil {
			l.logger.Error("tribus/log: retention", "partition", p.name(), "err", err)
		}
		if err := p.compact(now); err != nil {
			l.logger.Error("tribus/log: compaction", "partition", p.name(), "err", err)
		}
	}
	if err := l.expireGroupOffsets(now); err != nil && !errors.Is(err, ErrClosed) {
		l.logger.Error("tribus/log: offsets retention", "err", err)
	}
}
