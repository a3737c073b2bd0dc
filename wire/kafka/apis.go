package kafka

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one API the server serves: the versions it answers (and advertises in
// ApiVersions), its handler, and, where Kafka answers versions below min rather than
// closing the connection, how to refuse them with an error code.
type api struct {
	min, max int16
	serve    func(*conn, kmsg.Request) kmsg.Response
	refuse   func(kmsg.Request, int16) kmsg.Response
}

// apis is indexed by API key; nil for an API the server does not serve. It is filled by
// init and never changed.
var apis []*api

// apiFor returns the API with key, or nil.
func apiFor(key int16) *api {
	if key < 0 || int(key) >= len(apis) {
		return nil
	}
	return apis[key]
}

// serveAs adapts a handler of one request type to the table's.
func serveAs[R kmsg.Request](fn func(*conn, R) kmsg.Response) func(*conn, kmsg.Request) kmsg.Response {
	return func(c *conn, r kmsg.Request) kmsg.Response { return fn(c, r.(R)) }
}

func init() {
	add := func(key kmsg.Key, lo, hi int16, serve func(*conn, kmsg.Request) kmsg.Response) *api {
		for int(key) >= len(apis) {
			apis = append(apis, nil)
		}
		a := &api{min: lo, max: hi, serve: serve}
		apis[key] = a
		return a
	}
	// The version ranges are those whose every field the handlers fill in; newer versions
	// add topic ids and KIP-848 groups, which the server does not have.
	add(kmsg.Produce, 3, 11, serveAs(serveProduce)).refuse = refuseProduce
	add(kmsg.Fetch, 4, 12, serveAs(serveFetch)).refuse = refuseFetch
	add(kmsg.ListOffsets, 0, 7, serveAs(serveListOffsets))
	add(kmsg.Metadata, 0, 12, serveAs(serveMetadata))
	add(kmsg.OffsetCommit, 0, 8, serveAs(serveOffsetCommit))
	add(kmsg.OffsetFetch, 0, 8, serveAs(serveOffsetFetch))
	add(kmsg.FindCoordinator, 0, 4, serveAs(serveFindCoordinator))
	add(kmsg.JoinGroup, 0, 9, serveAs(serveJoinGroup))
	add(kmsg.Heartbeat, 0, 4, serveAs(serveHeartbeat))
	add(kmsg.LeaveGroup, 0, 5, serveAs(serveLeaveGroup))
	add(kmsg.SyncGroup, 0, 5, serveAs(serveSyncGroup))
	add(kmsg.DescribeGroups, 0, 5, serveAs(serveDescribeGroups))
	add(kmsg.ListGroups, 0, 4, serveAs(serveListGroups))
	add(kmsg.ApiVersions, 0, 3, serveAs(serveAPIVersions))
	add(kmsg.CreateTopics, 0, 7, serveAs(serveCreateTopics))
	add(kmsg.DeleteTopics, 0, 5, serveAs(serveDeleteTopics))
	add(kmsg.DeleteRecords, 0, 2, serveAs(serveDeleteRecords))
	add(kmsg.InitProducerID, 0, 4, serveAs(serveInitProducerID))
	add(kmsg.AddPartitionsToTxn, 0, 3, serveAs(serveAddPartitionsToTxn))
	add(kmsg.AddOffsetsToTxn, 0, 3, serveAs(serveAddOffsetsToTxn))
	add(kmsg.EndTxn, 0, 3, serveAs(serveEndTxn))
	add(kmsg.TxnOffsetCommit, 0, 3, serveAs(serveTxnOffsetCommit))
	add(kmsg.OffsetForLeaderEpoch, 0, 4, serveAs(serveOffsetForLeaderEpoch))
	add(kmsg.CreatePartitions, 0, 3, serveAs(serveCreatePartitions))
	add(kmsg.DeleteGroups, 0, 2, serveAs(serveDeleteGroups))
	add(kmsg.OffsetDelete, 0, 0, serveAs(serveOffsetDelete))
	add(kmsg.DescribeCluster, 0, 1, serveAs(serveDescribeCluster))
	add(kmsg.DescribeConfigs, 0, 4, serveAs(serveDescribeConfigs))
	add(kmsg.AlterConfigs, 0, 2, serveAs(serveAlterConfigs))
	add(kmsg.IncrementalAlterConfigs, 0, 1, serveAs(serveIncrementalAlterConfigs))
	add(kmsg.SASLHandshake, 0, 1, serveAs(serveSASLHandshake))
	add(kmsg.SASLAuthenticate, 0, 2, serveAs(serveSASLAuthenticate))
	for key, refuse := range refusals {
		apis[key].refuse = refuse
	}
	for _, key := range topLevelRefusals {
		apis[key].refuse = refuseTopLevel
	}
}

// apiVersions lists what ApiVersions advertises, by key.
func apiVersions() []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for key, a := range apis {
		if a != nil {
			k := kmsg.NewApiVersionsResponseApiKey()
			k.ApiKey, k.MinVersion, k.MaxVersion = int16(key), a.min, a.max
			out = append(out, k)
		}
	}
	return slices.Clip(out)
}

