package kafka

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tribusmq/tribus/log"
)

// Topic configuration names (Kafka's TopicConfig) the log implements.
const (
	cfgCleanupPolicy          = "cleanup.policy"
	cfgRetentionMs            = "retention.ms"
	cfgRetentionBytes         = "retention.bytes"
	cfgSegmentBytes           = "segment.bytes"
	cfgSegmentMs              = "segment.ms"
	cfgMaxMessageBytes        = "max.message.bytes"
	cfgTimestampType          = "message.timestamp.type"
	cfgMinCleanableDirtyRatio = "min.cleanable.dirty.ratio"
	cfgMinCompactionLagMs     = "min.compaction.lag.ms"
	cfgMaxCompactionLagMs     = "max.compaction.lag.ms"
	cfgDeleteRetentionMs      = "delete.retention.ms"
)

// acceptedConfigs are Kafka topic configurations that mean nothing for a single-broker log
// kept on one disk (replication, flushing, preallocation): they are accepted with Kafka's
// default value and ignored, so that tools setting them work.
var acceptedConfigs = map[string]string{
	"min.insync.replicas":                     "1",
	"unclean.leader.election.enable":          "false",
	"compression.type":                        "producer",
	"preallocate":                             "false",
	"flush.messages":                          "9223372036854775807",
	"flush.ms":                                "9223372036854775807",
	"index.interval.bytes":                    "4096",
	"segment.index.bytes":                     "10485760",
	"segment.jitter.ms":                       "0",
	"file.delete.delay.ms":                    "60000",
	"message.downconversion.enable":           "true",
	"leader.replication.throttled.replicas":   "",
	"follower.replication.throttled.replicas": "",
	"message.timestamp.difference.max.ms":     "9223372036854775807",
}

// setConfig applies one Kafka topic configuration to cfg. value nil resets it to the
// default. An unknown name, or a value out of the config's type, is log.ErrInvalidConfig;
// ranges are the log's to check.
func setConfig(cfg *log.TopicConfig, name string, value *string) error {
	if value == nil {
		return setConfig(cfg, name, new(string))
	}
	v := *value
	num := func() (int64, error) {
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s=%q is not a number", log.ErrInvalidConfig, name, v)
		}
		return n, nil
	}
	ms := func() (time.Duration, error) {
		n, err := num()
		if err != nil || n > math.MaxInt64/int64(time.Millisecond) {
			return -1, err
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	var err error
	switch name {
	case cfgCleanupPolicy:
		cfg.CleanupPolicy = v
	case cfgTimestampType:
		cfg.TimestampType = v
	case cfgRetentionMs:
		if cfg.RetentionTime, err = ms(); err == nil && cfg.RetentionTime == 0 && v != "" {
			cfg.RetentionTime = time.Nanosecond // Kafka's 0: nothing is kept
		}
	case cfgRetentionBytes:
		var n int64
		if n, err = num(); err == nil && n == 0 && v != "" {
			n = 1 // Kafka's 0: only the active segment is kept
		}
		cfg.RetentionBytes = n
	case cfgSegmentBytes:
		cfg.SegmentBytes, err = num()
	case cfgSegmentMs:
		cfg.SegmentAge, err = ms()
	case cfgMaxMessageBytes:
		var n int64
		n, err = num()
		if n > math.MaxInt32 || n < 0 {
			err = fmt.Errorf("%w: %s=%d", log.ErrInvalidConfig, name, n)
		}
		cfg.MaxMessageBytes = int(n)
	case cfgMinCleanableDirtyRatio:
		var f float64
		if v != "" {
			if f, err = strconv.ParseFloat(v, 64); err != nil {
				err = fmt.Errorf("%w: %s=%q is not a number", log.ErrInvalidConfig, name, v)
			} else if f == 0 {
				f = -1 // Kafka's 0: compact whenever anything is dirty
			}
		}
		cfg.MinCleanableDirtyRatio = f
	case cfgMinCompactionLagMs:
		cfg.MinCompactionLag, err = ms()
	case cfgMaxCompactionLagMs:
		if cfg.MaxCompactionLag, err = ms(); v == strconv.FormatInt(math.MaxInt64, 10) {
			cfg.MaxCompactionLag, err = 0, nil
		}
	case cfgDeleteRetentionMs:
		if cfg.DeleteRetention, err = ms(); err == nil && cfg.DeleteRetention == 0 && v != "" {
			cfg.DeleteRetention = -1 // Kafka's 0: the next compaction removes tombstones
		}
	default:
		if _, ok := acceptedConfigs[name]; !ok {
			return fmt.Errorf("%w: unknown topic config name %q", log.ErrInvalidConfig, name)
		}
	}
	return err
}

// configEntry is one topic configuration as Kafka describes it.
type configEntry struct {
	name, value string
	isDefault   bool
}

// topicConfigs returns cfg (a resolved configuration) in Kafka's names and units, with
// whether each value is the default.
func topicConfigs(cfg log.TopicConfig) []configEntry {
	msStr := func(d time.Duration) string {
		if d < 0 {
			return "-1"
		}
		return strconv.FormatInt(d.Milliseconds(), 10)
	}
	maxLag := strconv.FormatInt(math.MaxInt64, 10)
	if cfg.MaxCompactionLag > 0 {
		maxLag = msStr(cfg.MaxCompactionLag)
	}
	ratio := cfg.MinCleanableDirtyRatio
	if ratio < 0 {
		ratio = 0
	}
	del := cfg.DeleteRetention
	if del < 0 {
		del = 0
	}
	out := []configEntry{
		{cfgCleanupPolicy, cfg.CleanupPolicy, cfg.CleanupPolicy == log.CleanupDelete},
		{cfgRetentionMs, msStr(cfg.RetentionTime), cfg.RetentionTime == log.DefaultRetentionTime},
		{cfgRetentionBytes, strconv.FormatInt(cfg.RetentionBytes, 10), cfg.RetentionBytes < 0},
		{cfgSegmentBytes, strconv.FormatInt(cfg.SegmentBytes, 10), cfg.SegmentBytes == log.DefaultSegmentBytes},
		{cfgSegmentMs, msStr(cfg.SegmentAge), cfg.SegmentAge == log.DefaultSegmentAge},
		{cfgMaxMessageBytes, strconv.Itoa(cfg.MaxMessageBytes), cfg.MaxMessageBytes == log.DefaultMaxMessageBytes},
		{cfgTimestampType, cfg.TimestampType, cfg.TimestampType == log.CreateTime},
		{cfgMinCleanableDirtyRatio, strconv.FormatFloat(ratio, 'g', -1, 64), ratio == log.DefaultMinCleanableDirtyRatio},
		{cfgMinCompactionLagMs, msStr(cfg.MinCompactionLag), cfg.MinCompactionLag == 0},
		{cfgMaxCompactionLagMs, maxLag, cfg.MaxCompactionLag <= 0},
		{cfgDeleteRetentionMs, msStr(del), del == log.DefaultDeleteRetention},
	}
	for name, v := range acceptedConfigs {
		out = append(out, configEntry{name, v, true})
	}
	slices.SortFunc(out, func(a, b configEntry) int { return strings.Compare(a.name, b.name) })
	return out
}
