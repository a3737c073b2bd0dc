package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tribusmq/tribus/log/internal/group"
	"github.com/tribusmq/tribus/log/internal/segment"
)

// Requests is the Log as a Kafka broker's request handlers see it: produce and fetch on
// stored RecordBatch bytes, producer ids, the group coordinator's requests and the
// transaction coordinator's (requests_txn.go), with their answers in Kafka's terms. It is
// what a Kafka protocol front door (wire/kafka) is built on; applications use [Log],
// [Producer] and [GroupConsumer] instead.
//
// Its methods are safe for concurrent use, and fail with [ErrClosed] once the Log is closed.
type Requests struct{ l *Log }

// Requests returns the Log's request-level surface.
func (l *Log) Requests() *Requests { return &Requests{l: l} }

// AppendResult is where [Requests.AppendBatch] put a batch.
type AppendResult struct {
	// BaseOffset is the offset of the batch's first record. For a retry of a batch an
	// idempotent producer already wrote, it is the offset the first write got (K39).
	BaseOffset int64
	// LogAppendTime is the broker time stamped on the batch, in Unix milliseconds, for a
	// topic whose message.timestamp.type is LogAppendTime; -1 otherwise, as Kafka answers.
	LogAppendTime int64
	// LogStartOffset is the partition's log start offset after the append.
	LogStartOffset int64

	p   *partition
	end int64
}

// Wait returns once the batch is durable: on disk, unless the Log has NoSync. It is what
// Kafka's acks=1 and acks=all wait for; acks=0 need not call it.
func (r AppendResult) Wait() error {
	if r.p == nil {
		return nil
	}
	return r.p.durable(r.end)
}

// batchScratch holds the records of a batch being validated by AppendBatch, and the buffer
// its records were decompressed into.
type batchScratch struct {
	recs []Record
	raw  []byte
}

var recordScratch = sync.Pool{New: func() any { return new(batchScratch) }}

// maxPooledRaw bounds the decompression buffer kept for the next batch: a rare huge batch
// must not pin its buffer.
const maxPooledRaw = 4 << 20

// AppendBatch appends one RecordBatch, as a producer sent it (magic 2, any compression
// codec), to a partition without re-encoding it: it is stored byte for byte but for the
// fields a broker assigns, which the CRC does not cover (the base offset and the partition
// leader epoch), and, on a LogAppendTime topic, the timestamp type and max timestamp (the CRC
// is then recomputed). AppendBatch writes those fields into batch itself.
//
// Before anything is written the batch is validated as a Kafka broker validates it: a bad
// CRC or header is [ErrCorruptBatch]; records that do not decode (a compressed batch is
// decompressed to check them), offset deltas that are not 0, 1, 2…, a control batch, or a
// null key on a compacted topic is [ErrInvalidRecord]; a timestamp out of range is
// [ErrInvalidTimestamp]; a batch over max.message.bytes is [ErrRecordTooLarge]. A batch with a
// producer id is idempotent: a retry of one of the producer's last five batches is not
// written again (K39), a gap in its sequence is [ErrOutOfOrderSequence] (K40). A
// transactional batch is [ErrInvalidRecord] here: it goes to
// [Requests.AppendTransactionalBatch]. The batch is written, not yet durable: call
// [AppendResult.Wait].
func (q *Requests) AppendBatch(topic string, partition int32, batch []byte) (AppendResult, error) {
	if f := q.l.faults; f != nil && f.BeforeBatch != nil {
		dup, err := f.BeforeBatch(topic, partition)
		if err != nil {
			return AppendResult{}, err
		}
		if dup { // the retry's first try: the acknowledgement that never came back
			if _, err := q.appendBatch(topic, partition, bytes.Clone(batch)); err != nil {
				return AppendResult{}, err
			}
		}
	}
	return q.appendBatch(topic, partition, batch)
}