func serveAPIVersions(c *conn, req *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = apiVersions()
	return resp
}

// unsupportedAPIVersions answers an ApiVersions of a version the server does not know as
// KIP-511 says: UNSUPPORTED_VERSION in a version 0 response listing the versions served, so
// the client retries with one of them.
func (c *conn) unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = codeUnsupportedVersion
	resp.ApiKeys = apiVersions()
	return resp
}

func serveMetadata(c *conn, req *kmsg.MetadataRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port := c.s.advertised(c.nc)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = NodeID, host, port
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID = &c.s.clusterID
	resp.ControllerID = NodeID
	var names []string
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		names = c.s.log.Topics()
	} else {
		for _, t := range req.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			}
		}
	}
	// v0–v3 have no AllowAutoTopicCreation field: those clients always asked for it.
	create := !all && !c.s.opts.DisableAutoCreateTopics && (req.AllowAutoTopicCreation || req.Version < 4)
	for _, name := range names {
		t := kmsg.NewMetadataResponseTopic()
		t.Topic = kmsg.StringPtr(name)
		n, err := c.s.req.Partitions(name)
		if err != nil && create {
			n, err = c.s.autoCreate(name)
		}
		if err != nil {
			t.ErrorCode = errorCode(err)
			resp.Topics = append(resp.Topics, t)
			continue
		}
		t.Partitions = make([]kmsg.MetadataResponseTopicPartition, n)
		for i := range n {
			p := kmsg.NewMetadataResponseTopicPartition()
			p.Partition, p.Leader, p.LeaderEpoch = int32(i), NodeID, 0
			p.Replicas, p.ISR = []int32{NodeID}, []int32{NodeID}
			t.Partitions[i] = p
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// Coordinator types of FindCoordinator.
const (
	coordinatorGroup int8 = 0
	coordinatorTxn   int8 = 1
)

func serveFindCoordinator(c *conn, req *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := c.s.advertised(c.nc)
	code := codeNone
	var msg *string
	if req.CoordinatorType != coordinatorGroup && req.CoordinatorType != coordinatorTxn {
		code, msg = codeInvalidRequest, kmsg.StringPtr("unknown coordinator type")
	}
	if req.Version >= 4 {
		for _, key := range req.CoordinatorKeys {
			co := kmsg.NewFindCoordinatorResponseCoordinator()
			co.Key, co.NodeID, co.Host, co.Port, co.ErrorCode, co.ErrorMessage = key, NodeID, host, port, code, msg
			if code != codeNone {
				co.NodeID, co.Host, co.Port = -1, "", -1
			}
			resp.Coordinators = append(resp.Coordinators, co)
		}
		return resp
	}
	resp.NodeID, resp.Host, resp.Port, resp.ErrorCode, resp.ErrorMessage = NodeID, host, port, code, msg
	if code != codeNone {
		resp.NodeID, resp.Host, resp.Port = -1, "", -1
	}
	return resp
}

func serveDescribeCluster(c *conn, req *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	host, port := c.s.advertised(c.nc)
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = NodeID, host, port
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{b}
	resp.ClusterID = c.s.clusterID
	resp.ControllerID = NodeID
	return resp
}
