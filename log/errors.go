package log

import (
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/log/internal/segment"
)

// The sentinels of package log. Each names the Kafka error it stands for, so a future Kafka
// front door maps them one to one.
var (
	// ErrClosed is returned by every call after [Log.Close]; errors.Is(err, tribus.ErrClosed)
	// holds for it.
	ErrClosed = fmt.Errorf("tribus/log: %w", sentinel.ErrClosed)

	// ErrInvalidTopic (INVALID_TOPIC_EXCEPTION): a topic name breaking K1, colliding with an
	// existing one (K2) or reserved (K8).
	ErrInvalidTopic = errors.New("tribus/log: invalid topic")

	// ErrTopicExists (TOPIC_ALREADY_EXISTS).
	ErrTopicExists = errors.New("tribus/log: topic already exists")

	// ErrUnknownTopic (UNKNOWN_TOPIC_OR_PARTITION): no such topic, or no such partition of it
	// (K5).
	ErrUnknownTopic = errors.New("tribus/log: unknown topic or partition")

	// ErrInvalidConfig (INVALID_CONFIG): a topic configuration out of range, or a negative
	// fetch, consumer or group consumer option (Kafka's clients refuse those with a
	// ConfigException).
	ErrInvalidConfig = errors.New("tribus/log: invalid config")

	// ErrInvalidPartitions (INVALID_PARTITIONS, 37): CreatePartitions to a count that does
	// not increase the topic's (K7).
	ErrInvalidPartitions = errors.New("tribus/log: invalid partitions")

	// ErrOffsetOutOfRange (OFFSET_OUT_OF_RANGE) is what [*OffsetOutOfRangeError] matches.
	ErrOffsetOutOfRange = errors.New("tribus/log: offset out of range")

	// ErrRecordTooLarge (MESSAGE_TOO_LARGE): a batch over the topic's max.message.bytes.
	ErrRecordTooLarge = errors.New("tribus/log: record too large")

	// ErrOutOfOrderSequence (OUT_OF_ORDER_SEQUENCE_NUMBER): an idempotent producer's batch
	// whose sequence does not follow the last one written (K40).
	ErrOutOfOrderSequence = errors.New("tribus/log: out of order sequence number")

	// ErrInvalidRecord (INVALID_RECORD): a record a topic refuses, such as a null key on a
	// compacted topic (K36).
	ErrInvalidRecord = errors.New("tribus/log: invalid record")

	// ErrInvalidTimestamp (INVALID_TIMESTAMP): a record timestamp before the Unix epoch or
	// past the largest millisecond count an int64 holds. Kafka's producer refuses a negative
	// timestamp ("Timestamp should always be non-negative or null"), and the batch format has
	// no room for one past int64.
	ErrInvalidTimestamp = errors.New("tribus/log: invalid timestamp")
)

// The sentinels of transactions (txn.go).
var (
	// ErrProducerFenced (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH): a transactional producer
	// whose epoch is no longer current, because another producer with the same transactional
	// id called InitTransactions, or because the coordinator aborted its transaction after the
	// transaction timeout (K41, K44); the fenced producer can only be closed. A partition also
	// refuses with it a batch whose producer epoch is older than the last it wrote for that
	// producer id, transactional or only idempotent (K40): Kafka's INVALID_PRODUCER_EPOCH.
	ErrProducerFenced = errors.New("tribus/log: producer fenced")

	// ErrInvalidTxnState (INVALID_TXN_STATE): a transactional call out of order, such as a
	// send outside a transaction, BeginTransaction inside one, or any call before
	// InitTransactions.
	ErrInvalidTxnState = errors.New("tribus/log: invalid transaction state")

	// ErrInvalidTransactionTimeout (INVALID_TRANSACTION_TIMEOUT): a transaction timeout that
	// is negative or above the broker's transaction.max.timeout.ms (15 minutes).
	ErrInvalidTransactionTimeout = errors.New("tribus/log: invalid transaction timeout")

	// ErrInvalidProducerIDMapping (INVALID_PRODUCER_ID_MAPPING): a transactional request
	// naming a producer id that is not the one its transactional id was given, or a
	// transactional id that was never initialised.
	ErrInvalidProducerIDMapping = errors.New("tribus/log: producer id not assigned to the transactional id")
)

// The sentinels of consumer groups: committed offsets (offsets.go) and assignment (assign.go).
var (
	// ErrInvalidGroupID (INVALID_GROUP_ID): an empty group id, or one longer than 32767 bytes.
	ErrInvalidGroupID = errors.New("tribus/log: invalid group id")

	// ErrInvalidCommitOffset: a commit of a negative offset. Kafka's clients refuse it before
	// sending; a committed offset is the next offset to read (K12), never below 0.
	ErrInvalidCommitOffset = errors.New("tribus/log: invalid commit offset")

	// ErrOffsetMetadataTooLarge (OFFSET_METADATA_TOO_LARGE): commit metadata longer than
	// offset.metadata.max.bytes (4096).
	ErrOffsetMetadataTooLarge = errors.New("tribus/log: offset metadata too large")

	// ErrInconsistentGroupProtocol (INCONSISTENT_GROUP_PROTOCOL): the members of a group have
	// no assignor in common.
	ErrInconsistentGroupProtocol = errors.New("tribus/log: inconsistent group protocol")

	// ErrUnknownMember (UNKNOWN_MEMBER_ID): the group has no member of that id, as a
	// GroupConsumer the coordinator dropped learns at its next request.
	ErrUnknownMember = errors.New("tribus/log: unknown member id")

	// ErrInvalidGroupMember: an assignor was given an empty or repeated member id, or a
	// negative partition count.
	ErrInvalidGroupMember = errors.New("tribus/log: invalid group member")
)

// OffsetOutOfRangeError reports a read below the log start offset or above the end (K32). It
// matches [ErrOffsetOutOfRange] with errors.Is.
type OffsetOutOfRangeError struct {
	Topic     string
	Partition int32
	Offset    int64 // the offset asked for
	Start     int64 // the log start offset
	End       int64 // the log end offset (the next offset to be written)
}

func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("tribus/log: offset %d out of range for %s-%d [%d, %d]", e.Offset, e.Topic, e.Partition, e.Start, e.End)
}

// Is makes errors.Is(err, ErrOffsetOutOfRange) hold.
func (e *OffsetOutOfRangeError) Is(target error) bool { return target == ErrOffsetOutOfRange }

// The sentinels of storage faults.
var (
	// ErrCorruptBatch is wrapped by every decode error: a batch that is truncated, fails its
	// CRC, or whose fields or records are malformed. Recovery treats it as the end of the valid
	// log; a fetch that meets it returns a [*CorruptBatchError]. errors.Is(err,
	// tribus.ErrCorrupt) holds for it.
	ErrCorruptBatch = fmt.Errorf("tribus/log: corrupt record batch: %w", sentinel.ErrCorrupt)

	// ErrCorruptSegment is returned when a segment's .log is damaged in a way that recovery
	// does not repair: a sealed segment whose batches do not parse or do not end where its
	// last batch should, or an active segment with a damaged batch followed by valid ones (not
	// a torn tail). It is wrapped with the file's path and what was wrong. errors.Is(err,
	// tribus.ErrCorrupt) holds for it.
	ErrCorruptSegment = segment.ErrCorrupt

	// ErrDiskFull: a produce found less free disk than Options.DiskFreeLimit, before anything
	// was written, or a write or sync of a segment or index file failed with ENOSPC or EDQUOT.
	// errors.Is(err, tribus.ErrDiskFull) holds for it.
	ErrDiskFull = segfs.ErrDiskFull

	// ErrIO: any other failed read, write, truncation or sync of a segment or index file; the
	// operating system's error stays reachable with errors.As. After a failed sync the
	// partition refuses produces with it until the Log is reopened. errors.Is(err,
	// tribus.ErrIO) holds for it.
	ErrIO = segfs.ErrIO
)

// CorruptBatchError reports stored bytes of a partition that fail their checks when read: a
// batch whose CRC-32C does not match, whose header does not parse, or whose records do not
// decode. A fetch never returns such a batch as data. Batches before it in the same read are
// returned without an error; the next read, which starts at Offset, gets the error, and so
// does every later one, since the bytes stay as they are (Kafka's consumers raise
// CorruptRecordException the same way). It matches [ErrCorruptBatch] and tribus.ErrCorrupt
// with errors.Is.
type CorruptBatchError struct {
	Topic     string
	Partition int32
	Offset    int64 // the offset the read was at: the damaged batch holds it, or is the next one after it
	Err       error // what was wrong, wrapping ErrCorruptBatch or ErrCorruptSegment
}

func (e *CorruptBatchError) Error() string {
	return fmt.Sprintf("tribus/log: corrupt batch in %s-%d at offset %d: %v", e.Topic, e.Partition, e.Offset, e.Err)
}

// Is makes errors.Is(err, ErrCorruptBatch) hold.
func (e *CorruptBatchError) Is(target error) bool { return target == ErrCorruptBatch }

// Unwrap returns Err.
func (e *CorruptBatchError) Unwrap() error { return e.Err }

// The consumer-group sentinels.
var (
	// ErrCommitFailed (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID; Kafka's
	// CommitFailedException): an offset commit from a member the group no longer has, or from
	// a generation that is not the group's current one (K20). The member must poll to rejoin;
	// the partitions it was committing for may now belong to another member.
	ErrCommitFailed = errors.New("tribus/log: commit failed: the member is not part of the group's current generation")

	// ErrGroupNotEmpty (NON_EMPTY_GROUP): resetting or deleting the offsets of a group that has
	// members.
	ErrGroupNotEmpty = errors.New("tribus/log: the group has active members")

	// ErrUnknownGroup (GROUP_ID_NOT_FOUND): a group that has neither members nor committed
	// offsets.
	ErrUnknownGroup = errors.New("tribus/log: unknown group")

	// ErrInvalidSessionTimeout (INVALID_SESSION_TIMEOUT): a session timeout outside the range
	// the broker accepts, group.min.session.timeout.ms (6 s) to group.max.session.timeout.ms
	// (30 min) (K23).
	ErrInvalidSessionTimeout = errors.New("tribus/log: session timeout out of range")

	// ErrFencedInstanceID (FENCED_INSTANCE_ID; Kafka's FencedInstanceIdException): a static
	// member whose group.instance.id a newer consumer took over (K29). It is fatal to the
	// consumer: Poll returns it and the consumer should be closed.
	ErrFencedInstanceID = errors.New("tribus/log: fenced: another consumer joined with this group.instance.id")

	// ErrNoSubscription: a group consumer with no topics and no pattern.
	ErrNoSubscription = errors.New("tribus/log: consumer has no subscription")
)

// KafkaError is an error carrying a Kafka protocol error code, for fault hooks and tests that
// want a Kafka client to see a particular error (NOT_LEADER_OR_FOLLOWER, 6, which clients retry;
// REBALANCE_IN_PROGRESS, 27, on a commit...): the Kafka front door answers with Code. A native
// caller gets the error itself.
type KafkaError struct {
	Code    int16  // the protocol's error code (Kafka's Errors.java)
	Message string // optional: the text clients may log
}

func (e *KafkaError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("tribus/log: Kafka error %d: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("tribus/log: Kafka error %d", e.Code)
}

// ErrRequestLost is for a [Faults].BeforeBatch or BeforeCommit hook to return: the batch is not
// appended, or the offsets not committed, and the Kafka front door closes the connection
// without answering, as when a request is lost with its connection. A client retries it on a
// new connection. A native [GroupConsumer]'s Commit, which has no connection, returns it.
var ErrRequestLost = errors.New("tribus/log: the request was lost with its connection (an injected fault)")