// appendBatch is AppendBatch without its fault hook.
func (q *Requests) appendBatch(topic string, partition int32, batch []byte) (AppendResult, error) {
	p, h, err := q.checkAppend(topic, partition, batch)
	if err != nil {
		return AppendResult{}, err
	}
	if h.Attributes&attrTransactional != 0 {
		return AppendResult{}, fmt.Errorf("%w: a transactional batch needs the produce request's transactional id", ErrInvalidRecord)
	}
	meta := batchMeta{producerID: h.ProducerID, producerEpoch: h.ProducerEpoch, baseSequence: h.BaseSequence}
	if h.ProducerID < 0 {
		meta = batchMeta{producerID: -1, producerEpoch: -1, baseSequence: -1}
	}
	return p.writeBatch(batch, int(h.NumRecords), meta)
}

// checkAppend finds the partition a produced batch goes to and validates the batch on its
// own, as [Requests.AppendBatch] describes.
func (q *Requests) checkAppend(topic string, partition int32, batch []byte) (*partition, batchHeader, error) {
	p, err := q.l.partition(topic, partition)
	if err != nil {
		return nil, batchHeader{}, err
	}
	h, err := checkBatch(batch)
	if err != nil {
		return nil, batchHeader{}, err
	}
	switch {
	case h.size() != len(batch):
		return nil, batchHeader{}, fmt.Errorf("%w: %d bytes after the batch; a produce carries exactly one", ErrCorruptBatch, len(batch)-h.size())
	case h.Attributes&attrControl != 0:
		return nil, batchHeader{}, fmt.Errorf("%w: producers may not write control batches", ErrInvalidRecord)
	case h.NumRecords == 0 || h.LastOffsetDelta != h.NumRecords-1:
		return nil, batchHeader{}, fmt.Errorf("%w: %d records with last offset delta %d", ErrInvalidRecord, h.NumRecords, h.LastOffsetDelta)
	case h.ProducerID >= 0 && h.BaseSequence < 0:
		return nil, batchHeader{}, fmt.Errorf("%w: producer id %d with sequence %d", ErrInvalidRecord, h.ProducerID, h.BaseSequence)
	}
	if err := checkProducedRecords(p, batch, h); err != nil {
		return nil, batchHeader{}, err
	}
	return p, h, nil
}

// checkProducedRecords decodes the records of a produced batch and checks them as a broker
// does: consecutive offset deltas from 0, timestamps in range, keys on a compacted topic.
func checkProducedRecords(p *partition, batch []byte, h batchHeader) error {
	sp := recordScratch.Get().(*batchScratch)
	defer func() {
		clear(sp.recs)
		sp.recs = sp.recs[:0]
		if cap(sp.raw) > maxPooledRaw {
			sp.raw = nil
		}
		recordScratch.Put(sp)
	}()
	recs, err := decodeRecordsIn(sp.recs[:0], batch, &sp.raw)
	sp.recs = recs
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if len(recs) != int(h.NumRecords) {
		return fmt.Errorf("%w: %d records, the header says %d", ErrInvalidRecord, len(recs), h.NumRecords)
	}
	compacted := p.config().compacts()
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Offset != h.BaseOffset+int64(i):
			return fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidRecord, i, r.Offset-h.BaseOffset)
		case h.Attributes&attrLogAppendTime == 0 && !validTimestamp(r.Timestamp):
			return fmt.Errorf("%w: record %d has %v", ErrInvalidTimestamp, i, r.Timestamp)
		case compacted && r.Key == nil:
			return fmt.Errorf("%w: compacted topic %s needs keys (K36); record %d has none", ErrInvalidRecord, p.topic, i)
		}
	}
	return nil
}

