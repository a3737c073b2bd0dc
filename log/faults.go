package log

// Faults are hooks called at the points where a test injects failures: a produce lost or
// refused, a consumer that dies right after its commit. Each may be nil. They are called on
// the goroutine of the operation, with no lock of the Log held: a hook may block (a crash parks
// its caller, as a dead process never returns) and may call the Log or the consumer (crash
// it). Produces are covered through [Log.Produce], [Log.ProduceTo] and the Kafka front door's
// Produce; commits through a [GroupConsumer] and the door's OffsetCommit.
type Faults struct {
	// BeforeProduce is called before rec is appended to partition of topic. A non-nil err
	// fails the produce with it, appending nothing; drop makes the produce succeed, reporting
	// offset -1, with nothing appended (a record lost on its way, as with acks=0).
	BeforeProduce func(topic string, partition int32, rec Record) (drop bool, err error)
	// BeforeSync is called before the Log fsyncs partition of topic to make produces durable
	// (not with NoSync). An error is taken as that fsync failing: the produces waiting for it
	// fail with an error matching ErrIO that wraps it, and the partition refuses produces from
	// then on, until the Log is reopened, as after a real failed fsync (the kernel may have
	// dropped the pages it could not write).
	BeforeSync func(topic string, partition int32) error
	// BeforeBatch is called before a batch of records produced through [Requests.AppendBatch]
	// (the Kafka front door's Produce) is validated and appended to partition of topic. A
	// non-nil err fails the produce with it, appending nothing; the front door answers with
	// its Kafka code (a [*KafkaError]'s Code, or what the door maps a sentinel to). duplicate
	// appends the batch twice, as a producer's retry after a lost acknowledgement does: an
	// idempotent producer's copy is recognised by its sequence and written once (K39).
	BeforeBatch func(topic string, partition int32) (duplicate bool, err error)
	// BeforeCommit is called before the member gm commits offsets: a [GroupConsumer]'s
	// Commit, CommitOffsets or auto-commit in Poll (not Close's last commit), and the Kafka
	// front door's OffsetCommit ([Requests.CommitOffsets]). A non-nil error fails the commit
	// with it, committing nothing. offsets is a copy the hook may keep.
	BeforeCommit func(gm GroupMetadata, offsets map[TopicPartition]OffsetAndMetadata) error
	// AfterCommit is called once c's commit of offsets is durable, before Commit or
	// CommitOffsets returns (and after an auto-commit in Poll); what it returns is what they
	// return. The last commit of Close does not call it. offsets is a copy the hook may keep.
	AfterCommit func(c *GroupConsumer, offsets map[TopicPartition]OffsetAndMetadata) error
}
