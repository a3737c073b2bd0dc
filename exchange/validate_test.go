package exchange_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/store"
)

var (
	long  = strings.Repeat("n", exchange.MaxShortString+1) // one byte too long for a shortstr
	short = strings.Repeat("n", exchange.MaxShortString)   // the longest shortstr
)

// nested returns a table nested depth levels deep.
func nested(depth int) exchange.Table {
	t := exchange.Table{"leaf": int32(1)}
	for range depth {
		t = exchange.Table{"t": t}
	}
	return t
}

// wide returns a table of n fields.
func wide(n int) exchange.Table {
	t := make(exchange.Table, n)
	for i := range n {
		t[strings.Repeat("k", 1+i%200)+string(rune('a'+i%26))+itoa(i)] = nil
	}
	return t
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// topology is what a refused call must leave as it was: every exchange and queue with its
// bindings, messages, consumers and counters.
type topology struct {
	Exchanges map[string]exchange.ExchangeInfo
	Queues    map[string]exchange.QueueInfo
}

func snapshot(t *testing.T, r *exchange.Router) topology {
	t.Helper()
	top := topology{Exchanges: map[string]exchange.ExchangeInfo{}, Queues: map[string]exchange.QueueInfo{}}
	for _, name := range r.Exchanges() {
		info, err := r.ExchangeInfo(name)
		require.NoError(t, err)
		top.Exchanges[name] = info
	}
	for _, name := range r.Queues() {
		info, err := r.QueueInfo(name)
		require.NoError(t, err)
		top.Queues[name] = info
	}
	return top
}

// durableShape is the part of a topology a restart keeps: names, bindings, ready messages,
// arguments.
func durableShape(top topology) map[string]any {
	out := map[string]any{}
	for name, x := range top.Exchanges {
		out["x:"+name] = [2]any{x.Kind, x.Bindings}
	}
	for name, q := range top.Queues {
		out["q:"+name] = [2]any{q.Ready, q.Args}
	}
	return out
}

// TestRouter_BadInputRefused: every input the AMQP 0-9-1 wire cannot carry or RabbitMQ refuses
// is refused with a typed error, closes the session that sent it (a channel or connection
// error), and changes nothing. Each row checks, beyond its sentinel and reply code: the
// session is closed with that error; every exchange and queue has the same bindings, ready and
// unacked messages, consumers and counters as before (no exchange, queue, binding, consumer or
// message created, no publish counted); and after a restart on the same store the durable
// topology and the persistent message are exactly those of the setup (nothing persisted).
func TestRouter_BadInputRefused(t *testing.T) {
	ctx := context.Background()
	pub := func(key string, msg exchange.Publishing) func(s *exchange.Session) error {
		return func(s *exchange.Session) error { _, err := s.Publish(ctx, "x", key, false, msg); return err }
	}
	declare := func(o exchange.QueueOptions) func(s *exchange.Session) error {
		return func(s *exchange.Session) error { _, err := s.QueueDeclare("new", o); return err }
	}
	args := func(k string, v any) exchange.QueueOptions {
		return exchange.QueueOptions{Durable: true, Args: exchange.Table{k: v}}
	}
	consume := func(o exchange.ConsumeOptions) func(s *exchange.Session) error {
		return func(s *exchange.Session) error { _, err := s.Consume("q", o); return err }
	}
	cyclic := exchange.Table{}
	cyclic["self"] = cyclic

	tests := []struct {
		name string
		call func(s *exchange.Session) error
		want error
		code int
	}{
		// 1. short strings over 255 bytes
		{"exchange name 256 bytes", func(s *exchange.Session) error {
			return s.ExchangeDeclare(long, exchange.Direct, exchange.ExchangeOptions{Durable: true})
		}, exchange.ErrSyntaxError, 502},
		{"queue name 256 bytes", func(s *exchange.Session) error {
			_, err := s.QueueDeclare(long, exchange.QueueOptions{Durable: true})
			return err
		}, exchange.ErrSyntaxError, 502},
		{"publish exchange name 256 bytes", func(s *exchange.Session) error {
			_, err := s.Publish(ctx, long, "k", false, exchange.Publishing{})
			return err
		}, exchange.ErrSyntaxError, 502},
		{"publish routing key 256 bytes", pub(long, exchange.Publishing{}), exchange.ErrSyntaxError, 502},
		{"content-type 256 bytes", pub("k", exchange.Publishing{ContentType: long}), exchange.ErrSyntaxError, 502},
		{"content-encoding 256 bytes", pub("k", exchange.Publishing{ContentEncoding: long}), exchange.ErrSyntaxError, 502},
		{"message-id 256 bytes", pub("k", exchange.Publishing{MessageID: long}), exchange.ErrSyntaxError, 502},
		{"correlation-id 256 bytes", pub("k", exchange.Publishing{CorrelationID: long}), exchange.ErrSyntaxError, 502},
		{"reply-to 256 bytes", pub("k", exchange.Publishing{ReplyTo: long}), exchange.ErrSyntaxError, 502},
		{"expiration 256 bytes", pub("k", exchange.Publishing{Expiration: strings.Repeat("1", 256)}), exchange.ErrSyntaxError, 502},
		{"type 256 bytes", pub("k", exchange.Publishing{Type: long}), exchange.ErrSyntaxError, 502},
		{"user-id 256 bytes", pub("k", exchange.Publishing{UserID: long}), exchange.ErrSyntaxError, 502},
		{"app-id 256 bytes", pub("k", exchange.Publishing{AppID: long}), exchange.ErrSyntaxError, 502},
		{"cluster-id 256 bytes", pub("k", exchange.Publishing{ClusterID: long}), exchange.ErrSyntaxError, 502},
		{"header field name 256 bytes", pub("k", exchange.Publishing{Headers: exchange.Table{long: "v"}}), exchange.ErrSyntaxError, 502},
		{"nested header field name 256 bytes", pub("k", exchange.Publishing{Headers: exchange.Table{"a": exchange.Table{long: int32(1)}}}), exchange.ErrSyntaxError, 502},
		{"queue.bind key 256 bytes", func(s *exchange.Session) error { return s.QueueBind("q", "x", long, nil) }, exchange.ErrSyntaxError, 502},
		{"queue.bind queue name 256 bytes", func(s *exchange.Session) error { return s.QueueBind(long, "x", "k", nil) }, exchange.ErrSyntaxError, 502},
		{"queue.unbind key 256 bytes", func(s *exchange.Session) error { return s.QueueUnbind("q", "x", long, nil) }, exchange.ErrSyntaxError, 502},
		{"exchange.bind key 256 bytes", func(s *exchange.Session) error { return s.ExchangeBind("x2", "x", long, nil) }, exchange.ErrSyntaxError, 502},
		{"exchange.unbind key 256 bytes", func(s *exchange.Session) error { return s.ExchangeUnbind("x2", "x", long, nil) }, exchange.ErrSyntaxError, 502},
		{"binding argument name 256 bytes", func(s *exchange.Session) error {
			return s.QueueBind("q", "x", "k2", exchange.Table{long: int32(1)})
		}, exchange.ErrSyntaxError, 502},
		{"queue argument name 256 bytes", declare(args(long, int32(1))), exchange.ErrSyntaxError, 502},
		{"exchange argument name 256 bytes", func(s *exchange.Session) error {
			return s.ExchangeDeclare("new", exchange.Fanout, exchange.ExchangeOptions{Durable: true, Args: exchange.Table{long: int32(1)}})
		}, exchange.ErrSyntaxError, 502},
		{"consumer tag 256 bytes", consume(exchange.ConsumeOptions{Tag: long}), exchange.ErrSyntaxError, 502},
		{"consumer argument name 256 bytes", consume(exchange.ConsumeOptions{Args: exchange.Table{long: int32(1)}}), exchange.ErrSyntaxError, 502},
		{"consume queue name 256 bytes", func(s *exchange.Session) error { _, err := s.Consume(long, exchange.ConsumeOptions{}); return err }, exchange.ErrSyntaxError, 502},
		{"get queue name 256 bytes", func(s *exchange.Session) error { _, err := s.Get(long, true); return err }, exchange.ErrSyntaxError, 502},
		{"purge queue name 256 bytes", func(s *exchange.Session) error { _, err := s.QueuePurge(long); return err }, exchange.ErrSyntaxError, 502},
		{"delete queue name 256 bytes", func(s *exchange.Session) error { _, err := s.QueueDelete(long, false, false); return err }, exchange.ErrSyntaxError, 502},
		{"delete exchange name 256 bytes", func(s *exchange.Session) error { return s.ExchangeDelete(long, false) }, exchange.ErrSyntaxError, 502},

		// 4. prefetch: a uint16 on the wire
		{"qos prefetch 65536", func(s *exchange.Session) error { return s.Qos(exchange.MaxPrefetch+1, false) }, exchange.ErrSyntaxError, 502},
		{"qos global prefetch 65536", func(s *exchange.Session) error { return s.Qos(exchange.MaxPrefetch+1, true) }, exchange.ErrSyntaxError, 502},
		{"qos prefetch negative", func(s *exchange.Session) error { return s.Qos(-1, false) }, exchange.ErrPreconditionFailed, 406},
		{"consume prefetch 65536", consume(exchange.ConsumeOptions{Prefetch: exchange.MaxPrefetch + 1}), exchange.ErrSyntaxError, 502},
		{"consume prefetch negative", consume(exchange.ConsumeOptions{Prefetch: -1}), exchange.ErrPreconditionFailed, 406},

		// 5. argument ranges (rabbit_amqqueue declare_args, rabbit_misc:check_expiry: 0..10 years in ms)
		{"x-message-ttl over ten years", declare(args("x-message-ttl", int64(315_360_000_001))), exchange.ErrPreconditionFailed, 406},
		{"x-message-ttl negative", declare(args("x-message-ttl", int64(-1))), exchange.ErrPreconditionFailed, 406},
		{"x-expires over ten years", declare(args("x-expires", int64(315_360_000_001))), exchange.ErrPreconditionFailed, 406},
		{"x-expires zero", declare(args("x-expires", int64(0))), exchange.ErrPreconditionFailed, 406},
		{"MessageTTL option over ten years", declare(exchange.QueueOptions{MessageTTL: 1 << 62}), exchange.ErrPreconditionFailed, 406},
		{"expiration over ten years", pub("k", exchange.Publishing{Expiration: "315360000001"}), exchange.ErrPreconditionFailed, 406},
		{"expiration negative", pub("k", exchange.Publishing{Expiration: "-1"}), exchange.ErrPreconditionFailed, 406},
		{"x-max-priority 256", declare(args("x-max-priority", int64(256))), exchange.ErrPreconditionFailed, 406},
		{"x-max-priority negative", declare(args("x-max-priority", int64(-1))), exchange.ErrPreconditionFailed, 406},
		{"x-max-length negative", declare(args("x-max-length", int64(-1))), exchange.ErrPreconditionFailed, 406},
		{"x-max-length-bytes negative", declare(args("x-max-length-bytes", int64(-1))), exchange.ErrPreconditionFailed, 406},
		{"x-delivery-limit below -1", declare(exchange.QueueOptions{Durable: true, QueueType: "quorum", Args: exchange.Table{"x-delivery-limit": int64(-2)}}), exchange.ErrPreconditionFailed, 406},
		{"x-priority not an integer", consume(exchange.ConsumeOptions{Args: exchange.Table{"x-priority": "high"}}), exchange.ErrPreconditionFailed, 406},

		// 6. body size: Options.MaxMessageSize, 16 MiB by default
		{"Publisher: body over the default MaxMessageSize", func(s *exchange.Session) error {
			p, err := s.NewPublisher(1, nil)
			require.NoError(t, err)
			defer p.Close()
			_, err = p.Publish(ctx, "x", "k", false, exchange.Publishing{Body: make([]byte, exchange.DefaultMaxMessageSize+1)})
			return err
		}, exchange.ErrMessageTooLarge, 406},
		{"Publisher: routing key 256 bytes", func(s *exchange.Session) error {
			p, err := s.NewPublisher(1, nil)
			require.NoError(t, err)
			defer p.Close()
			_, err = p.Publish(ctx, "x", long, false, exchange.Publishing{})
			return err
		}, exchange.ErrSyntaxError, 502},
		{"Publisher: user-id other than the session's user (A64)", func(s *exchange.Session) error {
			p, err := s.NewPublisher(1, nil)
			require.NoError(t, err)
			defer p.Close()
			_, err = p.Publish(ctx, "x", "k", false, exchange.Publishing{UserID: "mallory"})
			return err
		}, exchange.ErrPreconditionFailed, 406},
		{"user-id other than the session's user (A64)", pub("k", exchange.Publishing{UserID: "mallory"}), exchange.ErrPreconditionFailed, 406},
		{"body over the default MaxMessageSize", pub("k", exchange.Publishing{Body: make([]byte, exchange.DefaultMaxMessageSize+1)}), exchange.ErrMessageTooLarge, 406},

		// 7. tables: fields, depth, encoded size
		{"headers nested 65 deep", pub("k", exchange.Publishing{Headers: nested(exchange.MaxTableDepth + 1)}), exchange.ErrTableTooLarge, 406},
		{"headers cyclic", pub("k", exchange.Publishing{Headers: cyclic}), exchange.ErrTableTooLarge, 406},
		{"headers array nested 65 deep", pub("k", exchange.Publishing{Headers: exchange.Table{"a": deepArray(exchange.MaxTableDepth + 1)}}), exchange.ErrTableTooLarge, 406},
		{"headers over MaxTableFields", pub("k", exchange.Publishing{Headers: wide(exchange.MaxTableFields + 1)}), exchange.ErrTableTooLarge, 406},
		{"headers encoding over MaxMessageSize", pub("k", exchange.Publishing{Headers: exchange.Table{"big": make([]byte, exchange.DefaultMaxMessageSize)}}), exchange.ErrTableTooLarge, 406},
		{"queue arguments over MaxTableFields", declare(exchange.QueueOptions{Durable: true, Args: wide(exchange.MaxTableFields + 1)}), exchange.ErrTableTooLarge, 406},
		{"binding arguments nested 65 deep", func(s *exchange.Session) error {
			return s.QueueBind("q", "x", "k3", nested(exchange.MaxTableDepth+1))
		}, exchange.ErrTableTooLarge, 406},
		{"exchange arguments cyclic", func(s *exchange.Session) error {
			return s.ExchangeDeclare("new", exchange.Fanout, exchange.ExchangeOptions{Durable: true, Args: cyclic})
		}, exchange.ErrTableTooLarge, 406},
		{"consumer arguments over MaxTableFields", consume(exchange.ConsumeOptions{Args: wide(exchange.MaxTableFields + 1)}), exchange.ErrTableTooLarge, 406},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := store.OpenMemory()
			t.Cleanup(func() { st.Close() })
			r := openDurable(t, st)
			setup := newSession(t, r)
			require.NoError(t, setup.ExchangeDeclare("x", exchange.Direct, exchange.ExchangeOptions{Durable: true}))
			require.NoError(t, setup.ExchangeDeclare("x2", exchange.Fanout, exchange.ExchangeOptions{Durable: true}))
			declareQueue(t, setup, "q", exchange.QueueOptions{Durable: true})
			require.NoError(t, setup.QueueBind("q", "x", "k", nil))
			publishMsg(t, setup, "x", "k", persistent("kept"))
			before := snapshot(t, r)

			s := newSession(t, r)
			err := tc.call(s)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.code, exchange.ReplyCode(err), "reply code")
			assert.ErrorIs(t, s.Err(), tc.want, "the session is closed by the error")
			assert.Equal(t, before, snapshot(t, r), "nothing changed")

			r2 := restart(t, r, st)
			assert.Equal(t, durableShape(before), durableShape(snapshot(t, r2)), "nothing persisted")
		})
	}
}

