package exchange_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// declareDLQ declares a fanout exchange dlx and a queue dlq bound to it, to collect what other
// queues dead-letter.
func declareDLQ(t *testing.T, s *exchange.Session, dlx, dlq string) {
	t.Helper()
	require.NoError(t, s.ExchangeDeclare(dlx, exchange.Fanout, exchange.ExchangeOptions{}))
	declareQueue(t, s, dlq, exchange.QueueOptions{})
	require.NoError(t, s.QueueBind(dlq, dlx, "", nil))
}

func TestMaxLength_A33_CountsReadyMessagesOnly(t *testing.T) {
	bigHeaders := exchange.Table{"pad": strings.Repeat("h", 1024)} // headers are not counted
	cases := []struct {
		name string
		opts exchange.QueueOptions
		// steps: "+body" publishes, "get" takes the head unacked.
		steps []string
		want  []string // ready bodies at the end, in order
		drops uint64
	}{
		{
			name:  "x-max-length",
			opts:  exchange.QueueOptions{MaxLength: 2},
			steps: []string{"+m1", "+m2", "get", "+m3", "+m4"},
			want:  []string{"m3", "m4"}, // m1 is unacked and not counted; m4 pushes out m2
			drops: 1,
		},
		{
			name:  "x-max-length-bytes",
			opts:  exchange.QueueOptions{MaxLengthBytes: 10},
			steps: []string{"+aaaaa", "+bbbbb", "get", "+ccccc", "+d"},
			want:  []string{"ccccc", "d"}, // 5+5 fits; d makes 11 and pushes out bbbbb
			drops: 1,
		},
		{
			name:  "both, bytes reached first",
			opts:  exchange.QueueOptions{MaxLength: 3, MaxLengthBytes: 4},
			steps: []string{"+aa", "+bb", "+c"},
			want:  []string{"bb", "c"},
			drops: 1,
		},
		{
			name:  "both, length reached first",
			opts:  exchange.QueueOptions{MaxLength: 2, MaxLengthBytes: 100},
			steps: []string{"+a", "+b", "+c"},
			want:  []string{"b", "c"},
			drops: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", tc.opts)
			var held []*exchange.Delivery
			for _, step := range tc.steps {
				if step == "get" {
					held = append(held, getUnacked(t, s, "q"))
					continue
				}
				publishMsg(t, s, "", "q", exchange.Publishing{Headers: bigHeaders, Body: []byte(step[1:])})
			}
			info, err := r.QueueInfo("q")
			require.NoError(t, err)
			assert.Equal(t, len(held), info.Unacked)
			assert.Equal(t, tc.drops, info.Dropped["maxlen"])
			assert.Equal(t, tc.want, bodies(t, s, "q"))
		})
	}
	// Reference: A33, rabbitmq.com/docs/maxlength
}

func TestMaxLength_A34_DropHeadDropsOldest(t *testing.T) {
	t.Run("no DLX", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{MaxLength: 2})
		for _, b := range []string{"1", "2", "3", "4"} {
			publish(t, s, "", "q", b)
		}
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, map[string]uint64{"maxlen": 2}, info.Dropped)
		assert.Equal(t, []string{"3", "4"}, bodies(t, s, "q"))
	})
	t.Run("dead-lettered with reason maxlen", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", exchange.QueueOptions{MaxLength: 2, DeadLetterExchange: "dlx"})
		for _, b := range []string{"1", "2", "3"} {
			publish(t, s, "", "q", b)
		}
		assert.Equal(t, []string{"2", "3"}, bodies(t, s, "q"))
		d := getUnacked(t, s, "dlq")
		assert.Equal(t, "1", string(d.Body))
		assert.Equal(t, "maxlen", d.Headers["x-first-death-reason"])
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), info.DeadLettered)
		assert.Empty(t, info.Dropped)
	})
	t.Run("requeued message goes back to the head and is the one dropped", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", exchange.QueueOptions{MaxLength: 2, DeadLetterExchange: "dlx"})
		publish(t, s, "", "q", "1")
		publish(t, s, "", "q", "2")
		d := getUnacked(t, s, "q")  // 1 unacked; 2 ready
		publish(t, s, "", "q", "3") // 2, 3 ready: full
		require.NoError(t, d.Nack(true))
		assert.Equal(t, []string{"2", "3"}, bodies(t, s, "q"))
		dead := getUnacked(t, s, "dlq")
		assert.Equal(t, "1", string(dead.Body))
		assert.Equal(t, "maxlen", dead.Headers["x-first-death-reason"])
	})
	// Reference: A34, rabbitmq.com/docs/maxlength#default-behaviour; SEMANTICS.md §1.3b (requeue)
}

