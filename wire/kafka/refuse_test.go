package kafka

import (
	"bufio"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// errorCodes collects every ErrorCode field in v, at any depth.
func errorCodes(v reflect.Value) []int16 {
	var out []int16
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			out = errorCodes(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).Name == "ErrorCode" && v.Field(i).Kind() == reflect.Int16 {
				out = append(out, int16(v.Field(i).Int()))
				continue
			}
			out = append(out, errorCodes(v.Field(i))...)
		}
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, errorCodes(v.Index(i))...)
		}
	}
	return out
}

// A request at a version kmsg knows but the server does not serve is answered with
// UNSUPPORTED_VERSION for each thing it names, and the connection stays open.
func TestRequest_UnservedVersionGetsUnsupportedVersion(t *testing.T) {
	build := map[kmsg.Key]func() kmsg.Request{
		kmsg.Produce: func() kmsg.Request {
			r := kmsg.NewPtrProduceRequest()
			rt := kmsg.NewProduceRequestTopic()
			rt.Partitions = append(rt.Partitions, kmsg.NewProduceRequestTopicPartition())
			r.Topics, r.Acks = append(r.Topics, rt), -1
			return r
		},
		kmsg.Fetch: func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			rt := kmsg.NewFetchRequestTopic()
			rt.Partitions = append(rt.Partitions, kmsg.NewFetchRequestTopicPartition())
			r.Topics = append(r.Topics, rt)
			return r
		},
		kmsg.ListOffsets: func() kmsg.Request {
			r := kmsg.NewPtrListOffsetsRequest()
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic, rt.Partitions = "t", append(rt.Partitions, kmsg.NewListOffsetsRequestTopicPartition())
			r.Topics = append(r.Topics, rt)
			return r
		},
		kmsg.OffsetCommit: func() kmsg.Request {
			r := kmsg.NewPtrOffsetCommitRequest()
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Partitions = append(rt.Partitions, kmsg.NewOffsetCommitRequestTopicPartition())
			r.Group, r.Topics = "g", append(r.Topics, rt)
			return r
		},
		kmsg.TxnOffsetCommit: func() kmsg.Request {
			r := kmsg.NewPtrTxnOffsetCommitRequest()
			rt := kmsg.NewTxnOffsetCommitRequestTopic()
			rt.Topic, rt.Partitions = "t", append(rt.Partitions, kmsg.NewTxnOffsetCommitRequestTopicPartition())
			r.Group, r.Topics = "g", append(r.Topics, rt)
			return r
		},
		kmsg.OffsetFetch: func() kmsg.Request {
			r := kmsg.NewPtrOffsetFetchRequest()
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = "g"
			r.Groups = append(r.Groups, g)
			return r
		},
		kmsg.FindCoordinator: func() kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorKeys = []string{"g"}
			return r
		},
		kmsg.DescribeGroups: func() kmsg.Request { r := kmsg.NewPtrDescribeGroupsRequest(); r.Groups = []string{"g"}; return r },
		kmsg.DeleteGroups:   func() kmsg.Request { r := kmsg.NewPtrDeleteGroupsRequest(); r.Groups = []string{"g"}; return r },
		kmsg.DeleteTopics: func() kmsg.Request {
			r := kmsg.NewPtrDeleteTopicsRequest()
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = kmsg.StringPtr("t")
			r.Topics = append(r.Topics, rt)
			return r
		},
	}
	_, nc := dialTest(t, nil)
	r := bufio.NewReader(nc)
	tested := 0
	for key, a := range apis {
		if a == nil || key == int(kmsg.ApiVersions) {
			continue
		}
		req := kmsg.RequestForKey(int16(key))
		if req.MaxVersion() <= a.max {
			continue
		}
		if b := build[kmsg.Key(key)]; b != nil {
			req = b()
		}
		v := a.max + 1
		t.Run(kmsg.NameForKey(int16(key)), func(t *testing.T) {
			resp := req.ResponseKind()
			roundTrip(t, nc, r, req, v, resp)
			// Fields of other versions decode as 0; every code sent is UNSUPPORTED_VERSION.
			codes := errorCodes(reflect.ValueOf(resp))
			assert.Contains(t, codes, codeUnsupportedVersion)
			for _, c := range codes {
				assert.Contains(t, []int16{codeNone, codeUnsupportedVersion}, c)
			}
		})
		tested++
	}
	assert.Positive(t, tested)
}
