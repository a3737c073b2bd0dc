package clients_test

import (
	"context"
	"testing"
	"testing/synctest"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/tribustest"
	"github.com/tribusmq/tribus/tribustest/clients"
)

func TestRedis_PublishReachesASubscriber(t *testing.T) {
	b := tribustest.New(t)
	rdb := clients.Redis(b, nil)
	sub := rdb.Subscribe(t.Context(), "orders")
	defer sub.Close()
	b.Wait(tribustest.Subscribers("orders", 1))

	if n, err := rdb.Publish(t.Context(), "orders", "ORD-1").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH = %d, %v; want 1 receiver", n, err)
	}
	msg, err := sub.ReceiveMessage(t.Context())
	if err != nil || msg.Payload != "ORD-1" {
		t.Fatalf("got %v, %v; want ORD-1", msg, err)
	}
}

func TestRedis_OverTCP(t *testing.T) {
	b := tribustest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: b.ServeRedis()})
	defer rdb.Close()
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestAMQP_ConsumerAcksWhatWasPublished(t *testing.T) {
	b := tribustest.New(t)
	ch := clients.AMQPChannel(b)
	if _, err := ch.QueueDeclare("jobs", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(t.Context(), "", "jobs", false, false, amqp.Publishing{Body: []byte("j1")}); err != nil {
		t.Fatal(err)
	}
	b.Wait(tribustest.QueueReady("jobs", 1))
	b.CheckQueue("jobs", "j1")

	deliveries, err := ch.Consume("jobs", "worker", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := <-deliveries
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	b.Wait(tribustest.QueueAcked("jobs", 1), tribustest.QueueDrained("jobs"))
}

func TestKafka_GroupCommitsWhatItRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		producer := clients.Kafka(b, kgo.ProducerLinger(0), kgo.AllowAutoTopicCreation())
		if err := producer.ProduceSync(t.Context(), &kgo.Record{Topic: "payments", Value: []byte("p1")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		consumer := clients.Kafka(b, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("payments"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		fetches := consumer.PollFetches(t.Context())
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatal(errs)
		}
		if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "p1" {
			t.Fatalf("got %v, want p1", recs)
		}
		if err := consumer.CommitUncommittedOffsets(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.Wait(tribustest.Committed("billing", "payments", 0, 1), tribustest.LagZero("billing"))
	})
}

// A fault injected into the broker applies to a wire client too: the amqp091-go consumer's
// connection is closed as its ack would reach the router, and the message is redelivered to
// the next consumer.
func TestAMQP_CrashBeforeAckClosesTheClientsConnection(t *testing.T) {
	b := tribustest.New(t)
	b.Inject(tribustest.CrashBeforeAck().Queue("jobs"))
	conn := clients.AMQP(b, amqp.Config{})
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	deliveries := consumeOneJob(t, conn)
	d := <-deliveries
	_ = d.Ack(false) // written to the socket; the broker side of the connection dies reading it
	if e := <-closed; e == nil || e.Code != 320 {
		t.Fatalf("the connection closed with %v, want 320 CONNECTION_FORCED", e)
	}

	other := clients.AMQPChannel(b)
	again, err := other.Consume("jobs", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d = <-again
	if !d.Redelivered || string(d.Body) != "j1" {
		t.Fatalf("got %q redelivered=%v, want j1 redelivered", d.Body, d.Redelivered)
	}
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	b.Wait(tribustest.QueueDrained("jobs"))
}

// A pub/sub fault reaches go-redis subscribers of the RESP door: the one cut off as slow
// loses its connection, as Redis kills a client over its output-buffer limit.
func TestRedis_DisconnectSlowCutsTheSubscriberOff(t *testing.T) {
	b := tribustest.New(t)
	rdb := clients.Redis(b, nil)
	sub := rdb.Subscribe(t.Context(), "orders")
	defer sub.Close()
	b.Wait(tribustest.Subscribers("orders", 1))
	b.Inject(tribustest.DisconnectSlow().Channel("orders"))

	if n, err := rdb.Publish(t.Context(), "orders", "ORD-1").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH = %d, %v; want 1 receiver (R24: counted before the cut)", n, err)
	}
	if _, err := sub.ReceiveMessage(t.Context()); err == nil {
		t.Fatal("the cut-off subscriber received the message")
	}
}

// Log faults reach Kafka clients of the front door: a retriable error injected into a
// produce is retried by kgo and the record is written once; an error injected into a commit is
// kgo's commit error.
func TestKafka_InjectedProduceAndCommitErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		if err := b.Log().CreateTopic("payments", tlog.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
		refused := b.Inject(tribustest.FailProduce(&tlog.KafkaError{Code: 6, Message: "leader moved"}).Topic("payments"))
		producer := clients.Kafka(b, kgo.ProducerLinger(0))
		if err := producer.ProduceSync(t.Context(), &kgo.Record{Topic: "payments", Value: []byte("p1")}).FirstErr(); err != nil {
			t.Fatalf("kgo did not retry NOT_LEADER_OR_FOLLOWER: %v", err)
		}
		if refused.Hits() != 1 {
			t.Fatalf("the fault fired %d times, want once", refused.Hits())
		}
		b.Wait(tribustest.TopicEnd("payments", 0, 1))

		b.Inject(tribustest.FailCommit(&tlog.KafkaError{Code: 58}).Group("billing")) // SASL_AUTHENTICATION_FAILED: not retried
		consumer := clients.Kafka(b, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("payments"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if recs := consumer.PollFetches(t.Context()).Records(); len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		if err := consumer.CommitUncommittedOffsets(t.Context()); err == nil {
			t.Fatal("the injected commit error did not reach kgo")
		}
		b.CheckCommitted("billing", map[tlog.TopicPartition]int64{{Topic: "payments", Partition: 0}: -1})
	})
}

// Dropped connections look like a network failure: the amqp091-go consumer's unacked delivery
// goes back to the queue, redelivered, and go-redis reconnects by itself.
func TestDropConnections_RequeuesAndClientsReconnect(t *testing.T) {
	b := tribustest.New(t)
	rdb := clients.Redis(b, nil)
	conn := clients.AMQP(b, amqp.Config{})
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	deliveries := consumeOneJob(t, conn)
	<-deliveries
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if n := b.DropConnections(); n != 2 {
		t.Fatalf("dropped %d connections, want 2", n)
	}
	<-closed
	b.Wait(tribustest.QueueReady("jobs", 1))
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("go-redis did not reconnect: %v", err)
	}
	d, err := clients.AMQPChannel(b).Consume("jobs", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := <-d; !m.Redelivered {
		t.Fatal("the requeued delivery is not marked redelivered")
	}
}

// consumeOneJob declares the queue jobs on conn, publishes j1 to it and starts a consumer
// with manual acks, whose deliveries it returns.
func consumeOneJob(t *testing.T, conn *amqp.Connection) <-chan amqp.Delivery {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("jobs", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(t.Context(), "", "jobs", false, false, amqp.Publishing{Body: []byte("j1")}); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume("jobs", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return deliveries
}

// DuplicateProduce through the Kafka door: a producer without idempotence writes the record
// twice; kgo's default idempotent producer has its copy recognised by sequence (K39).
func TestKafka_DuplicateProduceShowsWhatIdempotenceIsFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []kgo.Opt
		records int64
	}{
		{"idempotent", nil, 1},
		{"not idempotent", []kgo.Opt{kgo.DisableIdempotentWrite()}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := chargeWith(t, tribustest.DuplicateProduce(), tc.opts...)
			end, _, err := b.Log().ListOffsets("payments", 0, tlog.Latest)
			if err != nil || end != tc.records {
				t.Fatalf("end offset %d, %v; want %d records", end, err, tc.records)
			}
		})
	}
}

// DropProduce through the Kafka door loses the request with its connection; kgo retries on a
// new one and the record is written once.
func TestKafka_DropProduceIsRetriedByTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // kgo's wait before it gives the connection up is fake time
		b, lost := chargeWith(t, tribustest.DropProduce())
		end, _, err := b.Log().ListOffsets("payments", 0, tlog.Latest)
		if err != nil || end != 1 || lost.Hits() != 1 {
			t.Fatalf("end offset %d, %v, fault fired %d times; want the record once after one loss", end, err, lost.Hits())
		}
	})
}

