package kafka

import (
	"fmt"

	"github.com/tribusmq/tribus/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxPartitionsPerRequest bounds the partitions one CreateTopics or CreatePartitions request
// may create, over all its topics: KRaft's MAX_PARTITIONS_PER_BATCH. Above it the whole
// request is refused with POLICY_VIOLATION, so that one request cannot make a broker create
// millions of partition directories.
const maxPartitionsPerRequest = 10_000

var errTooManyPartitions = fmt.Errorf("%w: excessively large number of partitions per request (at most %d)", errPolicyViolation, maxPartitionsPerRequest)

func serveCreateTopics(c *conn, req *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	total := 0
	for _, rt := range req.Topics {
		switch {
		case len(rt.ReplicaAssignment) > 0:
			total += len(rt.ReplicaAssignment)
		case rt.NumPartitions == -1:
			total += c.s.opts.DefaultPartitions
		case rt.NumPartitions > 0:
			total += int(rt.NumPartitions)
		}
	}
	for _, rt := range req.Topics {
		t := kmsg.NewCreateTopicsResponseTopic()
		t.Topic = rt.Topic
		cfg, err := c.s.topicConfig(rt)
		if total > maxPartitionsPerRequest {
			err = errTooManyPartitions
		}
		if err == nil && !req.ValidateOnly {
			err = c.s.log.CreateTopic(rt.Topic, cfg)
		}
		if err == nil && req.ValidateOnly {
			_, err = cfg.Resolved()
			if _, e := c.s.req.Partitions(rt.Topic); err == nil && e == nil {
				err = fmt.Errorf("%w: %s", log.ErrTopicExists, rt.Topic)
			}
		}
		if err != nil {
			t.ErrorCode, t.ErrorMessage = errorCode(err), errorMessage(err)
			if e, ok := err.(replicationError); ok {
				t.ErrorCode = e.code
			}
			t.NumPartitions, t.ReplicationFactor = -1, -1
			resp.Topics = append(resp.Topics, t)
			continue
		}
		t.NumPartitions, t.ReplicationFactor = int32(cfg.Partitions), 1
		if info, err := c.s.log.DescribeTopic(rt.Topic); err == nil {
			t.NumPartitions = int32(len(info.Partitions))
			cfg = info.Config
		}
		for _, e := range topicConfigs(cfg) {
			rc := kmsg.NewCreateTopicsResponseTopicConfig()
			rc.Name, rc.Value, rc.Source, rc.ReadOnly = e.name, kmsg.StringPtr(e.value), int8(e.source), e.readOnly
			t.Configs = append(t.Configs, rc)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// replicationError is a CreateTopics refusal with its own code: a replication factor or an
// assignment one broker cannot give.
type replicationError struct {
	code int16
	msg  string
}

func (e replicationError) Error() string { return e.msg }

// topicConfig is the configuration a CreateTopics topic asks for.
func (s *Server) topicConfig(rt kmsg.CreateTopicsRequestTopic) (log.TopicConfig, error) {
	var cfg log.TopicConfig
	switch {
	case rt.ReplicationFactor > 1:
		return cfg, replicationError{codeInvalidReplicationFactor,
			fmt.Sprintf("replication factor %d is larger than the 1 available broker", rt.ReplicationFactor)}
	case rt.ReplicationFactor == 0 || rt.ReplicationFactor < -1:
		return cfg, replicationError{codeInvalidReplicationFactor, fmt.Sprintf("replication factor %d", rt.ReplicationFactor)}
	}
	cfg.Partitions = int(rt.NumPartitions)
	if len(rt.ReplicaAssignment) > 0 {
		cfg.Partitions = len(rt.ReplicaAssignment)
	}
	switch {
	case rt.NumPartitions == -1 && len(rt.ReplicaAssignment) == 0:
		cfg.Partitions = s.opts.DefaultPartitions
	case cfg.Partitions <= 0:
		return cfg, fmt.Errorf("%w: %d partitions", log.ErrInvalidPartitions, rt.NumPartitions)
	}
	for _, rc := range rt.Configs {
		if err := setConfig(&cfg, rc.Name, rc.Value); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func serveDeleteTopics(c *conn, req *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, name := range req.TopicNames {
		t := kmsg.NewDeleteTopicsResponseTopic()
		t.Topic = kmsg.StringPtr(name)
		err := c.s.log.DeleteTopic(name)
		t.ErrorCode, t.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func serveCreatePartitions(c *conn, req *kmsg.CreatePartitionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	added := 0
	for _, rt := range req.Topics {
		if n, err := c.s.req.Partitions(rt.Topic); err == nil && int(rt.Count) > n {
			added += int(rt.Count) - n
		}
	}
	for _, rt := range req.Topics {
		t := kmsg.NewCreatePartitionsResponseTopic()
		t.Topic = rt.Topic
		var err error
		if added > maxPartitionsPerRequest {
			err = errTooManyPartitions
		} else if req.ValidateOnly {
			var n int
			if n, err = c.s.req.Partitions(rt.Topic); err == nil && int(rt.Count) <= n {
				err = fmt.Errorf("%w: %s has %d partitions, %d asked for", log.ErrInvalidPartitions, rt.Topic, n, rt.Count)
			}
		} else {
			err = c.s.log.CreatePartitions(rt.Topic, int(rt.Count))
		}
		t.ErrorCode, t.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func serveDeleteRecords(c *conn, req *kmsg.DeleteRecordsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewDeleteRecordsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewDeleteRecordsResponseTopicPartition()
			p.Partition, p.LowWatermark = rp.Partition, -1
			before := rp.Offset
			var err error
			if before == -1 { // -1 deletes up to the high watermark
				before, _, err = c.s.log.ListOffsets(rt.Topic, rp.Partition, log.Latest)
			}
			if err == nil {
				err = c.s.log.DeleteRecords(rt.Topic, rp.Partition, before)
			}
			if err == nil {
				p.LowWatermark, _, err = c.s.log.ListOffsets(rt.Topic, rp.Partition, log.Earliest)
			}
			p.ErrorCode = errorCode(err)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}
