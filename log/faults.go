package log

// Faults are hooks called at the points where a test injects failures: a produce lost or
// refused, a consumer that dies right after its commit. Each may be nil. They are called on
// the goroutine of the operation, with no lock of the Log held: a hook may block (a crash parks
// its caller, as a dead process never returns) and may call the Log or the consumer (crash
// it). They cover the native API: [Log.Produce] and [Log.ProduceTo], and the commits of a
// [GroupConsumer]; not the Kafka front door's requests.
type Faults struct {
	// BeforeProduce is called before rec is appended to partition of topic. A non-nil err
	// fails the produce with it, appending nothing; drop makes the produce succeed, reporting
	// offset -1, with nothing appended (a record lost on its way, as with acks=0).
	BeforeProduce func(topic string, partition int32, rec Record) (drop bool, err error)
	// BeforeCommit is called before c commits offsets (Commit, CommitOffsets, an auto-commit
	// in Poll; not Close's last commit). A non-nil error fails the commit with it, committing
	// nothing.
	BeforeCommit func(c *GroupConsumer, offsets map[TopicPartition]OffsetAndMetadata) error
	// AfterCommit is called once c's commit of offsets is durable, before Commit or
	// CommitOffsets returns (and after an auto-commit in Poll); what it returns is what they
	// return. The last commit of Close does not call it.
	AfterCommit func(c *GroupConsumer, offsets map[TopicPartition]OffsetAndMetadata) error
}
