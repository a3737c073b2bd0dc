package exchange_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// TestQueue_RandomOperationsAgainstModel drives one queue with random publishes, gets,
// consumes, acks, nacks, rejects, cancels and session closes, and checks it against a model:
// because requeues go back to their original positions (A50, A51), the ready messages are
// always in publish order; a message is never delivered twice unless it was requeued (and then
// it is marked redelivered); every published message is ready, unacked, acked or dropped,
// exactly once.
func TestQueue_RandomOperationsAgainstModel(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("seed %d", seed)
				}
			}()
			runModel(t, seed, 600)
		})
	}
}

type modelMsg struct {
	id        int
	delivered bool // delivered at least once
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	r := newRouter(t)
	admin := newSession(t, r)
	declareQueue(t, admin, "q", exchange.QueueOptions{})

	var ready []*modelMsg          // in publish order, always
	unacked := map[int]*modelMsg{} // by message id
	byTag := map[*exchange.Delivery]int{}
	var outstanding []*exchange.Delivery
	acked, dropped, published := 0, 0, 0

	type sess struct {
		s *exchange.Session
		c *exchange.Consumer
	}
	sessions := make([]*sess, 2)
	open := func(i int) {
		s, err := r.NewSession()
		require.NoError(t, err)
		sessions[i] = &sess{s: s}
	}
	open(0)
	open(1)
	ownerOf := map[*exchange.Delivery]int{}

	requeue := func(m *modelMsg) {
		i, _ := slices.BinarySearchFunc(ready, m.id, func(a *modelMsg, id int) int { return a.id - id })
		ready = slices.Insert(ready, i, m)
	}
	receive := func(si int, d *exchange.Delivery) {
		id, err := strconv.Atoi(string(d.Body))
		require.NoError(t, err)
		require.NotEmpty(t, ready, "delivered %d from an empty model queue", id)
		head := ready[0]
		require.Equal(t, head.id, id, "the queue delivers its head, in publish order")
		require.Equal(t, head.delivered, d.Redelivered, "redelivered exactly when delivered before")
		ready = ready[1:]
		head.delivered = true
		unacked[id] = head
		byTag[d] = id
		ownerOf[d] = si
		outstanding = append(outstanding, d)
	}
	settleRandom := func() {
		if len(outstanding) == 0 {
			return
		}
		i := rng.IntN(len(outstanding))
		d := outstanding[i]
		outstanding = slices.Delete(outstanding, i, i+1)
		id := byTag[d]
		m := unacked[id]
		delete(unacked, id)
		switch rng.IntN(4) {
		case 0, 1:
			require.NoError(t, d.Ack())
			acked++
		case 2:
			require.NoError(t, d.Nack(true))
			requeue(m)
		default:
			require.NoError(t, d.Reject(false))
			dropped++
		}
	}

	// drain reads everything the consumers have been pushed, as a client reading its socket at
	// once would. One step pushes the first few ready messages, in order, spread over the
	// consumers, so they are received in id order.
	drain := func() {
		var got []*exchange.Delivery
		owner := map[*exchange.Delivery]int{}
		for si, ss := range sessions {
			for ss.c != nil {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				d, err := ss.c.Next(ctx)
				if err != nil {
					break
				}
				got = append(got, d)
				owner[d] = si
			}
		}
		slices.SortFunc(got, func(a, b *exchange.Delivery) int {
			x, _ := strconv.Atoi(string(a.Body))
			y, _ := strconv.Atoi(string(b.Body))
			return x - y
		})
		for _, d := range got {
			receive(owner[d], d)
		}
	}

	for range steps {
		si := rng.IntN(2)
		s := sessions[si]
		switch rng.IntN(10) {
		case 0, 1, 2:
			published++
			m := &modelMsg{id: published}
			ready = append(ready, m)
			_, err := s.s.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte(strconv.Itoa(m.id))})
			require.NoError(t, err)
		case 3:
			d, err := s.s.Get("q", false)
			require.NoError(t, err)
			if d == nil {
				require.Empty(t, ready)
				break
			}
			receive(si, d)
		case 4:
			if s.c == nil {
				c, err := s.s.Consume("q", exchange.ConsumeOptions{Prefetch: 1 + rng.IntN(3)})
				require.NoError(t, err)
				s.c = c
			}
		case 5, 6, 7:
			settleRandom()
		case 8:
			if s.c != nil && rng.IntN(3) == 0 {
				drain()
				require.NoError(t, s.c.Cancel()) // its unacked deliveries stay with the session (A52)
				s.c = nil
			}
		case 9:
			if rng.IntN(4) != 0 {
				break
			}
			drain()
			require.NoError(t, s.s.Close())
			s.c = nil
			// All its unacked deliveries go back in their original positions (A51).
			outstanding = slices.DeleteFunc(outstanding, func(d *exchange.Delivery) bool {
				if ownerOf[d] != si {
					return false
				}
				m := unacked[byTag[d]]
				delete(unacked, byTag[d])
				requeue(m)
				return true
			})
			open(si)
		}
		drain()
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		require.Equal(t, len(ready), info.Ready)
		require.Equal(t, len(unacked), info.Unacked)
		require.Equal(t, published, len(ready)+len(unacked)+acked+dropped, "every message accounted for once")
	}
	for _, ss := range sessions {
		require.NoError(t, ss.s.Close())
	}
	for _, d := range outstanding {
		requeue(unacked[byTag[d]])
	}
	var want, got []int
	for _, m := range ready {
		want = append(want, m.id)
	}
	for _, b := range bodies(t, admin, "q") {
		id, _ := strconv.Atoi(b)
		got = append(got, id)
	}
	require.Equal(t, want, got, "ready messages are in publish order and none is lost or duplicated")
}
