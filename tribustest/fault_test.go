package tribustest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/tribustest"
)

func TestInject_PublishFaultsMatchAndCount(t *testing.T) {
	b := tribustest.New(t)
	r := b.Router()
	for _, q := range []string{"a", "b"} {
		_, err := r.QueueDeclare(q, exchange.QueueOptions{})
		require.NoError(t, err)
	}
	drop := b.Inject(tribustest.DropPublish().Queue("a").Skip(1).Times(2))
	refused := errors.New("refused")
	fail := b.Inject(tribustest.FailPublish(refused).Queue("b"))
	for range 4 {
		require.NoError(t, r.Publish(t.Context(), "", "a", false, exchange.Publishing{Body: []byte("m")}))
	}
	assert.ErrorIs(t, r.Publish(t.Context(), "", "b", false, exchange.Publishing{Body: []byte("m")}), refused)
	require.NoError(t, r.Publish(t.Context(), "", "b", false, exchange.Publishing{Body: []byte("m")}), "it fired once")

	b.Wait(tribustest.QueueReady("a", 2), tribustest.QueueReady("b", 1))
	assert.Equal(t, 2, drop.Hits())
	assert.Equal(t, 4, drop.Seen())
	assert.Equal(t, 1, fail.Hits())
	drop.Remove()
	require.NoError(t, r.Publish(t.Context(), "", "a", false, exchange.Publishing{Body: []byte("m")}))
	assert.Equal(t, 4, drop.Seen(), "a removed fault sees nothing")
}

func TestInject_ProbabilityIsReproducibleFromItsSeed(t *testing.T) {
	fired := func() []bool {
		b := tribustest.New(t)
		l := b.Log()
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
		b.Inject(tribustest.DropProduce().Times(-1).Probability(0.5, 42))
		var out []bool
		for range 20 {
			res, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("v")})
			require.NoError(t, err)
			out = append(out, res.Offset < 0)
		}
		return out
	}
	first := fired()
	assert.Equal(t, first, fired())
	assert.Contains(t, first, true)
	assert.Contains(t, first, false)
}

func TestInject_FailProduceRefusesWithTheError(t *testing.T) {
	b := tribustest.New(t)
	l := b.Log()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	b.Inject(tribustest.FailProduce(tlog.ErrDiskFull).Topic("t"))
	_, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("v")})
	assert.ErrorIs(t, err, tlog.ErrDiskFull)
	b.Wait(tribustest.TopicEnd("t", 0, 0))
}

// The crashed consumer's Ack never returns during the test, its connection is gone, and
// the delivery goes to the other consumer, redelivered.
func TestInject_CrashBeforeAckRedeliversToAnotherConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		_, err := b.Router().QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		crash := b.Inject(tribustest.CrashBeforeAck().Queue("q"))
		s1 := b.Session()
		c1, err := s1.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
		require.NoError(t, err)
		require.NoError(t, b.Router().Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("m")}))
		d, err := c1.Next(t.Context())
		require.NoError(t, err)
		acked := make(chan error, 1)
		go func() { acked <- d.Ack() }()
		synctest.Wait()
		assert.Empty(t, acked, "the crashed client's Ack does not return")
		assert.Equal(t, 1, crash.Hits())

		c2, err := b.Session().Consume("q", exchange.ConsumeOptions{})
		require.NoError(t, err)
		d2, err := c2.Next(t.Context())
		require.NoError(t, err)
		assert.True(t, d2.Redelivered)
		require.NoError(t, d2.Ack())
		b.Wait(tribustest.QueueDrained("q"))
		t.Cleanup(func() { assert.ErrorIs(t, <-acked, tribus.ErrClosed) }) // released as the test ends
	})
}

func TestInject_CrashAfterCommitKeepsTheCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, c := oneRecordPolled(t, tribustest.CrashAfterCommit().Group("g"))
		committed := make(chan error, 1)
		go func() { committed <- c.Commit(context.Background()) }()
		b.Wait(tribustest.Committed("g", "t", 0, 1))
		synctest.Wait()
		assert.Empty(t, committed, "the crashed consumer's Commit does not return")
		_, err := c.Poll(t.Context())
		assert.ErrorIs(t, err, tribus.ErrClosed, "the consumer is crashed")
		b.Wait(tribustest.GroupEmpty("g")) // its session timed out
		t.Cleanup(func() { assert.ErrorIs(t, <-committed, tribustest.ErrCrashed) })
	})
}

