package kafka

import (
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// autoCreate creates topic name as auto.create.topics.enable does, and returns its partition
// count. A topic created meanwhile by another request is fine.
func (s *Server) autoCreate(name string) (int, error) {
	err := s.log.CreateTopic(name, log.TopicConfig{Partitions: s.opts.DefaultPartitions})
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return 0, err
	}
	return s.req.Partitions(name)
}

// pendingAppend is a partition's batch written and waiting to be durable.
type pendingAppend struct {
	p   *kmsg.ProduceResponseTopicPartition
	res log.AppendResult
}

// serveProduce appends each partition's batch, then waits for all of them to be durable
// before answering (acks=1 and acks=all mean the same with one broker: on disk, or in the
// page cache with NoSync). acks=0 is answered with nothing, as Kafka does.
func serveProduce(c *conn, req *kmsg.ProduceRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	badAcks := req.Acks != 0 && req.Acks != 1 && req.Acks != -1
	var pending []pendingAppend
	failed := false
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := &resp.Topics[i]
		*t = kmsg.NewProduceResponseTopic()
		t.Topic = rt.Topic
		t.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		known := true
		if _, err := c.s.req.Partitions(rt.Topic); err != nil && errors.Is(err, log.ErrUnknownTopic) && !c.s.opts.DisableAutoCreateTopics {
			_, err = c.s.autoCreate(rt.Topic)
			known = err == nil
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			p := &t.Partitions[j]
			*p = kmsg.NewProduceResponseTopicPartition()
			p.Partition, p.BaseOffset, p.LogAppendTime, p.LogStartOffset = rp.Partition, -1, -1, -1
			var err error
			switch {
			case badAcks:
				p.ErrorCode = codeInvalidRequiredAcks
				failed = true
				continue
			case !known:
				err = fmt.Errorf("%w: %s", log.ErrUnknownTopic, rt.Topic)
			}
			var res log.AppendResult
			switch {
			case err != nil:
			case req.TransactionID != nil:
				res, err = c.s.req.AppendTransactionalBatch(*req.TransactionID, rt.Topic, rp.Partition, rp.Records)
			default:
				res, err = c.s.req.AppendBatch(rt.Topic, rp.Partition, rp.Records)
			}
			if errors.Is(err, log.ErrRequestLost) { // an injected fault: no answer, and the connection goes
				c.closing = true
				return nil
			}
			if err != nil {
				// A partition leader tells a fenced producer INVALID_PRODUCER_EPOCH.
				p.ErrorCode, p.ErrorMessage = txnCode(err, 0, 1<<15-1), errorMessage(err)
				failed = true
				continue
			}
			p.BaseOffset, p.LogAppendTime, p.LogStartOffset = res.BaseOffset, res.LogAppendTime, res.LogStartOffset
			pending = append(pending, pendingAppend{p: p, res: res})
		}
	}
	if req.Acks == 0 {
		c.closing = failed
		return nil
	}
	for _, pa := range pending {
		if err := pa.res.Wait(); err != nil {
			pa.p.ErrorCode, pa.p.ErrorMessage = errorCode(err), errorMessage(err)
			pa.p.BaseOffset, pa.p.LogAppendTime = -1, -1
		}
	}
	return resp
}

// refuseProduce answers a Produce of a version the server does not serve (v0–v2, whose
// message sets predate RecordBatch v2) with code for every partition.
func refuseProduce(r kmsg.Request, code int16) kmsg.Response {
	req := r.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewProduceResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewProduceResponseTopicPartition()
			p.Partition, p.ErrorCode, p.BaseOffset = rp.Partition, code, -1
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}
