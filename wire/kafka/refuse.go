package kafka

import (
	"reflect"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The refusals below answer a request of a version kmsg parses but the server does not
// serve (it never advertises it, so only a client that ignores ApiVersions sends one) with
// UNSUPPORTED_VERSION wherever the response has room for an error, rather than closing the
// connection. Each one names the request's topics, partitions or groups back, as a served
// response would.

// topLevelRefusals are the APIs whose response carries one error for the whole request at
// every version above the served ones; refuseTopLevel answers them.
var topLevelRefusals = []kmsg.Key{
	kmsg.Metadata, kmsg.ListGroups, kmsg.InitProducerID, kmsg.AddOffsetsToTxn, kmsg.EndTxn,
	kmsg.DescribeCluster, kmsg.AddPartitionsToTxn,
}

// refuseTopLevel sets the response's top-level ErrorCode.
func refuseTopLevel(r kmsg.Request, code int16) kmsg.Response {
	resp := r.ResponseKind()
	reflect.ValueOf(resp).Elem().FieldByName("ErrorCode").SetInt(int64(code))
	return resp
}

func refuseListOffsets(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func refuseOffsetCommit(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetCommitResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func refuseTxnOffsetCommit(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.TxnOffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewTxnOffsetCommitResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func refuseOffsetFetch(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	for _, rg := range req.Groups {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group, g.ErrorCode = rg.Group, code
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func refuseFindCoordinator(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	for _, key := range req.CoordinatorKeys {
		co := kmsg.NewFindCoordinatorResponseCoordinator()
		co.Key, co.NodeID, co.Port, co.ErrorCode = key, -1, -1, code
		resp.Coordinators = append(resp.Coordinators, co)
	}
	return resp
}

func refuseDescribeGroups(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		g := kmsg.NewDescribeGroupsResponseGroup()
		g.Group, g.ErrorCode = id, code
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func refuseDeleteGroups(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group, g.ErrorCode = id, code
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func refuseDeleteTopics(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewDeleteTopicsResponseTopic()
		t.Topic, t.TopicID, t.ErrorCode = rt.Topic, rt.TopicID, code
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// refusals are the refusers of the APIs that have versions above the served ones; init
// installs them.
var refusals = map[kmsg.Key]func(kmsg.Request, int16) kmsg.Response{
	kmsg.ListOffsets:     refuseListOffsets,
	kmsg.OffsetCommit:    refuseOffsetCommit,
	kmsg.TxnOffsetCommit: refuseTxnOffsetCommit,
	kmsg.OffsetFetch:     refuseOffsetFetch,
	kmsg.FindCoordinator: refuseFindCoordinator,
	kmsg.DescribeGroups:  refuseDescribeGroups,
	kmsg.DeleteGroups:    refuseDeleteGroups,
	kmsg.DeleteTopics:    refuseDeleteTopics,
}