func TestInject_FailCommitCommitsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, c := oneRecordPolled(t, tribustest.FailCommit(tlog.ErrCommitFailed).Group("g"))
		assert.ErrorIs(t, c.Commit(t.Context()), tlog.ErrCommitFailed)
		b.CheckCommitted("g", map[tlog.TopicPartition]int64{{Topic: "t", Partition: 0}: -1})
		require.NoError(t, c.Commit(t.Context()), "it fired once")
		b.CheckCommitted("g", map[tlog.TopicPartition]int64{{Topic: "t", Partition: 0}: 1})
	})
}

func TestInject_PubSubFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		hub := b.Hub()
		fast, err := hub.Subscribe("news")
		require.NoError(t, err)
		slow, err := hub.Subscribe("news")
		require.NoError(t, err)
		b.Inject(tribustest.DropMessage().Channel("news"))
		assert.Equal(t, 0, hub.Publish("news", []byte("lost")))
		cut := b.Inject(tribustest.DisconnectSlow().Channel("news").Skip(1)) // the second receiver of the next message
		assert.Equal(t, 2, hub.Publish("news", []byte("m")))
		b.Wait(tribustest.Subscribers("news", 1))
		assert.Equal(t, 1, cut.Hits())
		m, ok, err := fast.TryNext()
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "m", string(m.Payload))
		b.CheckNoMessage(fast)
		_, err = slow.Next(t.Context())
		assert.ErrorIs(t, err, pubsub.ErrSlowSubscriber)
	})
}

func TestInject_RedeliverAndDuplicatePublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		s := b.Session()
		_, err := s.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		b.Inject(tribustest.DuplicatePublish().Queue("q"))
		_, err = s.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("once")})
		require.NoError(t, err)
		b.CheckQueue("q", "once", "once")

		b.Inject(tribustest.Redeliver().Queue("q"))
		d, err := s.Get("q", false)
		require.NoError(t, err)
		require.NoError(t, d.Ack(), "the consumer believes it acked")
		b.Wait(tribustest.QueueReady("q", 2))
		for range 2 {
			d, err := s.Get("q", false)
			require.NoError(t, err)
			require.NoError(t, d.Ack())
		}
		b.Wait(tribustest.QueueDrained("q"))
		qi, err := b.Router().QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), qi.Redelivered)
	})
}

func TestExpireMember_RebalancesWithoutTheSessionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, members, d := stableGroupOfTwo(t)
		start, old := time.Now(), members[0].MemberID()
		require.NoError(t, b.ExpireMember("g", old))
		b.Wait(tribustest.Func("g to be Stable again with the expired member back", func(br *tribus.Broker) (bool, string, error) {
			now, err := br.Log().DescribeGroup("g")
			return err == nil && now.State == tlog.GroupStable && now.Generation > d.Generation && len(now.Members) == 2 &&
					members[0].MemberID() != old && members[0].Generation() == now.Generation,
				fmt.Sprint(now), err
		}))
		assert.Less(t, time.Since(start), 45*time.Second, "no session timeout waited for")
		assert.Error(t, b.ExpireMember("g", "nobody"))
	})
}

func TestRebalance_KeepsEveryMemberAtTheNextGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _, d := stableGroupOfTwo(t)
		require.NoError(t, b.Rebalance("g"))
		b.Wait(tribustest.GroupStableAt("g", 2, d.Generation+1))
	})
}

// oneRecordPolled injects f into a new broker, produces one record to topic t and returns a
// member of group g that has polled it and committed nothing.
func oneRecordPolled(t *testing.T, f tribustest.Fault) (*tribustest.Broker, *tlog.GroupConsumer) {
	t.Helper()
	b := tribustest.New(t)
	l := b.Log()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	_, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("v")})
	require.NoError(t, err)
	b.Inject(f)
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"},
		Reset: tlog.ResetEarliest, DisableAutoCommit: true})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	recs, err := c.Poll(t.Context())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	return b, c
}