// writeBatch appends a produced batch of n records at the end offset, after the checks
// that need the partition's state: whether it is open, the producer's sequence, and
// max.message.bytes.
func (p *partition) writeBatch(batch []byte, n int, meta batchMeta) (AppendResult, error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	res := AppendResult{LogAppendTime: -1, LogStartOffset: p.logStart, p: p}
	if p.shut != nil {
		return AppendResult{}, p.shut
	}
	if err := p.syncErr.Load(); err != nil {
		return AppendResult{}, *err
	}
	cfg := p.config()
	if len(batch) > cfg.MaxMessageBytes {
		return AppendResult{}, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d", ErrRecordTooLarge, len(batch), cfg.MaxMessageBytes)
	}
	if meta.producerID >= 0 {
		off, dup, err := p.checkSequenceLocked(meta, n)
		if err != nil {
			return AppendResult{}, err
		}
		if dup {
			res.BaseOffset, res.end = off, p.leo
			return res, nil
		}
	}
	be := binary.BigEndian
	be.PutUint64(batch[0:], uint64(p.leo))
	be.PutUint32(batch[12:], 0) // the partition leader epoch: one broker, always epoch 0
	if cfg.TimestampType == LogAppendTime {
		res.LogAppendTime = now.UnixMilli()
		attrs := int16(be.Uint16(batch[21:])) | attrLogAppendTime
		be.PutUint16(batch[21:], uint16(attrs))
		be.PutUint64(batch[35:], uint64(res.LogAppendTime))
		be.PutUint32(batch[17:], crc32.Checksum(batch[batchAttributesOffset:], batchCRCTable))
	}
	base, end, err := p.appendLocked(batch, n, meta, now)
	if err != nil {
		return AppendResult{}, err
	}
	res.BaseOffset, res.end = base, end
	return res, nil
}

// BatchRead is what [Requests.ReadBatches] read from a partition.
type BatchRead struct {
	// Batches are stored RecordBatches, whole and as written (compressed ones compressed,
	// control batches included), starting with the one that holds the offset asked for; nil
	// when there is nothing to read there yet. The caller owns them.
	Batches []byte
	// HighWatermark, LastStableOffset and LogStartOffset are the partition's at the read.
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	// Aborted lists, for a read_committed read, the aborted transactions whose records may
	// be among Batches, for the consumer to skip; ordered by first offset.
	Aborted []AbortedTransaction
}

// AbortedTransaction is one aborted transaction in a [BatchRead]: its producer id and the
// offset of its first record in the partition.
type AbortedTransaction struct {
	ProducerID  int64
	FirstOffset int64
}

// ReadBatches reads a partition from offset as a Kafka Fetch does: up to maxBytes of whole
// stored batches (the first batch whole even if it is larger, KIP-74), ending below the high
// watermark, or below the last stable offset under [ReadCommitted] (K43). An offset below the
// log start offset or past the high watermark is an [*OffsetOutOfRangeError]; stored bytes
// that fail their checks are a [*CorruptBatchError]. It does not wait: see
// [Requests.Changed].
func (q *Requests) ReadBatches(topic string, partition int32, offset int64, maxBytes int, iso IsolationLevel) (BatchRead, error) {
	if err := iso.validate(); err != nil {
		return BatchRead{}, err
	}
	p, err := q.l.partition(topic, partition)
	if err != nil {
		return BatchRead{}, err
	}
	res, err := p.readBatches(offset, max(maxBytes, 1), iso)
	if q.l.observed() && err == nil && len(res.Batches) > 0 {
		n, first := 0, int64(-1)
		for b := res.Batches; len(b) > 0; {
			h, herr := readBatchHeader(b)
			if herr != nil {
				break
			}
			if first < 0 {
				first = h.BaseOffset
			}
			n += int(h.LastOffsetDelta) + 1
			b = b[h.size():]
		}
		q.l.emitFetched(p, first, n) // from the first batch's base: batches are sent whole
	}
	return res, err
}

func (p *partition) readBatches(offset int64, maxBytes int, iso IsolationLevel) (BatchRead, error) {
	hw := p.hw.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut != nil {
		return BatchRead{}, p.shut
	}
	res := BatchRead{HighWatermark: hw, LastStableOffset: p.lsoLocked(hw), LogStartOffset: p.logStart}
	if offset < p.logStart || offset > hw {
		return res, &OffsetOutOfRangeError{Topic: p.topic, Partition: p.id, Offset: offset, Start: p.logStart, End: hw}
	}
	limit := hw
	if iso == ReadCommitted {
		limit = res.LastStableOffset
	}
	var closedSeg *segment.Segment
	for offset < limit {
		i := max(sort.Search(len(p.segs), func(i int) bool { return p.segs[i].Base() > offset })-1, 0)
		seg := p.segs[i]
		if offset >= seg.NextOffset() {
			if i == len(p.segs)-1 {
				break
			}
			offset = p.segs[i+1].Base() // past the end of an emptied segment
			continue
		}
		p.mu.Unlock() // the file I/O runs without mu, as in readAt
		data, _, err := seg.Read(offset, maxBytes)
		p.mu.Lock()
		if p.shut != nil {
			return BatchRead{}, p.shut
		}
		if err != nil && seg != closedSeg && isClosedSegment(err) {
			if offset < p.logStart {
				return res, &OffsetOutOfRangeError{Topic: p.topic, Partition: p.id, Offset: offset, Start: p.logStart, End: hw}
			}
			closedSeg = seg
			continue
		}
		if err != nil {
			return BatchRead{}, p.readError(offset, err)
		}
		// Batches are whole and both limits lie between batches: cut at the first batch
		// that starts at or past the limit.
		cut, last := 0, offset
		for cut < len(data) {
			h, err := readBatchHeader(data[cut:])
			if err != nil || h.BaseOffset >= limit {
				break
			}
			cut += h.size()
			last = h.BaseOffset + int64(h.LastOffsetDelta)
		}
		if cut > 0 {
			res.Batches = data[:cut:cut]
			if iso == ReadCommitted {
				res.Aborted = p.abortedInLocked(offset, last)
			}
		}
		break
	}
	return res, nil
}

// abortedInLocked returns the aborted transactions that hold offsets in [from, to], by
// first offset. Callers hold mu.
func (p *partition) abortedInLocked(from, to int64) []AbortedTransaction {
	var out []AbortedTransaction
	for id, as := range p.txn.aborted {
		for _, a := range as {
			if a.last >= from && a.first <= to {
				out = append(out, AbortedTransaction{ProducerID: id, FirstOffset: a.first})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstOffset < out[j].FirstOffset })
	return out
}

// Changed returns a channel closed when the partition's high watermark next moves, or the
// partition is closed or deleted: a fetch waiting for max.wait.ms or min.bytes reads again
// then.
func (q *Requests) Changed(topic string, partition int32) (<-chan struct{}, error) {
	p, err := q.l.partition(topic, partition)
	if err != nil {
		return nil, err
	}
	return p.changed(), nil
}

// Partitions returns how many partitions topic has, or [ErrUnknownTopic].
func (q *Requests) Partitions(topic string) (int, error) {
	t, err := q.l.topic(topic)
	if err != nil {
		return 0, err
	}
	return len(t.parts), nil
}

// InitProducerID answers an InitProducerId request without a transactional id: a producer
// id unique in the process, at epoch 0, for an idempotent producer.
func (q *Requests) InitProducerID() (id int64, epoch int16, err error) {
	if err := q.l.checkOpen(); err != nil {
		return 0, 0, err
	}
	return nextProducerID.Add(1), 0, nil
}

// The group coordinator's requests and answers, as Kafka's JoinGroup and SyncGroup carry
// them; a [GroupCode] is a Kafka error code (0 for none).
type (
	JoinGroupRequest  = group.JoinRequest
	JoinGroupResponse = group.JoinResponse
	SyncGroupRequest  = group.SyncRequest
	SyncGroupResponse = group.SyncResponse
	GroupProtocol     = group.Protocol
	GroupJoinMember   = group.JoinMember
	GroupCode         = group.Code
)

// JoinGroup runs a JoinGroup request for group id (K19–K27). done gets the answer, at once or
// when the rebalance completes, on a goroutine holding no lock of the Log's; its error is
// [ErrClosed] if the Log closes first.
func (q *Requests) JoinGroup(id string, req JoinGroupRequest, done func(JoinGroupResponse, error)) {
	if err := validGroupID(id); err != nil {
		done(JoinGroupResponse{}, err)
		return
	}
	q.l.coord.JoinAsync(id, req, func(resp JoinGroupResponse, err error) { done(resp, closedOr(err)) })
}

// SyncGroup runs a SyncGroup request for group id; done gets the answer as for JoinGroup.
func (q *Requests) SyncGroup(id string, req SyncGroupRequest, done func(SyncGroupResponse, error)) {
	if err := validGroupID(id); err != nil {
		done(SyncGroupResponse{}, err)
		return
	}
	q.l.coord.SyncAsync(id, req, func(resp SyncGroupResponse, err error) { done(resp, closedOr(err)) })
}

// Heartbeat runs a Heartbeat request: REBALANCE_IN_PROGRESS tells a member to rejoin (K22).
func (q *Requests) Heartbeat(id, memberID, instanceID string, generation int32) (GroupCode, error) {
	code, err := q.l.coord.Heartbeat(id, memberID, instanceID, generation)
	return code, closedOr(err)
}

// LeaveGroup runs a LeaveGroup request for one member (K25).
func (q *Requests) LeaveGroup(id, memberID, instanceID string) (GroupCode, error) {
	code, err := q.l.coord.Leave(id, memberID, instanceID)
	return code, closedOr(err)
}

// CommitOffsets runs an OffsetCommit request: the coordinator's answer about gm (K20) comes
// back as a code, and when it is 0 the offsets are committed as [GroupConsumer.Commit]
// commits them, all or none, durable on return.
func (q *Requests) CommitOffsets(gm GroupMetadata, offsets map[TopicPartition]OffsetAndMetadata) (GroupCode, error) {
	if err := validGroupID(gm.GroupID); err != nil {
		return 0, err
	}
	if f := q.l.faults; f != nil && f.BeforeCommit != nil {
		if err := f.BeforeCommit(gm, copyOffsets(offsets)); err != nil { // a copy: offsets stays the caller's
			return 0, err
		}
	}
	code, err := q.l.coord.Commit(gm.GroupID, gm.MemberID, gm.GroupInstanceID, gm.Generation)
	if err != nil || code != group.None {
		return code, closedOr(err)
	}
	return 0, q.l.commitOffsets(gm, offsets)
}

// CommittedOffsets answers an OffsetFetch request: every offset group has committed, in a
// map the caller owns.
func (q *Requests) CommittedOffsets(group string) (map[TopicPartition]OffsetAndMetadata, error) {
	return q.l.committedOffsets(group)
}

// GroupDetail is a group as DescribeGroups and ListGroups report it on the wire: the
// protocol bytes each member sent and was given, undecoded.
type GroupDetail struct {
	State        GroupState
	ProtocolType string
	Protocol     string
	Members      []GroupMemberDetail
}

// GroupMemberDetail is one member of a [GroupDetail].
type GroupMemberDetail struct {
	MemberID   string
	InstanceID string
	ClientID   string
	// Metadata is what the member sent for the group's protocol in its JoinGroup.
	Metadata []byte
	// Assignment is what the leader's last SyncGroup gave it.
	Assignment []byte
}

// DescribeGroup returns group id's state, protocol and members (by member id). A group known
// only by its committed offsets is Empty with no protocol; one with neither members nor
// offsets is not found (false).
func (q *Requests) DescribeGroup(id string) (GroupDetail, bool, error) {
	if err := q.l.checkOpen(); err != nil {
		return GroupDetail{}, false, err
	}
	var d GroupDetail
	found := q.l.coord.Describe(id, func(g *group.Group) {
		d = GroupDetail{State: groupStates[g.State()], ProtocolType: g.ProtocolType(), Protocol: g.Protocol()}
		for _, m := range g.Members() {
			md := GroupMemberDetail{MemberID: m.ID, InstanceID: m.InstanceID, ClientID: m.ClientID,
				Assignment: slices.Clone(m.Assignment)}
			for _, p := range m.Protocols {
				if p.Name == g.Protocol() {
					md.Metadata = slices.Clone(p.Metadata)
				}
			}
			d.Members = append(d.Members, md)
		}
	})
	if found && (len(d.Members) > 0 || d.State != GroupEmpty) {
		slices.SortFunc(d.Members, func(a, b GroupMemberDetail) int { return strings.Compare(a.MemberID, b.MemberID) })
		return d, true, nil
	}
	offs, err := q.l.committedOffsets(id)
	if err != nil {
		return GroupDetail{}, false, err
	}
	if len(offs) == 0 && !found {
		return GroupDetail{}, false, nil
	}
	return GroupDetail{State: GroupEmpty, ProtocolType: d.ProtocolType}, true, nil
}

// DeleteOffsets answers an OffsetDelete request: the group's committed offsets for tps are
// removed. Whether a member still subscribes to their topics is the caller's check.
func (q *Requests) DeleteOffsets(group string, tps ...TopicPartition) error {
	return q.l.deleteOffsets(group, true, tps...)
}
