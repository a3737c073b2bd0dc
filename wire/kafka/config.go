package kafka

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tribusmq/tribus/log"
	"github.com/twmb/franz-go/pkg/kmsg"
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
// kept on one disk (replication, flushing, preallocation): they are accepted and ignored, so
// that tools setting them work, and described with Kafka's default value and type.
var acceptedConfigs = map[string]acceptedConfig{
	"min.insync.replicas":                     {"1", kmsg.ConfigTypeInt},
	"unclean.leader.election.enable":          {"false", kmsg.ConfigTypeBoolean},
	"compression.type":                        {"producer", kmsg.ConfigTypeString},
	"preallocate":                             {"false", kmsg.ConfigTypeBoolean},
	"flush.messages":                          {"9223372036854775807", kmsg.ConfigTypeLong},
	"flush.ms":                                {"9223372036854775807", kmsg.ConfigTypeLong},
	"index.interval.bytes":                    {"4096", kmsg.ConfigTypeInt},
	"segment.index.bytes":                     {"10485760", kmsg.ConfigTypeInt},
	"segment.jitter.ms":                       {"0", kmsg.ConfigTypeLong},
	"file.delete.delay.ms":                    {"60000", kmsg.ConfigTypeLong},
	"message.downconversion.enable":           {"true", kmsg.ConfigTypeBoolean},
	"leader.replication.throttled.replicas":   {"", kmsg.ConfigTypeList},
	"follower.replication.throttled.replicas": {"", kmsg.ConfigTypeList},
	"message.timestamp.difference.max.ms":     {"9223372036854775807", kmsg.ConfigTypeLong},
}

type acceptedConfig struct {
	value string
	typ   kmsg.ConfigType
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

// configEntry is one configuration as Kafka describes it.
type configEntry struct {
	name, value string
	source      kmsg.ConfigSource
	typ         kmsg.ConfigType
	readOnly    bool
	// synonym is the broker configuration that gives a topic configuration its default,
	// with that default; "" for none.
	synonym, synonymValue string
}

// topicConfigInfo is, per topic configuration the log implements, its type and the broker
// configuration that sets its default (Kafka's synonyms).
var topicConfigInfo = map[string]struct {
	typ     kmsg.ConfigType
	synonym string
}{
	cfgCleanupPolicy:          {kmsg.ConfigTypeList, "log.cleanup.policy"},
	cfgRetentionMs:            {kmsg.ConfigTypeLong, "log.retention.ms"},
	cfgRetentionBytes:         {kmsg.ConfigTypeLong, "log.retention.bytes"},
	cfgSegmentBytes:           {kmsg.ConfigTypeInt, "log.segment.bytes"},
	cfgSegmentMs:              {kmsg.ConfigTypeLong, "log.roll.ms"},
	cfgMaxMessageBytes:        {kmsg.ConfigTypeInt, "message.max.bytes"},
	cfgTimestampType:          {kmsg.ConfigTypeString, "log.message.timestamp.type"},
	cfgMinCleanableDirtyRatio: {kmsg.ConfigTypeDouble, "log.cleaner.min.cleanable.ratio"},
	cfgMinCompactionLagMs:     {kmsg.ConfigTypeLong, "log.cleaner.min.compaction.lag.ms"},
	cfgMaxCompactionLagMs:     {kmsg.ConfigTypeLong, "log.cleaner.max.compaction.lag.ms"},
	cfgDeleteRetentionMs:      {kmsg.ConfigTypeLong, "log.cleaner.delete.retention.ms"},
}

// topicConfigs returns cfg (a resolved configuration) in Kafka's names, units and types,
// sorted by name. A value equal to the broker's default is described as the default
// (DEFAULT_CONFIG), any other as the topic's own (DYNAMIC_TOPIC_CONFIG): the log keeps
// values, not whether they were set, so a value set to the default reads as not set.
func topicConfigs(cfg log.TopicConfig) []configEntry {
	var out []configEntry
	defaults := topicConfigValues(log.TopicConfig{Partitions: 1})
	for name, v := range topicConfigValues(cfg) {
		info := topicConfigInfo[name]
		e := configEntry{name: name, value: v, source: kmsg.ConfigSourceDynamicTopicConfig, typ: info.typ,
			synonym: info.synonym, synonymValue: defaults[name]}
		if v == defaults[name] {
			e.source = kmsg.ConfigSourceDefaultConfig
		}
		out = append(out, e)
	}
	for name, a := range acceptedConfigs {
		out = append(out, configEntry{name: name, value: a.value, source: kmsg.ConfigSourceDefaultConfig, typ: a.typ})
	}
	slices.SortFunc(out, func(a, b configEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// topicConfigValues returns the values of cfg's configurations in Kafka's names and units;
// cfg is resolved, or the zero config, which stands for the defaults.
func topicConfigValues(cfg log.TopicConfig) map[string]string {
	if r, err := cfg.Resolved(); err == nil {
		cfg = r
	}
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
	ratio := max(cfg.MinCleanableDirtyRatio, 0)
	del := max(cfg.DeleteRetention, 0)
	return map[string]string{
		cfgCleanupPolicy:          cfg.CleanupPolicy,
		cfgRetentionMs:            msStr(cfg.RetentionTime),
		cfgRetentionBytes:         strconv.FormatInt(cfg.RetentionBytes, 10),
		cfgSegmentBytes:           strconv.FormatInt(cfg.SegmentBytes, 10),
		cfgSegmentMs:              msStr(cfg.SegmentAge),
		cfgMaxMessageBytes:        strconv.Itoa(cfg.MaxMessageBytes),
		cfgTimestampType:          cfg.TimestampType,
		cfgMinCleanableDirtyRatio: strconv.FormatFloat(ratio, 'g', -1, 64),
		cfgMinCompactionLagMs:     msStr(cfg.MinCompactionLag),
		cfgMaxCompactionLagMs:     maxLag,
		cfgDeleteRetentionMs:      msStr(del),
	}
}

// errInvalidRequest is a request Kafka refuses as malformed or unsupported
// (INVALID_REQUEST): a config operation it does not know, a config named twice, a broker
// config change.
var errInvalidRequest = errors.New("tribus/kafka: invalid request")

// errPolicyViolation is a request Kafka's policies refuse (POLICY_VIOLATION).
var errPolicyViolation = errors.New("tribus/kafka: policy violation")

// brokerConfigs returns the broker's configuration as DescribeConfigs describes it: read
// only (the server's Options set it at start), a value differing from Kafka's default
// described as set in the broker's static configuration.
func (s *Server) brokerConfigs() []configEntry {
	entry := func(name, value, kafkaDefault string, typ kmsg.ConfigType) configEntry {
		e := configEntry{name: name, value: value, source: kmsg.ConfigSourceStaticBrokerConfig, typ: typ, readOnly: true}
		if value == kafkaDefault {
			e.source = kmsg.ConfigSourceDefaultConfig
		}
		return e
	}
	maxConns := strconv.Itoa(min(s.opts.MaxConnections, math.MaxInt32)) // no limit: Kafka's MaxInt32
	out := []configEntry{
		entry("broker.id", strconv.Itoa(NodeID), "-1", kmsg.ConfigTypeInt),
		entry("auto.create.topics.enable", strconv.FormatBool(!s.opts.DisableAutoCreateTopics), "true", kmsg.ConfigTypeBoolean),
		entry("num.partitions", strconv.Itoa(s.opts.DefaultPartitions), "1", kmsg.ConfigTypeInt),
		entry("default.replication.factor", "1", "1", kmsg.ConfigTypeInt),
		entry("offsets.topic.replication.factor", "1", "3", kmsg.ConfigTypeShort),
		entry("transaction.state.log.replication.factor", "1", "3", kmsg.ConfigTypeShort),
		entry("socket.request.max.bytes", strconv.Itoa(int(s.opts.MaxRequestSize)), strconv.Itoa(DefaultMaxRequestSize), kmsg.ConfigTypeInt),
		entry("max.connections", maxConns, strconv.Itoa(math.MaxInt32), kmsg.ConfigTypeInt),
	}
	// The broker-level defaults of the topic configurations.
	for _, e := range topicConfigs(log.TopicConfig{}) {
		if e.synonym != "" {
			out = append(out, entry(e.synonym, e.synonymValue, e.synonymValue, e.typ))
		}
	}
	slices.SortFunc(out, func(a, b configEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// describeConfigs returns a resource's configuration, or why it cannot be described.
func (s *Server) describeConfigs(typ int8, name string) ([]configEntry, error) {
	switch kmsg.ConfigResourceType(typ) {
	case kmsg.ConfigResourceTypeTopic:
		info, err := s.log.DescribeTopic(name)
		if err != nil {
			return nil, err
		}
		return topicConfigs(info.Config), nil
	case kmsg.ConfigResourceTypeBroker:
		if err := s.checkBroker(name); err != nil {
			return nil, err
		}
		return s.brokerConfigs(), nil
	}
	return nil, fmt.Errorf("%w: resource type %d has no configs here (topics and brokers do)", errInvalidRequest, typ)
}

// checkBroker accepts a broker resource's name: this broker's id, or "" (the cluster-wide
// default, which on one broker is the same).
func (s *Server) checkBroker(name string) error {
	if name != "" && name != strconv.Itoa(NodeID) {
		return fmt.Errorf("%w: unexpected broker id %q, expected %d or empty string", errInvalidRequest, name, NodeID)
	}
	return nil
}

func serveDescribeConfigs(c *conn, req *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		r := kmsg.NewDescribeConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		entries, err := c.s.describeConfigs(int8(rr.ResourceType), rr.ResourceName)
		r.ErrorCode, r.ErrorMessage = errorCode(err), errorMessage(err)
		for _, e := range entries {
			// Names asked for that do not exist are left out, as in Kafka; nil asks for all.
			if rr.ConfigNames != nil && !slices.Contains(rr.ConfigNames, e.name) {
				continue
			}
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name, rc.Value, rc.ReadOnly, rc.Source, rc.ConfigType = e.name, kmsg.StringPtr(e.value), e.readOnly, e.source, e.typ
			rc.IsDefault = e.source == kmsg.ConfigSourceDefaultConfig
			if req.IncludeSynonyms {
				// In order of precedence: the topic's own value, then the broker's default.
				if e.synonym == "" || e.source != kmsg.ConfigSourceDefaultConfig {
					rc.ConfigSynonyms = append(rc.ConfigSynonyms, synonym(e.name, e.value, e.source))
				}
				if e.synonym != "" {
					rc.ConfigSynonyms = append(rc.ConfigSynonyms, synonym(e.synonym, e.synonymValue, kmsg.ConfigSourceDefaultConfig))
				}
			}
			r.Configs = append(r.Configs, rc)
		}
		resp.Resources = append(resp.Resources, r)
	}
	return resp
}

func synonym(name, value string, source kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, kmsg.StringPtr(value), source
	return s
}

// configOp is one change asked of a topic's configuration: op is an
// IncrementalAlterConfigs operation; AlterConfigs sets.
type configOp struct {
	name  string
	op    kmsg.IncrementalAlterConfigOp
	value *string
}

// alterConfigs applies ops to a resource, all or none. replace starts from the defaults
// rather than the current configuration (AlterConfigs: the ops are the whole set of
// overrides); validateOnly checks without changing anything.
func (s *Server) alterConfigs(typ int8, name string, ops []configOp, replace, validateOnly bool) error {
	switch kmsg.ConfigResourceType(typ) {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeBroker:
		if err := s.checkBroker(name); err != nil {
			return err
		}
		return fmt.Errorf("%w: the broker's configs are set by the server's options and cannot be changed while it runs", errInvalidRequest)
	default:
		return fmt.Errorf("%w: resource type %d has no configs here (topics and brokers do)", errInvalidRequest, typ)
	}
	seen := map[string]bool{}
	for _, o := range ops {
		if seen[o.name] {
			return fmt.Errorf("%w: config %q appears more than once", errInvalidRequest, o.name)
		}
		seen[o.name] = true
	}
	apply := func(cfg *log.TopicConfig) error {
		if replace {
			*cfg = log.TopicConfig{Partitions: cfg.Partitions}
		}
		for _, o := range ops {
			if err := applyConfigOp(cfg, o); err != nil {
				return err
			}
		}
		return nil
	}
	if !validateOnly {
		return s.log.AlterTopicConfig(name, apply)
	}
	info, err := s.log.DescribeTopic(name)
	if err != nil {
		return err
	}
	cfg := info.Config
	if err := apply(&cfg); err != nil {
		return err
	}
	_, err = cfg.Resolved()
	return err
}

// applyConfigOp applies one operation to cfg. APPEND and SUBTRACT are for list
// configurations only (cleanup.policy), as in Kafka.
func applyConfigOp(cfg *log.TopicConfig, o configOp) error {
	switch o.op {
	case kmsg.IncrementalAlterConfigOpSet:
		if o.value == nil {
			return fmt.Errorf("%w: null value for config %q", errInvalidRequest, o.name)
		}
		return setConfig(cfg, o.name, o.value)
	case kmsg.IncrementalAlterConfigOpDelete:
		return setConfig(cfg, o.name, nil)
	case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		if topicConfigInfo[o.name].typ != kmsg.ConfigTypeList {
			if _, ok := acceptedConfigs[o.name]; !ok || acceptedConfigs[o.name].typ != kmsg.ConfigTypeList {
				return fmt.Errorf("%w: config %q is not a list: it cannot be appended to or subtracted from", log.ErrInvalidConfig, o.name)
			}
			return nil // an ignored list config: accepted, as its setting is
		}
		var items []string
		if cfg.CleanupPolicy != "" {
			items = strings.Split(cfg.CleanupPolicy, ",")
		}
		for _, v := range strings.Split(stringOr(o.value, ""), ",") {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
			case o.op == kmsg.IncrementalAlterConfigOpAppend && !slices.Contains(items, v):
				items = append(items, v)
			case o.op == kmsg.IncrementalAlterConfigOpSubtract:
				items = slices.DeleteFunc(items, func(s string) bool { return s == v })
			}
		}
		if len(items) == 0 {
			return fmt.Errorf("%w: %s cannot be an empty list", log.ErrInvalidConfig, o.name)
		}
		v := strings.Join(items, ",")
		return setConfig(cfg, o.name, &v)
	}
	return fmt.Errorf("%w: unknown config operation %d", errInvalidRequest, o.op)
}

func stringOr(p *string, or string) string {
	if p == nil {
		return or
	}
	return *p
}

func serveIncrementalAlterConfigs(c *conn, req *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range req.Resources {
		ops := make([]configOp, len(rr.Configs))
		for i, rc := range rr.Configs {
			ops[i] = configOp{rc.Name, rc.Op, rc.Value}
		}
		err := c.s.alterConfigs(int8(rr.ResourceType), rr.ResourceName, ops, false, req.ValidateOnly)
		r := kmsg.NewIncrementalAlterConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		r.ErrorCode, r.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, r)
	}
	return resp
}

func serveAlterConfigs(c *conn, req *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range req.Resources {
		ops := make([]configOp, len(rr.Configs))
		for i, rc := range rr.Configs {
			ops[i] = configOp{rc.Name, kmsg.IncrementalAlterConfigOpSet, rc.Value}
		}
		err := c.s.alterConfigs(int8(rr.ResourceType), rr.ResourceName, ops, true, req.ValidateOnly)
		r := kmsg.NewAlterConfigsResponseResource()
		r.ResourceType, r.ResourceName = rr.ResourceType, rr.ResourceName
		r.ErrorCode, r.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, r)
	}
	return resp
}