// A failed fsync fails the produce with ErrIO and every later one until the broker is
// reopened; what was acknowledged before survives.
func TestInject_FailSyncStopsProducesUntilReopen(t *testing.T) {
	b := tribustest.NewDurable(t)
	require.NoError(t, b.Log().CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	_, err := b.Log().Produce(t.Context(), "t", tlog.Record{Value: []byte("kept")})
	require.NoError(t, err)
	b.Inject(tribustest.FailSync().Topic("t"))
	for range 2 {
		_, err = b.Log().Produce(t.Context(), "t", tlog.Record{Value: []byte("lost")})
		assert.ErrorIs(t, err, tribus.ErrIO)
	}
	b = b.Reopen()
	res, err := b.Log().Produce(t.Context(), "t", tlog.Record{Value: []byte("after")})
	require.NoError(t, err)
	recs, err := b.Log().Fetch(t.Context(), "t", 0, 0, tlog.FetchOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	assert.Equal(t, "kept", string(recs[0].Value))
	assert.Equal(t, recs[len(recs)-1].Offset, res.Offset)
}

func TestDropConnections_ClosesEveryWireConnection(t *testing.T) {
	b := tribustest.New(t)
	var conns []net.Conn
	for _, dial := range []func(context.Context, string, string) (net.Conn, error){b.Redis().Dial, b.Kafka().Dial, b.AMQP().DialContext} {
		nc, err := dial(t.Context(), "tcp", "tribus")
		require.NoError(t, err)
		defer nc.Close()
		conns = append(conns, nc)
	}
	assert.Equal(t, 3, b.DropConnections())
	for _, nc := range conns {
		_, err := io.ReadAll(nc) // what the door had sent (the AMQP header exchange), then the close
		assert.NoError(t, err)
	}
	nc, err := b.Redis().Dial(t.Context(), "tcp", "tribus")
	require.NoError(t, err, "the doors go on serving")
	nc.Close()
}

// A delayed delivery is unacked at once and reaches the consumer after the delay; the next
// one waits behind it.
func TestInject_DelayDeliveryHoldsItBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		s := b.Session()
		_, err := s.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		c, err := s.Consume("q", exchange.ConsumeOptions{})
		require.NoError(t, err)
		b.Inject(tribustest.DelayDelivery(5 * time.Second).Queue("q"))
		start := time.Now()
		for _, body := range []string{"slow", "behind"} {
			_, err := s.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte(body)})
			require.NoError(t, err)
		}
		b.Wait(tribustest.QueueUnacked("q", 2))
		assert.True(t, b.CheckNoDelivery(c), "nothing reaches the consumer before the delay")
		for _, want := range []string{"slow", "behind"} {
			d, err := c.Next(t.Context())
			require.NoError(t, err)
			assert.Equal(t, want, string(d.Body))
			assert.Equal(t, 5*time.Second, time.Since(start))
			require.NoError(t, d.Ack())
		}
	})
}

func TestInject_DuplicateProduceAppendsTwice(t *testing.T) {
	b := tribustest.New(t)
	l := b.Log()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	b.Inject(tribustest.DuplicateProduce().Topic("t"))
	res, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("charge")})
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.Offset, "the copy went first")
	recs, err := l.Fetch(t.Context(), "t", 0, 0, tlog.FetchOptions{})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, recs[0].Value, recs[1].Value)
}