func deepArray(depth int) []any {
	a := []any{int32(1)}
	for range depth {
		a = []any{a}
	}
	return a
}

// TestRouter_MaxMessageSize: a body over Options.MaxMessageSize is refused with RabbitMQ's
// 406 text ("message size N is larger than configured max size M", rabbit_channel:check_msg_size),
// a body of exactly that size is accepted (Size =< MaxMessageSize there too).
func TestRouter_MaxMessageSize(t *testing.T) {
	r, err := exchange.New(&exchange.Options{MaxMessageSize: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publishMsg(t, s, "", "q", exchange.Publishing{Body: make([]byte, 1024)})
	_, err = s.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: make([]byte, 1025)})
	require.ErrorIs(t, err, exchange.ErrMessageTooLarge)
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "message size 1025 is larger than configured max size 1024")
	assert.Equal(t, 1, ready(t, r, "q"), "only the message within the limit was enqueued")

	s2 := newSession(t, r)
	_, err = s2.Publish(context.Background(), "", "q", false, exchange.Publishing{Headers: exchange.Table{"h": make([]byte, 1024)}})
	assert.ErrorIs(t, err, exchange.ErrTableTooLarge, "headers encoding over MaxMessageSize")
	// Reference: rabbitmq-server deps/rabbit/src/rabbit_channel.erl check_msg_size
}

// TestNew_MaxMessageSizeOutOfRangeRefused: New refuses a negative MaxMessageSize and one over
// RabbitMQ's 512 MiB (rabbit.schema's max_message_size validator: "between 0 and 512MB").
func TestNew_MaxMessageSizeOutOfRangeRefused(t *testing.T) {
	for _, n := range []int64{-1, exchange.MaxMessageSizeLimit + 1} {
		r, err := exchange.New(&exchange.Options{MaxMessageSize: n})
		assert.ErrorIs(t, err, exchange.ErrInvalidOptions, "MaxMessageSize %d", n)
		assert.Nil(t, r)
	}
	r, err := exchange.New(&exchange.Options{MaxMessageSize: exchange.MaxMessageSizeLimit})
	require.NoError(t, err, "512 MiB itself is RabbitMQ's hard limit and allowed")
	require.NoError(t, r.Close())
}
