package kafka

import (
	"errors"
	"slices"
	"time"

	"github.com/tribusmq/tribus/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// await waits for a group answer sent on ch, or for the server to close (false).
func await[R any](c *conn, ch <-chan R) (R, bool) {
	select {
	case r := <-ch:
		return r, true
	case <-c.s.done:
		var zero R
		return zero, false
	}
}

type joinAnswer struct {
	resp log.JoinGroupResponse
	err  error
}

func serveJoinGroup(c *conn, req *kmsg.JoinGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	jr := log.JoinGroupRequest{MemberID: req.MemberID, InstanceID: deref(req.InstanceID), ClientID: c.clientID,
		ProtocolType: req.ProtocolType, SessionTimeout: millis(req.SessionTimeoutMillis),
		RebalanceTimeout: millis(req.RebalanceTimeoutMillis), RequireKnownMemberID: req.Version >= 4}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout // v0 has one timeout for both
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, log.GroupProtocol{Name: p.Name, Metadata: p.Metadata})
	}
	ch := make(chan joinAnswer, 1)
	c.s.req.JoinGroup(req.Group, jr, func(r log.JoinGroupResponse, err error) { ch <- joinAnswer{r, err} })
	a, ok := await(c, ch)
	switch {
	case !ok:
		resp.ErrorCode = codeCoordinatorNotAvailable
		return resp
	case a.err != nil:
		resp.ErrorCode = errorCode(a.err)
		return resp
	}
	r := a.resp
	resp.ErrorCode, resp.Generation, resp.LeaderID, resp.MemberID = int16(r.Code), r.Generation, r.Leader, r.MemberID
	resp.SkipAssignment = r.SkipAssignment
	if r.Code == 0 {
		resp.Protocol = kmsg.StringPtr(r.Protocol)
		resp.ProtocolType = kmsg.StringPtr(req.ProtocolType)
	} else {
		resp.Generation = -1
	}
	for _, m := range r.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.ProtocolMetadata = m.ID, m.Metadata
		if m.InstanceID != "" {
			rm.InstanceID = kmsg.StringPtr(m.InstanceID)
		}
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

type syncAnswer struct {
	resp log.SyncGroupResponse
	err  error
}

func serveSyncGroup(c *conn, req *kmsg.SyncGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	sr := log.SyncGroupRequest{MemberID: req.MemberID, InstanceID: deref(req.InstanceID), Generation: req.Generation}
	if len(req.GroupAssignment) > 0 {
		sr.Assignments = make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			sr.Assignments[a.MemberID] = a.MemberAssignment
		}
	}
	// v5 names the protocol the member joined with: one that is not the group's is refused.
	var d log.GroupDetail
	if req.ProtocolType != nil || req.Protocol != nil {
		var found bool
		d, found, _ = c.s.req.DescribeGroup(req.Group)
		if found && ((req.ProtocolType != nil && *req.ProtocolType != d.ProtocolType) ||
			(req.Protocol != nil && d.Protocol != "" && *req.Protocol != d.Protocol)) {
			resp.ErrorCode = codeInconsistentGroupProto
			return resp
		}
	}
	ch := make(chan syncAnswer, 1)
	c.s.req.SyncGroup(req.Group, sr, func(r log.SyncGroupResponse, err error) { ch <- syncAnswer{r, err} })
	a, ok := await(c, ch)
	switch {
	case !ok:
		resp.ErrorCode = codeCoordinatorNotAvailable
	case a.err != nil:
		resp.ErrorCode = errorCode(a.err)
	default:
		resp.ErrorCode, resp.MemberAssignment = int16(a.resp.Code), a.resp.Assignment
		if a.resp.Code == 0 && req.Version >= 5 {
			resp.ProtocolType, resp.Protocol = req.ProtocolType, req.Protocol
			if d.Protocol != "" {
				resp.ProtocolType, resp.Protocol = kmsg.StringPtr(d.ProtocolType), kmsg.StringPtr(d.Protocol)
			}
		}
	}
	return resp
}

func serveHeartbeat(c *conn, req *kmsg.HeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	code, err := c.s.req.Heartbeat(req.Group, req.MemberID, deref(req.InstanceID), req.Generation)
	resp.ErrorCode = groupCode(code, err)
	return resp
}

