package kafka

import (
	"bufio"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tribusmq/tribus/log"
)

func TestDescribeConfigs_TopicValuesSourcesTypesAndSynonyms(t *testing.T) {
	l, nc := dialTest(t, nil)
	r := bufio.NewReader(nc)
	require.NoError(t, l.CreateTopic("t", log.TopicConfig{RetentionBytes: 4096, CleanupPolicy: "compact,delete"}))

	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	req.Resources = append(req.Resources, rr)
	resp := kmsg.NewPtrDescribeConfigsResponse()
	roundTrip(t, nc, r, req, 4, resp)
	require.Len(t, resp.Resources, 1)
	res := resp.Resources[0]
	require.Equal(t, codeNone, res.ErrorCode)
	byName := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, c := range res.Configs {
		byName[c.Name] = c
	}
	for _, tc := range []struct {
		name, value string
		source      kmsg.ConfigSource
		typ         kmsg.ConfigType
	}{
		{"retention.bytes", "4096", kmsg.ConfigSourceDynamicTopicConfig, kmsg.ConfigTypeLong},
		{"cleanup.policy", "compact,delete", kmsg.ConfigSourceDynamicTopicConfig, kmsg.ConfigTypeList},
		{"retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig, kmsg.ConfigTypeLong},
		{"segment.bytes", "1073741824", kmsg.ConfigSourceDefaultConfig, kmsg.ConfigTypeInt},
		{"min.cleanable.dirty.ratio", "0.5", kmsg.ConfigSourceDefaultConfig, kmsg.ConfigTypeDouble},
		{"min.insync.replicas", "1", kmsg.ConfigSourceDefaultConfig, kmsg.ConfigTypeInt},
	} {
		c, ok := byName[tc.name]
		if !assert.True(t, ok, tc.name) {
			continue
		}
		assert.Equal(t, tc.value, *c.Value, tc.name)
		assert.Equal(t, tc.source, c.Source, tc.name)
		assert.Equal(t, tc.typ, c.ConfigType, tc.name)
		assert.False(t, c.ReadOnly, tc.name)
	}
	syn := byName["retention.bytes"].ConfigSynonyms
	require.Len(t, syn, 2, "the topic's own value, then the broker default")
	assert.Equal(t, "retention.bytes", syn[0].Name)
	assert.Equal(t, "log.retention.bytes", syn[1].Name)
	assert.Equal(t, "-1", *syn[1].Value)
	assert.Equal(t, kmsg.ConfigSourceDefaultConfig, syn[1].Source)

	// Config names filter; a name that does not exist is left out.
	req.IncludeSynonyms = false
	req.Resources[0].ConfigNames = []string{"retention.ms", "no.such.config"}
	resp = kmsg.NewPtrDescribeConfigsResponse()
	roundTrip(t, nc, r, req, 4, resp)
	require.Len(t, resp.Resources[0].Configs, 1)
	assert.Equal(t, "retention.ms", resp.Resources[0].Configs[0].Name)
	assert.Empty(t, resp.Resources[0].Configs[0].ConfigSynonyms)

	// v0 reports IsDefault instead of a source.
	req.Resources[0].ConfigNames = []string{"retention.ms", "retention.bytes"}
	resp = kmsg.NewPtrDescribeConfigsResponse()
	roundTrip(t, nc, r, req, 0, resp)
	require.Len(t, resp.Resources[0].Configs, 2)
	for _, c := range resp.Resources[0].Configs {
		assert.Equal(t, c.Name == "retention.ms", c.IsDefault, c.Name)
	}
}

func TestDescribeConfigs_ResourceErrors(t *testing.T) {
	_, nc := dialTest(t, &Options{DefaultPartitions: 3})
	r := bufio.NewReader(nc)
	for _, tc := range []struct {
		typ  kmsg.ConfigResourceType
		name string
		code int16
	}{
		{kmsg.ConfigResourceTypeTopic, "missing", codeUnknownTopicOrPartition},
		{kmsg.ConfigResourceTypeBroker, "7", codeInvalidRequest},
		{kmsg.ConfigResourceTypeBrokerLogger, "0", codeInvalidRequest},
		{kmsg.ConfigResourceTypeBroker, "0", codeNone},
		{kmsg.ConfigResourceTypeBroker, "", codeNone},
	} {
		req := kmsg.NewPtrDescribeConfigsRequest()
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = tc.typ, tc.name
		req.Resources = append(req.Resources, rr)
		resp := kmsg.NewPtrDescribeConfigsResponse()
		roundTrip(t, nc, r, req, 4, resp)
		require.Len(t, resp.Resources, 1)
		assert.Equal(t, tc.code, resp.Resources[0].ErrorCode, "%v %q", tc.typ, tc.name)
		if tc.code != codeNone {
			assert.Empty(t, resp.Resources[0].Configs)
			continue
		}
		found := false
		for _, c := range resp.Resources[0].Configs {
			assert.True(t, c.ReadOnly, "broker configs cannot be changed: %s", c.Name)
			if c.Name == "num.partitions" {
				found = true
				assert.Equal(t, "3", *c.Value)
				assert.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, c.Source, "set by the options, not Kafka's default")
			}
		}
		assert.True(t, found, "num.partitions is described")
	}
}

func TestIncrementalAlterConfigs_Operations(t *testing.T) {
	str := kmsg.StringPtr
	for _, tc := range []struct {
		name   string
		policy string // the topic's cleanup.policy before; "" for the default
		ops    []configOp
		code   int16
		// check runs on the configuration after the request (the default one on error).
		check func(t *testing.T, cfg log.TopicConfig)
	}{
		{"set", "", []configOp{{"retention.ms", kmsg.IncrementalAlterConfigOpSet, str("60000")}, {"max.message.bytes", kmsg.IncrementalAlterConfigOpSet, str("2048")}}, codeNone,
			func(t *testing.T, cfg log.TopicConfig) {
				assert.Equal(t, int64(60000), cfg.RetentionTime.Milliseconds())
				assert.Equal(t, 2048, cfg.MaxMessageBytes)
			}},
		{"delete resets the default", "", []configOp{{"segment.bytes", kmsg.IncrementalAlterConfigOpDelete, nil}}, codeNone,
			func(t *testing.T, cfg log.TopicConfig) {
				assert.Equal(t, int64(log.DefaultSegmentBytes), cfg.SegmentBytes)
			}},
		{"append to a list", "", []configOp{{"cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, str("compact,delete")}}, codeNone,
			func(t *testing.T, cfg log.TopicConfig) { assert.Equal(t, "delete,compact", cfg.CleanupPolicy) }},
		{"subtract from a list", "compact,delete", []configOp{{"cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, str("delete")}}, codeNone,
			func(t *testing.T, cfg log.TopicConfig) { assert.Equal(t, "compact", cfg.CleanupPolicy) }},
		{"subtract to an empty list", "", []configOp{{"cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, str("delete")}}, codeInvalidConfig, nil},
		{"append to a non-list", "", []configOp{{"retention.ms", kmsg.IncrementalAlterConfigOpAppend, str("1")}}, codeInvalidConfig, nil},
		{"unknown config", "", []configOp{{"retention.minutes.maybe", kmsg.IncrementalAlterConfigOpSet, str("1")}}, codeInvalidConfig, nil},
		{"out of range", "", []configOp{{"segment.bytes", kmsg.IncrementalAlterConfigOpSet, str("10")}}, codeInvalidConfig, nil},
		{"not a number", "", []configOp{{"retention.bytes", kmsg.IncrementalAlterConfigOpSet, str("lots")}}, codeInvalidConfig, nil},
		{"null set", "", []configOp{{"retention.ms", kmsg.IncrementalAlterConfigOpSet, nil}}, codeInvalidRequest, nil},
		{"a name twice", "", []configOp{{"retention.ms", kmsg.IncrementalAlterConfigOpSet, str("1")}, {"retention.ms", kmsg.IncrementalAlterConfigOpDelete, nil}}, codeInvalidRequest, nil},
		{"unknown operation", "", []configOp{{"retention.ms", 9, str("1")}}, codeInvalidRequest, nil},
		{"one bad op changes nothing", "", []configOp{{"retention.ms", kmsg.IncrementalAlterConfigOpSet, str("60000")}, {"segment.bytes", kmsg.IncrementalAlterConfigOpSet, str("10")}}, codeInvalidConfig, nil},
	} {
		for _, validateOnly := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				l, nc := dialTest(t, nil)
				require.NoError(t, l.CreateTopic("t", log.TopicConfig{SegmentBytes: 4096, CleanupPolicy: tc.policy}))
				before, err := l.DescribeTopic("t")
				require.NoError(t, err)
				req := kmsg.NewPtrIncrementalAlterConfigsRequest()
				req.ValidateOnly = validateOnly
				rr := kmsg.NewIncrementalAlterConfigsRequestResource()
				rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
				for _, o := range tc.ops {
					rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
					rc.Name, rc.Op, rc.Value = o.name, o.op, o.value
					rr.Configs = append(rr.Configs, rc)
				}
				req.Resources = append(req.Resources, rr)
				resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
				roundTrip(t, nc, bufio.NewReader(nc), req, 1, resp)
				require.Len(t, resp.Resources, 1)
				assert.Equal(t, tc.code, resp.Resources[0].ErrorCode, "validateOnly=%v: %v", validateOnly, resp.Resources[0].ErrorMessage)
				after, err := l.DescribeTopic("t")
				require.NoError(t, err)
				if tc.code != codeNone || validateOnly {
					assert.Equal(t, before.Config, after.Config, "refused or validated only: nothing changes")
					return
				}
				tc.check(t, after.Config)
			})
		}
	}
}

// AlterConfigs (the API IncrementalAlterConfigs replaced) sets the whole set of overrides:
// what it does not name goes back to the default.
func TestAlterConfigs_ReplacesEveryOverride(t *testing.T) {
	l, nc := dialTest(t, nil)
	require.NoError(t, l.CreateTopic("t", log.TopicConfig{Partitions: 2, SegmentBytes: 4096, RetentionBytes: 1 << 20}))
	req := kmsg.NewPtrAlterConfigsRequest()
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	rc := kmsg.NewAlterConfigsRequestResourceConfig()
	rc.Name, rc.Value = "retention.ms", kmsg.StringPtr("1000")
	rr.Configs = append(rr.Configs, rc)
	req.Resources = append(req.Resources, rr)
	broker := kmsg.NewAlterConfigsRequestResource()
	broker.ResourceType, broker.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	req.Resources = append(req.Resources, broker)
	resp := kmsg.NewPtrAlterConfigsResponse()
	roundTrip(t, nc, bufio.NewReader(nc), req, 2, resp)
	require.Len(t, resp.Resources, 2)
	assert.Equal(t, codeNone, resp.Resources[0].ErrorCode)
	assert.Equal(t, codeInvalidRequest, resp.Resources[1].ErrorCode, "broker configs are read-only here")
	info, err := l.DescribeTopic("t")
	require.NoError(t, err)
	assert.Equal(t, int64(1000), info.Config.RetentionTime.Milliseconds())
	assert.Equal(t, int64(log.DefaultSegmentBytes), info.Config.SegmentBytes, "not named: back to the default")
	assert.Equal(t, 2, info.Config.Partitions, "the partition count is not a config")
}
