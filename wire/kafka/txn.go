package kafka

import (
	"github.com/tribusmq/tribus/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnCode is errorCode for a transactional request of version v, whose PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH below version fencedFrom: requests older than KIP-588's versions
// know only the latter.
func txnCode(err error, v, fencedFrom int16) int16 {
	code := errorCode(err)
	if code == codeProducerFenced && v < fencedFrom {
		return codeInvalidProducerEpoch
	}
	return code
}

// serveInitProducerID gives an idempotent producer a producer id, and a transactional one
// its transactional id's current producer id and next epoch (KIP-98, KIP-360 with the id and
// epoch it holds).
func serveInitProducerID(c *conn, req *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	var (
		id    int64
		epoch int16
		err   error
	)
	switch {
	case req.TransactionalID == nil:
		id, epoch, err = c.s.req.InitProducerID()
	case *req.TransactionalID == "":
		resp.ErrorCode = codeInvalidRequest // as Kafka: an empty id is not a missing one
		return resp
	default:
		pid, pepoch := int64(-1), int16(-1)
		if req.Version >= 3 {
			pid, pepoch = req.ProducerID, req.ProducerEpoch
		}
		id, epoch, err = c.s.req.InitTransactionalID(*req.TransactionalID, millis(req.TransactionTimeoutMillis), pid, pepoch)
	}
	if err != nil {
		resp.ErrorCode = txnCode(err, req.Version, 4)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, epoch
	return resp
}

func serveAddPartitionsToTxn(c *conn, req *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	// Kafka answers for every partition: the unknown ones with their code and the rest with
	// OPERATION_NOT_ATTEMPTED, or all with the transaction's code.
	var tps []log.TopicPartition
	unknown := make(map[log.TopicPartition]bool)
	for _, rt := range req.Topics {
		n, err := c.s.req.Partitions(rt.Topic)
		for _, p := range rt.Partitions {
			tp := log.TopicPartition{Topic: rt.Topic, Partition: p}
			tps = append(tps, tp)
			if err != nil || p < 0 || int(p) >= n {
				unknown[tp] = true
			}
		}
	}
	all := codeNone
	if len(unknown) == 0 {
		all = txnCode(c.s.req.AddPartitionsToTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, tps), req.Version, 2)
	}
	for _, rt := range req.Topics {
		t := kmsg.NewAddPartitionsToTxnResponseTopic()
		t.Topic = rt.Topic
		for _, p := range rt.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, all
			switch {
			case unknown[log.TopicPartition{Topic: rt.Topic, Partition: p}]:
				rp.ErrorCode = codeUnknownTopicOrPartition
			case len(unknown) > 0:
				rp.ErrorCode = codeOperationNotAttempted
			}
			t.Partitions = append(t.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func serveAddOffsetsToTxn(c *conn, req *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.ErrorCode = txnCode(c.s.req.AddOffsetsToTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group), req.Version, 2)
	return resp
}

func serveTxnOffsetCommit(c *conn, req *kmsg.TxnOffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	gm := log.GroupMetadata{GroupID: req.Group, Generation: -1}
	if req.Version >= 3 {
		gm.Generation, gm.MemberID, gm.GroupInstanceID = req.Generation, req.MemberID, deref(req.InstanceID)
	}
	cc := checkCommit(c, req.Topics, func(t kmsg.TxnOffsetCommitRequestTopic) (string, []kmsg.TxnOffsetCommitRequestTopicPartition) {
		return t.Topic, t.Partitions
	}, func(p kmsg.TxnOffsetCommitRequestTopicPartition) (int32, log.OffsetAndMetadata, *string) {
		return p.Partition, log.OffsetAndMetadata{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: deref(p.Metadata)}, p.Metadata
	})
	all := groupCode(c.s.req.TxnOffsetCommit(req.TransactionalID, req.ProducerID, req.ProducerEpoch, gm, cc.offsets))
	if all == codeProducerFenced {
		all = codeInvalidProducerEpoch // the group coordinator's answer, as in Kafka
	}
	for i, rt := range req.Topics {
		t := kmsg.NewTxnOffsetCommitResponseTopic()
		t.Topic = rt.Topic
		for j, rp := range rt.Partitions {
			p := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, cc.code(i, j, all)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func serveEndTxn(c *conn, req *kmsg.EndTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ErrorCode = txnCode(c.s.req.EndTxn(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit), req.Version, 2)
	return resp
}
