package log

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Cleanup policies (cleanup.policy).
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

// Timestamp types (message.timestamp.type, K11).
const (
	CreateTime    = "CreateTime"
	LogAppendTime = "LogAppendTime"
)

// Kafka's topic defaults (SEMANTICS.md §2.5).
const (
	DefaultSegmentBytes    = 1 << 30
	DefaultSegmentAge      = 7 * 24 * time.Hour
	DefaultRetentionTime   = 7 * 24 * time.Hour
	DefaultMaxMessageBytes = 1048588
	// DefaultMinCleanableDirtyRatio is min.cleanable.dirty.ratio's default (K37).
	DefaultMinCleanableDirtyRatio = 0.5
	// DefaultDeleteRetention is delete.retention.ms's default: how long a tombstone outlives
	// its first compaction (K36).
	DefaultDeleteRetention = 24 * time.Hour
)

// TopicConfig is a topic's configuration. The zero value of every field means Kafka's default.
type TopicConfig struct {
	// Partitions is the number of partitions; 0 means 1.
	Partitions int
	// SegmentBytes (segment.bytes): a segment rolls when an append would make it larger.
	// 0 means 1 GiB; it must lie within [14, 2^31-1], as Kafka's int config does.
	SegmentBytes int64
	// SegmentAge (segment.ms): a segment rolls once this much time has passed since its first
	// record was written. 0 means 7 days; below Kafka's minimum of 1 ms is ErrInvalidConfig.
	SegmentAge time.Duration
	// RetentionTime (retention.ms): a segment is deleted once its largest record timestamp is
	// older than this (K31, K33). 0 means 7 days; -1 (or -time.Millisecond, Kafka's -1 ms)
	// means forever; any other negative value is ErrInvalidConfig, as Kafka's atLeast(-1).
	RetentionTime time.Duration
	// RetentionBytes (retention.bytes): per partition, whole segments are deleted while the
	// log stays at least this big without them. 0 or negative means unlimited (Kafka's -1).
	RetentionBytes int64
	// CleanupPolicy (cleanup.policy): "delete" (default), "compact", or "compact,delete".
	CleanupPolicy string
	// MaxMessageBytes (max.message.bytes): the largest batch accepted. 0 means 1048588.
	MaxMessageBytes int
	// TimestampType (message.timestamp.type): CreateTime (default) or LogAppendTime (K11).
	TimestampType string

	// The fields below apply only when CleanupPolicy includes "compact" (K35–K38). A config
	// saved before they existed loads with their defaults.

	// MinCleanableDirtyRatio (min.cleanable.dirty.ratio): a partition is compacted once the
	// dirty bytes (written since its last compaction) are at least this fraction of its
	// cleanable bytes (K37). 0 means 0.5; negative means compact whenever anything is dirty
	// (Kafka's 0); above 1 is ErrInvalidConfig.
	MinCleanableDirtyRatio float64
	// MinCompactionLag (min.compaction.lag.ms): a segment holding a record younger than this
	// (by record timestamp) is not compacted yet (K37). 0, the default, means no lag;
	// negative is ErrInvalidConfig.
	MinCompactionLag time.Duration
	// MaxCompactionLag (max.compaction.lag.ms): a dirty record older than this (by record
	// timestamp) makes the partition due for compaction whatever its dirty ratio, and the
	// active segment rolls once it is this old, as with SegmentAge, so that it can be
	// compacted (K37, KIP-354). 0 or negative means never (Kafka's Long.MAX_VALUE); stored as
	// -1. It must not be below MinCompactionLag.
	MaxCompactionLag time.Duration
	// DeleteRetention (delete.retention.ms): a tombstone (a keyed record with a nil Value) is
	// removed by the first compaction that runs this long after the compaction that first saw
	// it (K36, KIP-534). 0 means 1 day; negative means 0: the next compaction removes it.
	DeleteRetention time.Duration
}

// Resolved returns c as [Log.CreateTopic] and [Log.AlterTopicConfig] would keep it, its
// zero fields set to Kafka's defaults, or an [ErrInvalidConfig] saying which value is out
// of range (the configuration those calls would refuse). It changes nothing.
func (c TopicConfig) Resolved() (TopicConfig, error) { return c.resolved() }

