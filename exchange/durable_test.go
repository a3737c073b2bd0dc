package exchange_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/store"
)

// forEachStore runs body with a bbolt store in a temp dir and with the memory backend: the
// router's persistence is the same code on both.
func forEachStore(t *testing.T, body func(t *testing.T, st *store.Store)) {
	t.Run("bbolt", func(t *testing.T) {
		st, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), &store.Options{NoSync: true})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		body(t, st)
	})
	t.Run("memory", func(t *testing.T) {
		st := store.OpenMemory()
		t.Cleanup(func() { st.Close() })
		body(t, st)
	})
}

func openDurable(t *testing.T, st *store.Store) *exchange.Router {
	t.Helper()
	r, err := exchange.New(&exchange.Options{Store: st})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// restart closes r, as a broker shutting down would, and opens a router on the same store.
func restart(t *testing.T, r *exchange.Router, st *store.Store) *exchange.Router {
	t.Helper()
	require.NoError(t, r.Close())
	return openDurable(t, st)
}

func persistent(body string) exchange.Publishing {
	return exchange.Publishing{DeliveryMode: exchange.Persistent, Body: []byte(body)}
}

func TestDurable_DeclarationsSurviveRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		require.NoError(t, s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true, AlternateExchange: "ae"}))
		require.NoError(t, s.ExchangeDeclare("ae", exchange.Fanout, exchange.ExchangeOptions{Durable: true}))
		require.NoError(t, s.ExchangeDeclare("temp-x", exchange.Fanout, exchange.ExchangeOptions{}))
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, MaxLength: 10, Args: exchange.Table{"x-custom": int32(7)}})
		declareQueue(t, s, "lost", exchange.QueueOptions{Durable: true})
		declareQueue(t, s, "temp-q", exchange.QueueOptions{})
		declareQueue(t, s, "excl", exchange.QueueOptions{Durable: true, Exclusive: true})
		require.NoError(t, s.QueueBind("q", "orders", "order.*", nil))
		require.NoError(t, s.QueueBind("lost", "ae", "", nil))
		require.NoError(t, s.QueueBind("temp-q", "orders", "#", nil)) // transient end: not kept
		require.NoError(t, s.ExchangeBind("orders", "ae", "x", nil))

		r = restart(t, r, st)
		assert.Contains(t, r.Exchanges(), "orders")
		assert.Contains(t, r.Exchanges(), "ae")
		assert.NotContains(t, r.Exchanges(), "temp-x")
		assert.Equal(t, []string{"lost", "q"}, r.Queues(), "transient and exclusive queues are gone (A26)")
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, int32(7), info.Args["x-custom"])
		ex, err := r.ExchangeInfo("orders")
		require.NoError(t, err)
		assert.Equal(t, "ae", ex.AlternateExchange)

		s = newSession(t, r)
		_, err = s.QueueDeclare("q", exchange.QueueOptions{Durable: true, MaxLength: 10, Args: exchange.Table{"x-custom": int32(7)}})
		require.NoError(t, err, "redeclaring with the same arguments is still equivalent")
		publish(t, s, "orders", "order.created", "routed")
		publish(t, s, "orders", "nobody", "to the AE")
		assert.Equal(t, []string{"routed"}, bodies(t, s, "q"))
		assert.Equal(t, []string{"to the AE"}, bodies(t, s, "lost"))
	})
}

func TestDurable_PersistentMessagesComeBackInOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
		declareQueue(t, s, "transient-queue", exchange.QueueOptions{})
		for _, b := range []string{"1", "2", "3", "4", "5"} {
			publishMsg(t, s, "", "q", persistent(b))
		}
		publishMsg(t, s, "", "q", exchange.Publishing{Body: []byte("transient message")})
		publishMsg(t, s, "", "transient-queue", persistent("not kept"))
		d1, err := s.Get("q", false) // delivered, then acked: gone
		require.NoError(t, err)
		require.NoError(t, d1.Ack())
		_, err = s.Get("q", false) // "2" delivered and never acked
		require.NoError(t, err)

		r = restart(t, r, st)
		s = newSession(t, r)
		var got []string
		var redelivered []bool
		for {
			d, err := s.Get("q", true)
			require.NoError(t, err)
			if d == nil {
				break
			}
			got = append(got, string(d.Body))
			redelivered = append(redelivered, d.Redelivered)
		}
		assert.Equal(t, []string{"2", "3", "4", "5"}, got, "acked and transient messages are gone, the rest in order")
		assert.Equal(t, []bool{true, false, false, false}, redelivered)
		assert.NotContains(t, r.Queues(), "transient-queue")
	})
}