// stableGroupOfTwo starts two members of group g on a topic t of two partitions, each polling
// on its own goroutine, and returns once the group is Stable with both.
func stableGroupOfTwo(t *testing.T) (*tribustest.Broker, []*tlog.GroupConsumer, tlog.GroupDescription) {
	t.Helper()
	b := tribustest.New(t)
	l := b.Log()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	var members []*tlog.GroupConsumer
	for range 2 {
		c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		members = append(members, c)
		go func() {
			for {
				if _, err := c.Poll(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	b.Wait(tribustest.GroupStable("g", 2))
	d, err := l.DescribeGroup("g")
	require.NoError(t, err)
	return b, members, d
}

// A failed fsync of the store fails the persistent publish waiting for it and every write to
// the store after it, until the broker is reopened; what was confirmed before survives, and a
// FailSync narrowed to the store leaves the log's partitions alone.
func TestInject_FailSyncOfTheStoreFailsWritesUntilReopen(t *testing.T) {
	b := tribustest.NewDurable(t)
	_, err := b.Router().QueueDeclare("q", exchange.QueueOptions{Durable: true})
	require.NoError(t, err)
	require.NoError(t, b.Log().CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	persistent := func(body string) exchange.Publishing {
		return exchange.Publishing{DeliveryMode: exchange.Persistent, Body: []byte(body)}
	}
	require.NoError(t, b.Router().Publish(t.Context(), "", "q", false, persistent("kept")))

	sync := b.Inject(tribustest.FailSync().Store())
	assert.ErrorIs(t, b.Router().Publish(t.Context(), "", "q", false, persistent("lost")), tribus.ErrIO)
	assert.Equal(t, 1, sync.Hits())
	_, err = b.Router().QueueDeclare("later", exchange.QueueOptions{Durable: true})
	assert.ErrorIs(t, err, tribus.ErrIO, "the store stays stopped")
	_, err = b.Log().Produce(t.Context(), "t", tlog.Record{Value: []byte("r")})
	assert.NoError(t, err, "the log's partitions fsync on their own")

	b = b.Reopen()
	b.CheckQueue("q", "kept")
	_, err = b.Router().QueueDeclare("later", exchange.QueueOptions{Durable: true})
	assert.NoError(t, err)
}

// CloseConnection closes the exchange connection of the client making the matching call, as
// an operator or a network failure would: the call fails with 320, every session of that
// connection ends, its unacked deliveries are redelivered to others, and the Router's shared
// connection (Router.Publish) is never the one closed.
func TestInject_CloseConnectionEndsTheClientsConnection(t *testing.T) {
	b := tribustest.New(t)
	r := b.Router()
	_, err := r.QueueDeclare("jobs", exchange.QueueOptions{})
	require.NoError(t, err)
	closeOnPublish := b.Inject(tribustest.CloseConnection().Queue("jobs"))
	require.NoError(t, r.Publish(t.Context(), "", "jobs", false, exchange.Publishing{Body: []byte("j1")}))
	assert.Equal(t, 0, closeOnPublish.Seen(), "the Router's shared connection is not an opportunity")

	conn, err := r.NewConnection(exchange.ConnectionOptions{})
	require.NoError(t, err)
	publisher, err := conn.NewSession()
	require.NoError(t, err)
	other, err := conn.NewSession()
	require.NoError(t, err)
	_, err = publisher.Publish(t.Context(), "", "jobs", false, exchange.Publishing{Body: []byte("lost")})
	assert.ErrorIs(t, err, exchange.ErrConnectionForced)
	assert.Equal(t, 320, exchange.ReplyCode(err))
	<-conn.Done()
	assert.ErrorIs(t, other.Err(), exchange.ErrConnectionForced, "the connection's other sessions end with it")
	b.CheckQueue("jobs", "j1")

	closeOnAck := b.Inject(tribustest.CloseConnection().Queue("jobs"))
	closeOnPublish.Remove()
	conn, err = r.NewConnection(exchange.ConnectionOptions{})
	require.NoError(t, err)
	s, err := conn.NewSession()
	require.NoError(t, err)
	c, err := s.Consume("jobs", exchange.ConsumeOptions{})
	require.NoError(t, err)
	d, err := c.Next(t.Context())
	require.NoError(t, err)
	assert.ErrorIs(t, d.Ack(), exchange.ErrConnectionForced)
	assert.Equal(t, 1, closeOnAck.Hits())
	<-conn.Done()

	again, err := r.Consume("jobs", exchange.ConsumeOptions{})
	require.NoError(t, err)
	d, err = again.Next(t.Context())
	require.NoError(t, err)
	assert.True(t, d.Redelivered, "the unacked delivery went back with its connection")
	require.NoError(t, d.Ack())
	b.Wait(tribustest.QueueDrained("jobs"))
}
