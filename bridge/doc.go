// Package bridge moves messages from one of tribus's engines into another with at-least-once
// semantics, for pipelines that mix the three models: Kafka-style topics as the source of
// truth, RabbitMQ-style work queues fed from them by routing key, and Redis-style channels
// for live notifications.
//
// Each bridge reads, forwards, and only then records its progress: [LogToExchange] commits a
// record's offset once its publish is confirmed, [LogToPubSub] once the hub has taken it, and
// [QueueToPubSub] acks a delivery once it is published. A bridge that dies between the two
// steps forwards the same messages again when it runs again, never fewer: downstream sees
// duplicates, never a gap, so consumers dedupe (by the message id or the record's offset the
// bridge sets) where it matters. What a bridge forwards into the pub/sub hub is at-most-once
// from there on, as pub/sub is.
//
// # Concurrency
//
// A bridge's Run owns the bridge until it returns: it runs on the caller's goroutine, its
// consumer and session are its own, and it stops when ctx ends or a step fails. Run one
// bridge value at a time; running two bridges of one consumer group is allowed and shares the
// group's partitions between them, as two Kafka consumers would. Forwarded may be called
// from any goroutine.
package bridge
