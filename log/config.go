package log

import (
	"fmt"
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
)

// TopicConfig is a topic's configuration. The zero value of every field means Kafka's default.
type TopicConfig struct {
	// Partitions is the number of partitions; 0 means 1.
	Partitions int
	// SegmentBytes (segment.bytes): a segment rolls when an append would make it larger.
	// 0 means 1 GiB.
	SegmentBytes int64
	// SegmentAge (segment.ms): a segment rolls once this much time has passed since its first
	// record was written. 0 means 7 days.
	SegmentAge time.Duration
	// RetentionTime (retention.ms): a segment is deleted once its largest record timestamp is
	// older than this (K31, K33). 0 means 7 days; negative means forever.
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
}

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
	if c.SegmentBytes < 14 {
		return c, fmt.Errorf("%w: segment.bytes %d is below 14", ErrInvalidConfig, c.SegmentBytes)
	}
	if c.SegmentAge == 0 {
		c.SegmentAge = DefaultSegmentAge
	}
	if c.RetentionTime == 0 {
		c.RetentionTime = DefaultRetentionTime
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