// CloseConnection through the AMQP door: the amqp091-go publisher's connection is closed
// with 320 CONNECTION_FORCED, the message is not routed, and a new connection publishes.
func TestAMQP_CloseConnectionForcesTheClientsConnectionClosed(t *testing.T) {
	b := tribustest.New(t)
	if _, err := b.Router().QueueDeclare("jobs", exchange.QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	b.Inject(tribustest.CloseConnection().Queue("jobs"))
	conn := clients.AMQP(b, amqp.Config{})
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	_ = ch.PublishWithContext(t.Context(), "", "jobs", false, false, amqp.Publishing{Body: []byte("lost")})
	if e := <-closed; e == nil || e.Code != 320 {
		t.Fatalf("the connection closed with %v, want 320 CONNECTION_FORCED", e)
	}
	if err := clients.AMQPChannel(b).PublishWithContext(t.Context(), "", "jobs", false, false, amqp.Publishing{Body: []byte("j1")}); err != nil {
		t.Fatal(err)
	}
	b.Wait(tribustest.QueueReady("jobs", 1))
	b.CheckQueue("jobs", "j1")
}

// CloseConnection through the Kafka door: a produce and an offset commit each lose their
// connection unanswered; kgo retries both on a new connection, and each takes effect once.
func TestKafka_CloseConnectionIsRetriedByTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // kgo's wait before it gives the connection up is fake time
		b, onProduce := chargeWith(t, tribustest.CloseConnection())
		b.Wait(tribustest.TopicEnd("payments", 0, 1))
		if onProduce.Hits() != 1 {
			t.Fatalf("the fault fired %d times at a produce, want once", onProduce.Hits())
		}

		onCommit := b.Inject(tribustest.CloseConnection().Group("billing"))
		consumer := clients.Kafka(b, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("payments"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if recs := consumer.PollFetches(t.Context()).Records(); len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		if err := consumer.CommitUncommittedOffsets(t.Context()); err != nil {
			t.Fatalf("kgo did not retry the commit: %v", err)
		}
		if onCommit.Hits() != 1 {
			t.Fatalf("the fault fired %d times at a commit, want once", onCommit.Hits())
		}
		b.CheckCommitted("billing", map[tlog.TopicPartition]int64{{Topic: "payments", Partition: 0}: 1})
	})
}

// chargeWith opens a broker with the topic payments, injects fault narrowed to it, and
// produces one record "charge" there with a kgo producer (linger 0, and opts), which must
// succeed: the fault's effect is the caller's to check.
func chargeWith(t *testing.T, fault tribustest.Fault, opts ...kgo.Opt) (*tribustest.Broker, *tribustest.FaultHandle) {
	t.Helper()
	b := tribustest.New(t)
	if err := b.Log().CreateTopic("payments", tlog.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	h := b.Inject(fault.Topic("payments"))
	producer := clients.Kafka(b, append([]kgo.Opt{kgo.ProducerLinger(0)}, opts...)...)
	if err := producer.ProduceSync(t.Context(), &kgo.Record{Topic: "payments", Value: []byte("charge")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return b, h
}