func TestDurable_RemovedMessagesStayRemoved(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		require.NoError(t, s.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{Durable: true}))
		declareQueue(t, s, "dlq", exchange.QueueOptions{Durable: true})
		require.NoError(t, s.QueueBind("dlq", "dlx", "", nil))
		declareQueue(t, s, "work", exchange.QueueOptions{Durable: true, MaxLength: 3, DeadLetterExchange: "dlx"})
		declareQueue(t, s, "purged", exchange.QueueOptions{Durable: true})
		declareQueue(t, s, "deleted", exchange.QueueOptions{Durable: true})
		for _, b := range []string{"a", "b", "c", "d"} { // "a" is dropped for length, to the DLQ
			publishMsg(t, s, "", "work", persistent(b))
		}
		d, err := s.Get("work", false)
		require.NoError(t, err)
		require.NoError(t, d.Nack(false)) // "b" rejected, to the DLQ
		publishMsg(t, s, "", "purged", persistent("p"))
		_, err = s.QueuePurge("purged")
		require.NoError(t, err)
		publishMsg(t, s, "", "deleted", persistent("x"))
		_, err = s.QueueDelete("deleted", false, false)
		require.NoError(t, err)

		r = restart(t, r, st)
		s = newSession(t, r)
		assert.Equal(t, []string{"c", "d"}, bodies(t, s, "work"))
		assert.Empty(t, bodies(t, s, "purged"))
		assert.NotContains(t, r.Queues(), "deleted")
		var reasons []any
		for {
			d, err := s.Get("dlq", true)
			require.NoError(t, err)
			if d == nil {
				break
			}
			reasons = append(reasons, d.Headers["x-death"].([]any)[0].(exchange.Table)["reason"])
		}
		assert.Equal(t, []any{"maxlen", "rejected"}, reasons, "dead letters keep their x-death across a restart")
	})
}

func TestDurable_TTLKeepsOriginalExpiryAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.OpenMemory()
		defer st.Close()
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, MessageTTL: time.Minute})
		publishMsg(t, s, "", "q", persistent("short"))
		time.Sleep(40 * time.Second)
		r = restart(t, r, st)
		time.Sleep(19 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, ready(t, r, "q"), "59 s after publishing it is still there")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, 0, ready(t, r, "q"), "it expires at its original time, not a minute after the restart (A29)")
	})
}

func TestDurable_UnackedOnShutdownComeBackRedelivered(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
		for _, b := range []string{"1", "2", "3"} {
			publishMsg(t, s, "", "q", persistent(b))
		}
		c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 2})
		require.NoError(t, err)
		next(t, c)
		next(t, c)
		r = restart(t, r, st)
		s = newSession(t, r)
		var redelivered []bool
		for range 3 {
			d, err := s.Get("q", true)
			require.NoError(t, err)
			redelivered = append(redelivered, d.Redelivered)
		}
		assert.Equal(t, []bool{true, true, false}, redelivered)
	})
}

func TestPublisher_ConfirmsInOrderAfterStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, MaxLength: 5, Overflow: exchange.RejectPublish})
		var mu sync.Mutex
		var confirms []exchange.Confirmation
		p, err := s.NewPublisher(4, func(c exchange.Confirmation) {
			mu.Lock()
			confirms = append(confirms, c)
			mu.Unlock()
		})
		require.NoError(t, err)
		for i := range 7 {
			seq, err := p.Publish(context.Background(), "", "q", false, persistent(string(rune('a'+i))))
			require.NoError(t, err)
			assert.Equal(t, uint64(i+1), seq)
		}
		_, err = p.Publish(context.Background(), "", "nowhere", true, persistent("x"))
		var ret *exchange.ReturnedError
		require.ErrorAs(t, err, &ret)
		require.NoError(t, p.Close())
		want := []exchange.Confirmation{{1, true}, {2, true}, {3, true}, {4, true}, {5, true}, {6, false}, {7, false}, {8, true}}
		assert.Equal(t, want, confirms, "one confirm per publish, in order; full reject-publish queue nacks")
		_, err = p.Publish(context.Background(), "", "q", false, persistent("late"))
		assert.ErrorIs(t, err, exchange.ErrClosed)

		r = restart(t, r, st)
		assert.Equal(t, 5, ready(t, r, "q"))
	})
}

func TestDurable_PagedOutMessagesAreReadBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		open := func() *exchange.Router {
			r, err := exchange.New(&exchange.Options{Store: st, MemoryBudget: 1}) // everything beyond one message pages out
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			return r
		}
		r := open()
		s := newSession(t, r)
		require.NoError(t, s.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{Durable: true}))
		declareQueue(t, s, "dlq", exchange.QueueOptions{Durable: true})
		require.NoError(t, s.QueueBind("dlq", "dlx", "", nil))
		declareQueue(t, s, "big", exchange.QueueOptions{Durable: true, DeadLetterExchange: "dlx", MaxPriority: 3})
		for i := range 20 {
			msg := persistent(string(rune('a' + i)))
			msg.Headers = exchange.Table{"n": int32(i)}
			msg.MessageID = string(rune('A' + i))
			msg.Priority = uint8(i % 2)
			publishMsg(t, s, "", "big", msg)
		}
		d, err := s.Get("big", false) // priority 1 first: "b"
		require.NoError(t, err)
		assert.Equal(t, "b", string(d.Body))
		assert.Equal(t, int32(1), d.Headers["n"])
		assert.Equal(t, "B", d.MessageID)
		require.NoError(t, d.Nack(false)) // a paged-out message dead-letters with its content
		dl, err := s.Get("dlq", true)
		require.NoError(t, err)
		assert.Equal(t, "b", string(dl.Body))
		assert.Equal(t, "B", dl.MessageID)

		r = restart(t, r, st)
		r.Close()
		r = open()
		s = newSession(t, r)
		got := bodies(t, s, "big")
		assert.Equal(t, []string{"d", "f", "h", "j", "l", "n", "p", "r", "t", "a", "c", "e", "g", "i", "k", "m", "o", "q", "s"}, got,
			"after a restart beyond the budget, only the index is loaded and the order holds")
	})
}

func TestDurable_CorruptRecordIsAClearError(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "orders", exchange.QueueOptions{Durable: true})
		publishMsg(t, s, "", "orders", persistent("ok"))
		require.NoError(t, r.Close())
		require.NoError(t, st.Update(func(tx *store.Tx) error {
			return tx.Bucket(store.BucketExchange, "messages", "orders").Put([]byte{0, 0, 0, 0, 0, 0, 0, 9}, []byte{1, 4, 0xff})
		}))
		_, err := exchange.New(&exchange.Options{Store: st})
		require.ErrorIs(t, err, exchange.ErrCorrupt)
		assert.Contains(t, err.Error(), `queue "orders": message 9`)
	})
}