// resolved returns the configuration with defaults filled in, or why it is invalid.
func (c TopicConfig) resolved() (TopicConfig, error) {
	if c.Partitions < 0 || c.SegmentBytes < 0 || c.SegmentAge < 0 || c.MaxMessageBytes < 0 {
		return c, fmt.Errorf("%w: negative value in %+v", ErrInvalidConfig, c)
	}
	if c.Partitions == 0 {
		c.Partitions = 1
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentBytes < 14 || c.SegmentBytes > math.MaxInt32 {
		// Kafka's segment.bytes is an INT, at least 14; here the indexes' 32-bit positions
		// could not address more, and appends past 2 GiB would fail instead of rolling.
		return c, fmt.Errorf("%w: segment.bytes %d is not within [14, %d]", ErrInvalidConfig, c.SegmentBytes, math.MaxInt32)
	}
	switch {
	case c.SegmentAge == 0:
		c.SegmentAge = DefaultSegmentAge
	case c.SegmentAge < time.Millisecond:
		return c, fmt.Errorf("%w: segment.ms %v is below 1 ms", ErrInvalidConfig, c.SegmentAge)
	}
	switch c.RetentionTime {
	case 0:
		c.RetentionTime = DefaultRetentionTime
	case -1, -time.Millisecond:
		c.RetentionTime = -1
	default:
		if c.RetentionTime < 0 {
			return c, fmt.Errorf("%w: retention.ms %v: only -1 means unlimited", ErrInvalidConfig, c.RetentionTime)
		}
	}
	if c.RetentionBytes <= 0 {
		c.RetentionBytes = -1
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxMessageBytes > batchMaxLength {
		// The batch reader refuses anything longer, so recovery would cut it away.
		return c, fmt.Errorf("%w: max.message.bytes %d is above the %d a batch can hold", ErrInvalidConfig, c.MaxMessageBytes, batchMaxLength)
	}
	switch c.CleanupPolicy {
	case "":
		c.CleanupPolicy = CleanupDelete
	case CleanupDelete, CleanupCompact, "compact,delete", "delete,compact":
	default:
		return c, fmt.Errorf("%w: cleanup.policy %q", ErrInvalidConfig, c.CleanupPolicy)
	}
	switch {
	case math.IsNaN(c.MinCleanableDirtyRatio) || c.MinCleanableDirtyRatio > 1:
		return c, fmt.Errorf("%w: min.cleanable.dirty.ratio %v is not within [0, 1]", ErrInvalidConfig, c.MinCleanableDirtyRatio)
	case c.MinCleanableDirtyRatio == 0:
		c.MinCleanableDirtyRatio = DefaultMinCleanableDirtyRatio
	case c.MinCleanableDirtyRatio < 0:
		c.MinCleanableDirtyRatio = -1
	}
	if c.MinCompactionLag < 0 {
		return c, fmt.Errorf("%w: min.compaction.lag.ms %v is negative", ErrInvalidConfig, c.MinCompactionLag)
	}
	if c.MaxCompactionLag <= 0 {
		c.MaxCompactionLag = -1
	} else if c.MaxCompactionLag < c.MinCompactionLag {
		return c, fmt.Errorf("%w: max.compaction.lag.ms %v is below min.compaction.lag.ms %v",
			ErrInvalidConfig, c.MaxCompactionLag, c.MinCompactionLag)
	}
	switch {
	case c.DeleteRetention == 0:
		c.DeleteRetention = DefaultDeleteRetention
	case c.DeleteRetention < 0:
		c.DeleteRetention = -1
	}
	switch c.TimestampType {
	case "":
		c.TimestampType = CreateTime
	case CreateTime, LogAppendTime:
	default:
		return c, fmt.Errorf("%w: message.timestamp.type %q", ErrInvalidConfig, c.TimestampType)
	}
	return c, nil
}

func (c TopicConfig) deletes() bool  { return strings.Contains(c.CleanupPolicy, CleanupDelete) }
func (c TopicConfig) compacts() bool { return strings.Contains(c.CleanupPolicy, CleanupCompact) }

// rollAge is how old the active segment may grow: segment.ms, or max.compaction.lag.ms if that
// is shorter on a compacted topic, so that no record stays dirty longer (KIP-354).
func (c TopicConfig) rollAge() time.Duration {
	if c.compacts() && c.MaxCompactionLag > 0 && c.MaxCompactionLag < c.SegmentAge {
		return c.MaxCompactionLag
	}
	return c.SegmentAge
}

// maxTopicLen is Kafka's limit on topic names (K1).
const maxTopicLen = 249

// validTopicName checks a name against K1 and K8: 1–249 characters of [a-zA-Z0-9._-], not "."
// or "..", and not an internal topic. A name can never reach the file system unchecked.
func validTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: topic name is empty", ErrInvalidTopic)
	case len(name) > maxTopicLen:
		return fmt.Errorf("%w: topic name is %d characters, the limit is %d", ErrInvalidTopic, len(name), maxTopicLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w: topic name cannot be %q", ErrInvalidTopic, name)
	case name == "__consumer_offsets" || name == "__transaction_state":
		return fmt.Errorf("%w: topic name %q is reserved for internal use", ErrInvalidTopic, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: topic name %q contains '%c'; only [a-zA-Z0-9._-] are allowed", ErrInvalidTopic, name, c)
		}
	}
	return nil
}

// collisionKey maps a name to what Kafka's metrics would call it: '.' and '_' are the same
// (K2), so two topics with the same key cannot both exist.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }
