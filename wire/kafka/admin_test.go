package kafka

import (
	"bufio"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tribusmq/tribus/log"
)

// KRaft refuses a CreateTopics or CreatePartitions request that would create more than
// 10,000 partitions in all, whole, with POLICY_VIOLATION; below the cap each topic stands on
// its own. (At the cap the requests validate only: creating 10,000 partitions takes
// minutes under -race.)
func TestCreateTopics_MoreThanTenThousandPartitionsPerRequestIsPolicyViolation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts []int32
		code   int16
	}{
		{"one topic at the cap", []int32{10_000}, codeNone},
		{"one topic over it", []int32{10_001}, codePolicyViolation},
		{"the sum over it", []int32{6_000, 5_000}, codePolicyViolation},
		{"huge", []int32{1<<31 - 1}, codePolicyViolation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, nc := dialTest(t, nil)
			req := kmsg.NewPtrCreateTopicsRequest()
			req.ValidateOnly = tc.code == codeNone
			for i, n := range tc.counts {
				rt := kmsg.NewCreateTopicsRequestTopic()
				rt.Topic, rt.NumPartitions, rt.ReplicationFactor = string(rune('a'+i)), n, 1
				req.Topics = append(req.Topics, rt)
			}
			resp := kmsg.NewPtrCreateTopicsResponse()
			roundTrip(t, nc, bufio.NewReader(nc), req, 7, resp)
			require.Len(t, resp.Topics, len(tc.counts))
			for _, rt := range resp.Topics {
				assert.Equal(t, tc.code, rt.ErrorCode, rt.Topic)
			}
			if tc.code != codeNone {
				assert.Empty(t, l.Topics(), "a refused request creates nothing")
			}
		})
	}
}

func TestCreatePartitions_MoreThanTenThousandNewPartitionsIsPolicyViolation(t *testing.T) {
	l, nc := dialTest(t, nil)
	r := bufio.NewReader(nc)
	require.NoError(t, l.CreateTopic("t", log.TopicConfig{Partitions: 5}))
	for _, tc := range []struct {
		count int32
		code  int16
	}{
		{10_006, codePolicyViolation},
		{1<<31 - 1, codePolicyViolation},
		{10_005, codeNone},
	} {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.ValidateOnly = tc.code == codeNone
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = "t", tc.count
		req.Topics = append(req.Topics, rt)
		resp := kmsg.NewPtrCreatePartitionsResponse()
		roundTrip(t, nc, r, req, 3, resp)
		require.Len(t, resp.Topics, 1)
		assert.Equal(t, tc.code, resp.Topics[0].ErrorCode, "count %d", tc.count)
		n, err := l.Requests().Partitions("t")
		require.NoError(t, err)
		assert.Equal(t, 5, n, "refused or validated only: the count is unchanged")
	}
}