// A message dead-lettered while its page-out is still pending (here: dropped from the head of
// a full queue by another publisher before the confirmer has paged it out) is read back and
// forgotten under the queue's lock, so the two never touch the message at once, and the dead
// letter carries the message's body whichever came first. Run with -race.
func TestDurable_DeadLetteringRacesNoPendingPageOut(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r, err := exchange.New(&exchange.Options{Store: st, MemoryBudget: 1})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		s := newSession(t, r)
		require.NoError(t, s.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{Durable: true}))
		declareQueue(t, s, "dlq", exchange.QueueOptions{Durable: true})
		require.NoError(t, s.QueueBind("dlq", "dlx", "", nil))
		declareQueue(t, s, "one", exchange.QueueOptions{Durable: true, DeadLetterExchange: "dlx", MaxLength: 1})
		const perPublisher = 200
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for p := range 2 {
			wg.Go(func() {
				ps, err := r.NewSession()
				if err != nil {
					errs <- err
					return
				}
				defer ps.Close()
				for i := range perPublisher {
					body := fmt.Sprintf("%d-%d", p, i)
					if _, err := ps.Publish(context.Background(), "", "one", false, persistent(body)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		dead := bodies(t, s, "dlq")
		kept := bodies(t, s, "one")
		require.Len(t, kept, 1)
		require.Len(t, dead, 2*perPublisher-1, "every message but the last is dropped from the head")
		for _, b := range dead {
			assert.NotEmpty(t, b, "a dead letter carries its body")
		}
	})
}

// A long paged-out queue is read back in batches (several batches here, with priorities and a
// requeued message among them): every message is delivered once, in the queue's order, with
// its own body and properties.
func TestDurable_PagedOutBacklogIsReadBackInOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r, err := exchange.New(&exchange.Options{Store: st, MemoryBudget: 1})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		s := newSession(t, r)
		declareQueue(t, s, "long", exchange.QueueOptions{Durable: true, MaxPriority: 1})
		const n = 1500 // about three read-back batches
		for i := range n {
			msg := persistent(fmt.Sprintf("m%04d", i))
			msg.MessageID = fmt.Sprint(i)
			msg.Priority = uint8(i % 2)
			publishMsg(t, s, "", "long", msg)
		}
		first, err := s.Get("long", false)
		require.NoError(t, err)
		require.NoError(t, first.Nack(true)) // back to the head, redelivered
		var want []string
		for i := 1; i < n; i += 2 { // priority 1 first, in order
			want = append(want, fmt.Sprintf("m%04d", i))
		}
		for i := 0; i < n; i += 2 {
			want = append(want, fmt.Sprintf("m%04d", i))
		}
		var got []string
		for {
			d, err := s.Get("long", true)
			require.NoError(t, err)
			if d == nil {
				break
			}
			assert.Equal(t, string(d.Body), fmt.Sprintf("m%04s", d.MessageID), "body and properties of one message")
			got = append(got, string(d.Body))
		}
		assert.Equal(t, want, got)
	})
}

// Deletes of acked messages' records are batched for the committer; a delete must still never
// overtake a write of its record queued after the batch, as the re-store of a requeued quorum
// message's delivery count is, or the acked message would come back after a restart.
func TestDurable_AckedMessageStaysRemovedWhenItsRestoreWasQueuedLate(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), &store.Options{NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r := openDurable(t, st)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, QueueType: "quorum"})
	publishMsg(t, s, "", "q", persistent("a"))
	publishMsg(t, s, "", "q", persistent("b"))

	// Hold the committer, so that what follows queues up behind it in order.
	release := make(chan struct{})
	held := make(chan struct{})
	st.Submit(func(*store.Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	a, err := s.Get("q", false)
	require.NoError(t, err)
	require.NoError(t, a.Ack()) // queues a batch of deletes
	b, err := s.Get("q", false)
	require.NoError(t, err)
	require.NoError(t, b.Reject(true)) // queues the re-store of b's delivery count
	b, err = s.Get("q", false)
	require.NoError(t, err)
	require.Equal(t, "b", string(b.Body))
	require.NoError(t, b.Ack()) // must not join the batch queued before the re-store
	close(release)

	r = restart(t, r, st)
	s = newSession(t, r)
	assert.Empty(t, bodies(t, s, "q"), "both acked messages stay removed")
}

// A pipeline publishes without confirm mode: nothing is numbered, the session can still select
// confirm mode (whose numbers then start at 1) or transactions, and what it published is on
// disk once it is closed.
func TestPublisher_PipelineWithoutConfirmMode(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
		p, err := s.NewPipeline(2)
		require.NoError(t, err)
		for i := range 5 {
			seq, err := p.Publish(context.Background(), "", "q", false, persistent(string(rune('a'+i))))
			require.NoError(t, err)
			assert.Zero(t, seq)
		}
		require.NoError(t, p.Close())
		require.NoError(t, s.Confirm())
		conf, err := s.Publish(context.Background(), "", "q", false, persistent("f"))
		require.NoError(t, err)
		assert.Equal(t, uint64(1), conf.DeliveryTag, "confirm numbers start at confirm.select")

		r = restart(t, r, st)
		assert.Equal(t, 6, ready(t, r, "q"))
	})
}

func TestPublisher_PipelineOnATransactionalSessionWaitsForCommit(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	require.NoError(t, s.Tx())
	p, err := s.NewPipeline(1)
	require.NoError(t, err)
	defer p.Close()
	for range 3 { // more than the window: held publishes take no room
		_, err = p.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("x")})
		require.NoError(t, err)
	}
	assert.Equal(t, 0, ready(t, r, "q"))
	require.NoError(t, s.TxCommit(context.Background()))
	assert.Equal(t, 3, ready(t, r, "q"))
}