func TestMaxLength_A35_RejectPublishRefusesNewMessage(t *testing.T) {
	for _, overflow := range []exchange.Overflow{exchange.RejectPublish, exchange.RejectPublishDLX} {
		t.Run(string(overflow), func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareDLQ(t, s, "dlx", "dlq")
			declareQueue(t, s, "q", exchange.QueueOptions{MaxLength: 1, Overflow: overflow, DeadLetterExchange: "dlx"})
			require.NoError(t, s.Confirm())
			var returned int
			s.NotifyReturn(func(*exchange.ReturnedError) { returned++ })
			pub := func(body string) exchange.Confirmation {
				conf, err := s.Publish(context.Background(), "", "q", true, exchange.Publishing{Body: []byte(body)})
				require.NoError(t, err)
				return conf
			}
			assert.True(t, pub("old").Ack)
			assert.False(t, pub("new").Ack, "the publisher gets a nack (A19)")
			assert.Zero(t, returned, "a refused publish is not returned, even with mandatory (§1.3b)")

			info, err := r.QueueInfo("q")
			require.NoError(t, err)
			assert.Equal(t, []string{"old"}, bodies(t, s, "q"), "the new message is refused, the old one stays")
			if overflow == exchange.RejectPublish {
				assert.Equal(t, uint64(1), info.Dropped["reject-publish"])
				assert.Zero(t, info.DeadLettered)
				assert.Equal(t, 0, ready(t, r, "dlq"), "reject-publish does not dead-letter")
				return
			}
			assert.Equal(t, uint64(1), info.DeadLettered)
			d := getUnacked(t, s, "dlq")
			assert.Equal(t, "new", string(d.Body))
			assert.Equal(t, "maxlen", d.Headers["x-first-death-reason"])
		})
	}
	// Reference: A35, rabbitmq.com/docs/maxlength#overflow-behaviour
}