func serveLeaveGroup(c *conn, req *kmsg.LeaveGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if req.Version < 3 {
		code, err := c.s.req.LeaveGroup(req.Group, req.MemberID, "")
		resp.ErrorCode = groupCode(code, err)
		return resp
	}
	for _, m := range req.Members {
		code, err := c.s.req.LeaveGroup(req.Group, m.MemberID, deref(m.InstanceID))
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, groupCode(code, err)
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

// groupCode is the code of a coordinator answer: the coordinator's own, or the error's.
func groupCode(code log.GroupCode, err error) int16 {
	if err != nil {
		return errorCode(err)
	}
	return int16(code)
}

// offsetMetadataMaxBytes is offset.metadata.max.bytes.
const offsetMetadataMaxBytes = 4096

func serveOffsetCommit(c *conn, req *kmsg.OffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	gm := log.GroupMetadata{GroupID: req.Group, Generation: req.Generation, MemberID: req.MemberID,
		GroupInstanceID: deref(req.InstanceID)}
	if req.Version == 0 {
		gm.Generation = -1
	}
	cc := checkCommit(c, req.Topics, func(t kmsg.OffsetCommitRequestTopic) (string, []kmsg.OffsetCommitRequestTopicPartition) {
		return t.Topic, t.Partitions
	}, func(p kmsg.OffsetCommitRequestTopicPartition) (int32, log.OffsetAndMetadata, *string) {
		return p.Partition, log.OffsetAndMetadata{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: deref(p.Metadata)}, p.Metadata
	})
	code, err := c.s.req.CommitOffsets(gm, cc.offsets)
	if errors.Is(err, log.ErrRequestLost) { // an injected fault: no answer, and the connection goes
		c.closing = true
		return nil
	}
	all := groupCode(code, err)
	for i, rt := range req.Topics {
		t := kmsg.NewOffsetCommitResponseTopic()
		t.Topic = rt.Topic
		for j, rp := range rt.Partitions {
			p := kmsg.NewOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, cc.code(i, j, all)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// commitCheck is a commit request's partitions checked one by one: the offsets that may be
// committed, and each partition's code, or withCommit where the commit's code decides.
type commitCheck struct {
	offsets map[log.TopicPartition]log.OffsetAndMetadata
	codes   [][]int16 // by topic and partition, in request order
}

const withCommit int16 = -2

// checkCommit checks the partitions of an OffsetCommit or TxnOffsetCommit request's
// topics, read with topicOf and partOf: an unknown partition or too much metadata gets its
// own code; the others are to be committed together.
func checkCommit[T, P any](c *conn, topics []T, topicOf func(T) (string, []P), partOf func(P) (int32, log.OffsetAndMetadata, *string)) commitCheck {
	cc := commitCheck{offsets: make(map[log.TopicPartition]log.OffsetAndMetadata), codes: make([][]int16, len(topics))}
	for i, rt := range topics {
		name, parts := topicOf(rt)
		n, err := c.s.req.Partitions(name)
		cc.codes[i] = make([]int16, len(parts))
		for j, rp := range parts {
			partition, om, metadata := partOf(rp)
			switch {
			case err != nil || partition < 0 || int(partition) >= n:
				cc.codes[i][j] = codeUnknownTopicOrPartition
			case metadata != nil && len(*metadata) > offsetMetadataMaxBytes:
				cc.codes[i][j] = codeOffsetMetadataTooLarge
			default:
				cc.offsets[log.TopicPartition{Topic: name, Partition: partition}] = om
				cc.codes[i][j] = withCommit
			}
		}
	}
	return cc
}

// code is the answer for partition j of topic i, all being the commit's.
func (cc commitCheck) code(i, j int, all int16) int16 {
	if cc.codes[i][j] == withCommit {
		return all
	}
	return cc.codes[i][j]
}

// committed is one partition's answer in an OffsetFetch.
type committed struct {
	partition int32
	om        log.OffsetAndMetadata
	ok        bool
}

// fetchOffsets returns group's committed offsets for topics (each topic's partitions), or
// for every partition it has committed when all is set, by topic.
func (c *conn) fetchOffsets(group string, topics map[string][]int32, all bool) (map[string][]committed, []string, error) {
	offs, err := c.s.req.CommittedOffsets(group)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string][]committed)
	var order []string
	if all {
		for tp, om := range offs {
			out[tp.Topic] = append(out[tp.Topic], committed{tp.Partition, om, true})
		}
		for t := range out {
			order = append(order, t)
			slices.SortFunc(out[t], func(a, b committed) int { return int(a.partition - b.partition) })
		}
		slices.Sort(order)
		return out, order, nil
	}
	for t, ps := range topics {
		for _, p := range ps {
			om, ok := offs[log.TopicPartition{Topic: t, Partition: p}]
			out[t] = append(out[t], committed{p, om, ok})
		}
	}
	return out, nil, nil
}

func serveOffsetFetch(c *conn, req *kmsg.OffsetFetchRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, g := range req.Groups {
			topics := make([]kmsg.OffsetFetchRequestTopic, len(g.Topics))
			for i, t := range g.Topics {
				topics[i] = kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions}
			}
			if g.Topics == nil {
				topics = nil
			}
			resp.Groups = append(resp.Groups, c.offsetFetchGroup(g.Group, topics, g.Topics == nil))
		}
		return resp
	}
	// Before v8 one group is asked for, and answered, outside a list.
	g := c.offsetFetchGroup(req.Group, req.Topics, req.Topics == nil && req.Version >= 2)
	resp.ErrorCode = g.ErrorCode
	for _, gt := range g.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = gt.Topic
		for _, gp := range gt.Partitions {
			p := kmsg.NewOffsetFetchResponseTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata, gp.ErrorCode
			rt.Partitions = append(rt.Partitions, p)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// offsetFetchGroup answers OffsetFetch for one group: the partitions of topics, or every
// partition the group has committed when all is set. A partition with no commit has offset
// -1 and empty metadata, as Kafka answers.
func (c *conn) offsetFetchGroup(group string, topics []kmsg.OffsetFetchRequestTopic, all bool) kmsg.OffsetFetchResponseGroup {
	rg := kmsg.NewOffsetFetchResponseGroup()
	rg.Group = group
	asked := make(map[string][]int32)
	var names []string
	for _, t := range topics {
		asked[t.Topic] = append(asked[t.Topic], t.Partitions...)
		names = append(names, t.Topic)
	}
	got, order, err := c.fetchOffsets(group, asked, all)
	if err != nil {
		rg.ErrorCode = errorCode(err)
		return rg
	}
	if order == nil {
		order = slices.Compact(names)
	}
	for _, name := range order {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = name
		for _, cm := range got[name] {
			p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = cm.partition, -1, -1, kmsg.StringPtr("")
			if cm.ok {
				p.Offset, p.LeaderEpoch, p.Metadata = cm.om.Offset, cm.om.LeaderEpoch, kmsg.StringPtr(cm.om.Metadata)
			}
			rt.Partitions = append(rt.Partitions, p)
		}
		rg.Topics = append(rg.Topics, rt)
	}
	return rg
}

func serveDescribeGroups(c *conn, req *kmsg.DescribeGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		g := kmsg.NewDescribeGroupsResponseGroup()
		g.Group = id
		d, found, err := c.s.req.DescribeGroup(id)
		switch {
		case err != nil:
			g.ErrorCode = errorCode(err)
		case !found:
			g.State = string(log.GroupDead) // Kafka's answer for a group it does not know
		default:
			g.State, g.ProtocolType, g.Protocol = string(d.State), d.ProtocolType, d.Protocol
			for _, m := range d.Members {
				rm := kmsg.NewDescribeGroupsResponseGroupMember()
				rm.MemberID, rm.ClientID, rm.ProtocolMetadata, rm.MemberAssignment = m.MemberID, m.ClientID, m.Metadata, m.Assignment
				if m.InstanceID != "" {
					rm.InstanceID = kmsg.StringPtr(m.InstanceID)
				}
				g.Members = append(g.Members, rm)
			}
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func serveListGroups(c *conn, req *kmsg.ListGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	ids, err := c.s.log.ListGroups()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	for _, id := range ids {
		d, found, err := c.s.req.DescribeGroup(id)
		if err != nil || !found {
			continue
		}
		if len(req.StatesFilter) > 0 && !slices.Contains(req.StatesFilter, string(d.State)) {
			continue
		}
		g := kmsg.NewListGroupsResponseGroup()
		g.Group, g.ProtocolType, g.GroupState, g.GroupType = id, d.ProtocolType, string(d.State), "classic"
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func serveDeleteGroups(c *conn, req *kmsg.DeleteGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group = id
		err := c.s.log.DeleteGroup(id)
		g.ErrorCode, g.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

// serveOffsetDelete removes committed offsets of a group, refusing the partitions of a topic
// a member still subscribes to (GROUP_SUBSCRIBED_TO_TOPIC), as Kafka does.
func serveOffsetDelete(c *conn, req *kmsg.OffsetDeleteRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	desc, err := c.s.log.DescribeGroup(req.Group)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp
	}
	subscribed := make(map[string]bool)
	for _, m := range desc.Members {
		for _, t := range m.Topics {
			subscribed[t] = true
		}
	}
	var tps []log.TopicPartition
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetDeleteResponseTopic()
		t.Topic = rt.Topic
		n, terr := c.s.req.Partitions(rt.Topic)
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetDeleteResponseTopicPartition()
			p.Partition = rp.Partition
			switch {
			case terr != nil || rp.Partition < 0 || int(rp.Partition) >= n:
				p.ErrorCode = codeUnknownTopicOrPartition
			case subscribed[rt.Topic]:
				p.ErrorCode = codeGroupSubscribedToTopic
			default:
				tps = append(tps, log.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	if err := c.s.req.DeleteOffsets(req.Group, tps...); err != nil && !errors.Is(err, log.ErrUnknownGroup) {
		resp.ErrorCode = errorCode(err)
	}
	return resp
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func millis(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }
