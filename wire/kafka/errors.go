package kafka

import (
	"errors"

	"github.com/tribusmq/tribus/log"
)

var (
	// ErrServerClosed is returned by [Server.Serve] and [Server.Dial] after [Server.Close].
	ErrServerClosed = errors.New("tribus/kafka: server closed")

	// ErrInvalidOptions is returned by [NewServer] for options out of range.
	ErrInvalidOptions = errors.New("tribus/kafka: invalid options")
)

// Kafka's error codes (the protocol's ErrorCode values, from Kafka's Errors.java) that the
// server answers with.
const (
	codeNone                     int16 = 0
	codeUnknownServerError       int16 = -1
	codeOffsetOutOfRange         int16 = 1
	codeCorruptMessage           int16 = 2
	codeUnknownTopicOrPartition  int16 = 3
	codeNotLeaderOrFollower      int16 = 6
	codeMessageTooLarge          int16 = 10
	codeOffsetMetadataTooLarge   int16 = 12
	codeCoordinatorNotAvailable  int16 = 15
	codeInvalidTopicException    int16 = 17
	codeInvalidRequiredAcks      int16 = 21
	codeInvalidGroupID           int16 = 24
	codeInvalidTimestamp         int16 = 32
	codeUnsupportedVersion       int16 = 35
	codeTopicAlreadyExists       int16 = 36
	codeInvalidPartitions        int16 = 37
	codeInvalidReplicationFactor int16 = 38
	codeInvalidRequest           int16 = 42
	codeInvalidConfig            int16 = 40
	codePolicyViolation          int16 = 44
	codeOutOfOrderSequence       int16 = 45
	codeInvalidProducerEpoch     int16 = 47
	codeInvalidTxnState          int16 = 48
	codeInvalidProducerIDMapping int16 = 49
	codeInvalidTxnTimeout        int16 = 50
	codeOperationNotAttempted    int16 = 55
	codeKafkaStorageError        int16 = 56
	codeNonEmptyGroup            int16 = 68
	codeGroupIDNotFound          int16 = 69
	codeInvalidRecord            int16 = 87
	codeProducerFenced           int16 = 90
	codeGroupSubscribedToTopic   int16 = 86
	codeInconsistentGroupProto   int16 = 23
	codeUnknownMemberID          int16 = 25
	codeInvalidSessionTimeout    int16 = 26
	codeFencedInstanceID         int16 = 82
)

// codes maps the log's sentinels to Kafka's error codes: the one table every response takes
// its codes from. The first sentinel an error matches (errors.Is) decides.
var codes = []struct {
	err  error
	code int16
}{
	{log.ErrUnknownTopic, codeUnknownTopicOrPartition},
	{log.ErrOffsetOutOfRange, codeOffsetOutOfRange},
	{log.ErrCorruptBatch, codeCorruptMessage},
	{log.ErrRecordTooLarge, codeMessageTooLarge},
	{log.ErrInvalidTopic, codeInvalidTopicException},
	{log.ErrTopicExists, codeTopicAlreadyExists},
	{log.ErrInvalidPartitions, codeInvalidPartitions},
	{log.ErrInvalidConfig, codeInvalidConfig},
	{log.ErrOutOfOrderSequence, codeOutOfOrderSequence},
	{log.ErrInvalidRecord, codeInvalidRecord},
	{log.ErrInvalidTimestamp, codeInvalidTimestamp},
	{log.ErrProducerFenced, codeProducerFenced},
	{log.ErrInvalidTxnState, codeInvalidTxnState},
	{log.ErrInvalidProducerIDMapping, codeInvalidProducerIDMapping},
	{log.ErrInvalidTransactionTimeout, codeInvalidTxnTimeout},
	{log.ErrInvalidGroupID, codeInvalidGroupID},
	{log.ErrOffsetMetadataTooLarge, codeOffsetMetadataTooLarge},
	{log.ErrInvalidCommitOffset, codeInvalidRequest},
	{log.ErrInconsistentGroupProtocol, codeInconsistentGroupProto},
	{log.ErrInvalidSessionTimeout, codeInvalidSessionTimeout},
	{log.ErrFencedInstanceID, codeFencedInstanceID},
	{log.ErrUnknownMember, codeUnknownMemberID},
	{log.ErrGroupNotEmpty, codeNonEmptyGroup},
	{log.ErrUnknownGroup, codeGroupIDNotFound},
	{log.ErrDiskFull, codeKafkaStorageError},
	{log.ErrIO, codeKafkaStorageError},
	{log.ErrCorruptSegment, codeKafkaStorageError},
	// A closed log is a broker shutting down: clients look for another leader and retry.
	{log.ErrClosed, codeNotLeaderOrFollower},
	{errInvalidRequest, codeInvalidRequest},
	{errPolicyViolation, codePolicyViolation},
}

// errorCode returns the Kafka error code for err: 0 for nil, UNKNOWN_SERVER_ERROR for an
// error the table does not know.
func errorCode(err error) int16 {
	if err == nil {
		return codeNone
	}
	if ke, ok := errors.AsType[*log.KafkaError](err); ok {
		return ke.Code
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return codeUnknownServerError
}

// errorMessage returns err's text for a response's nullable ErrorMessage, nil for nil.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