func TestQueueArgs_WrongTypeIsPreconditionFailed(t *testing.T) {
	cases := []struct {
		name string
		opts exchange.QueueOptions
	}{
		{"x-message-ttl string", exchange.QueueOptions{Args: exchange.Table{"x-message-ttl": "1000"}}},
		{"x-message-ttl float", exchange.QueueOptions{Args: exchange.Table{"x-message-ttl": 1.5}}},
		{"x-message-ttl negative", exchange.QueueOptions{Args: exchange.Table{"x-message-ttl": int64(-1)}}},
		{"x-expires string", exchange.QueueOptions{Args: exchange.Table{"x-expires": "1000"}}},
		{"x-expires zero", exchange.QueueOptions{Args: exchange.Table{"x-expires": int64(0)}}},
		{"x-expires negative", exchange.QueueOptions{Args: exchange.Table{"x-expires": int32(-5)}}},
		{"x-max-length string", exchange.QueueOptions{Args: exchange.Table{"x-max-length": "10"}}},
		{"x-max-length negative", exchange.QueueOptions{Args: exchange.Table{"x-max-length": int64(-1)}}},
		{"x-max-length-bytes bool", exchange.QueueOptions{Args: exchange.Table{"x-max-length-bytes": true}}},
		{"x-max-length-bytes negative", exchange.QueueOptions{Args: exchange.Table{"x-max-length-bytes": int64(-1)}}},
		{"x-overflow int", exchange.QueueOptions{Args: exchange.Table{"x-overflow": int64(1)}}},
		{"x-overflow bogus", exchange.QueueOptions{Args: exchange.Table{"x-overflow": "bogus"}}},
		{"Overflow bogus", exchange.QueueOptions{Overflow: "bogus"}},
		{"x-dead-letter-exchange int", exchange.QueueOptions{Args: exchange.Table{"x-dead-letter-exchange": int32(5)}}},
		{"x-dead-letter-routing-key bool", exchange.QueueOptions{Args: exchange.Table{"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": true}}},
		{"x-dead-letter-routing-key without exchange", exchange.QueueOptions{DeadLetterRoutingKey: "k"}},
		{"x-max-priority string", exchange.QueueOptions{Args: exchange.Table{"x-max-priority": "5"}}},
		{"x-max-priority 300", exchange.QueueOptions{Args: exchange.Table{"x-max-priority": int64(300)}}},
		{"x-max-priority negative", exchange.QueueOptions{Args: exchange.Table{"x-max-priority": int64(-1)}}},
		{"x-single-active-consumer string", exchange.QueueOptions{Args: exchange.Table{"x-single-active-consumer": "true"}}},
		{"x-single-active-consumer int", exchange.QueueOptions{Args: exchange.Table{"x-single-active-consumer": int64(1)}}},
		{"x-delivery-limit string", exchange.QueueOptions{Args: exchange.Table{"x-delivery-limit": "5"}}},
		{"x-queue-type int", exchange.QueueOptions{Args: exchange.Table{"x-queue-type": int64(1)}}},
		{"x-queue-type bogus", exchange.QueueOptions{Args: exchange.Table{"x-queue-type": "bogus"}}},
		{"typed field and Args disagree", exchange.QueueOptions{MaxLength: 5, Args: exchange.Table{"x-max-length": int64(6)}}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t)
			name := fmt.Sprintf("q%d", i)
			_, err := r.QueueDeclare(name, tc.opts)
			require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
			assert.Equal(t, 406, exchange.ReplyCode(err))
			_, err = r.QueueInfo(name)
			assert.ErrorIs(t, err, exchange.ErrNotFound, "nothing is declared")

			s := newSession(t, r)
			_, err = s.QueueDeclare(name, tc.opts)
			require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
			assert.ErrorIs(t, s.Err(), exchange.ErrPreconditionFailed, "406 closes the channel")
		})
	}

	t.Run("every AMQP integer width is an integer", func(t *testing.T) {
		r := newRouter(t)
		for i, v := range []any{int8(5), int16(5), int32(5), int64(5), int(5), uint8(5), uint16(5), uint32(5)} {
			_, err := r.QueueDeclare(fmt.Sprintf("w%d", i), exchange.QueueOptions{Args: exchange.Table{"x-max-length": v}})
			assert.NoError(t, err, "%T", v)
		}
	})

	t.Run("unknown x- arguments are kept and ignored", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		unknown := exchange.Table{"x-tribus-unknown": "v", "x-custom-number": int64(7)}
		info, err := s.QueueDeclare("q", exchange.QueueOptions{MaxLength: 5, Args: unknown})
		require.NoError(t, err)
		assert.Equal(t, "v", info.Args["x-tribus-unknown"])
		assert.Equal(t, int64(7), info.Args["x-custom-number"])
		assert.Equal(t, int64(5), info.Args["x-max-length"], "typed options are merged into Args")

		_, err = s.QueueDeclare("q", exchange.QueueOptions{MaxLength: 5, Args: exchange.Table{"x-tribus-unknown": "other"}})
		assert.NoError(t, err, "unknown arguments take no part in equivalence")
		publish(t, s, "", "q", "m")
		assert.Equal(t, []string{"m"}, bodies(t, s, "q"))
		assert.NoError(t, s.Err())
	})
	// Reference: A20, A27, A32–A38, rabbitmq.com/docs/queues#optional-arguments
}
