package exchange_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/store"
)

// TestRouter_AcceptsWhatRabbitMQAccepts: inputs near the limits of TestRouter_BadInputRefused
// that RabbitMQ accepts are accepted, each row citing where RabbitMQ (rabbitmq-server main,
// read 2026-12) or the AMQP 0-9-1 wire says so. Each row's check says what the input did.
func TestRouter_AcceptsWhatRabbitMQAccepts(t *testing.T) {
	long300 := strings.Repeat("d", 300)
	tests := []struct {
		name   string
		source string
		call   func(t *testing.T, r *exchange.Router, s *exchange.Session)
	}{
		{"names, keys and properties of exactly 255 bytes", "AMQP 0-9-1 shortstr: an octet length, 0..255",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				require.NoError(t, s.ExchangeDeclare(short, exchange.Direct, exchange.ExchangeOptions{}))
				declareQueue(t, s, short[1:]+"q", exchange.QueueOptions{})
				require.NoError(t, s.QueueBind(short[1:]+"q", short, short, exchange.Table{short: int32(1)}))
				publishMsg(t, s, short, short, exchange.Publishing{ContentType: short, MessageID: short, AppID: short,
					Headers: exchange.Table{short: short}})
				assert.Equal(t, 1, ready(t, r, short[1:]+"q"))
			}},
		{"client consumer tag with the amq.ctag- prefix", "rabbit_channel.erl basic.consume: a non-empty ConsumerTag is used as given; only an empty one is replaced by an amq.ctag- name",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				c, err := s.Consume("q", exchange.ConsumeOptions{Tag: "amq.ctag-mine"})
				require.NoError(t, err)
				assert.Equal(t, "amq.ctag-mine", c.Tag())
			}},
		{"consumer tag that is not UTF-8", "rabbit_channel.erl: tags are binaries taken as given (\"We deliberately do not enforce the other constraints on names required by the spec\")",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				c, err := s.Consume("q", exchange.ConsumeOptions{Tag: "\xff\xfe"})
				require.NoError(t, err)
				assert.Equal(t, "\xff\xfe", c.Tag())
			}},
		{"consumer tag of 255 bytes", "AMQP 0-9-1: consumer-tag is a shortstr",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				_, err := s.Consume("q", exchange.ConsumeOptions{Tag: short})
				require.NoError(t, err)
			}},
		{"consumer priority negative and large", "rabbit_amqqueue.erl consume_args: x-priority is check_int_arg, any integer",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				_, err := s.Consume("q", exchange.ConsumeOptions{Args: exchange.Table{"x-priority": int64(-10)}})
				require.NoError(t, err)
				_, err = s.Consume("q", exchange.ConsumeOptions{Args: exchange.Table{"x-priority": int64(1) << 40}})
				require.NoError(t, err)
			}},
		{"prefetch 65535", "AMQP 0-9-1 basic.qos prefetch-count is a short (uint16)",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				require.NoError(t, s.Qos(exchange.MaxPrefetch, false))
				require.NoError(t, s.Qos(exchange.MaxPrefetch, true))
				declareQueue(t, s, "q", exchange.QueueOptions{})
				_, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: exchange.MaxPrefetch})
				require.NoError(t, err)
			}},
		{"TTLs and expiration of exactly ten years", "rabbit_misc.erl check_expiry: refuses N > 315_360_000_000 only",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{Args: exchange.Table{
					"x-message-ttl": int64(315_360_000_000), "x-expires": int64(315_360_000_000)}})
				publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "315360000000"})
				assert.Equal(t, 1, ready(t, r, "q"))
			}},
		{"expiration with a leading + or -0", "rabbit_basic.erl parse_expiration: string:to_integer, which takes a sign, then check_expiry",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "+60000"})
				publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "-0"})
				assert.Equal(t, 1, ready(t, r, "q"), "the -0 one had TTL 0 and no consumer: expired on arrival (A30)")
			}},
		{"x-max-priority 0 and 255", "rabbit_amqqueue.erl check_max_priority_arg: non-negative, at most ?MAX_SUPPORTED_PRIORITY (255)",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "p0", exchange.QueueOptions{Args: exchange.Table{"x-max-priority": int64(0)}})
				declareQueue(t, s, "p255", exchange.QueueOptions{Args: exchange.Table{"x-max-priority": int64(255)}})
			}},
		{"dead-letter exchange and routing key over 255 bytes", "rabbit_amqqueue.erl check_dlxname_arg/check_dlxrk_arg: any longstr",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{Args: exchange.Table{
					"x-dead-letter-exchange": long300, "x-dead-letter-routing-key": long300}})
			}},
		{"alternate-exchange over 255 bytes", "rabbit_channel.erl exchange.declare: rabbit_misc:r_arg takes any longstr",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				require.NoError(t, s.ExchangeDeclare("x", exchange.Direct, exchange.ExchangeOptions{Args: exchange.Table{"alternate-exchange": long300}}))
			}},
		{"CC header with a routing key over 255 bytes", "mc_amqpl.erl: CC/BCC values are longstr routing keys",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, long300[:200], exchange.QueueOptions{})
				publishMsg(t, s, "", "other", exchange.Publishing{Headers: exchange.Table{"CC": []any{long300, long300[:200]}}})
				assert.Equal(t, 1, ready(t, r, long300[:200]))
			}},
		{"body of exactly MaxMessageSize", "rabbit_channel.erl check_msg_size: Size =< MaxMessageSize",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				publishMsg(t, s, "", "q", exchange.Publishing{Body: make([]byte, exchange.DefaultMaxMessageSize)})
				assert.Equal(t, 1, ready(t, r, "q"))
			}},
		{"table nested MaxTableDepth deep", "tribus's own limit (doc.go # Caveats); RabbitMQ has none below frame_max",
			func(t *testing.T, r *exchange.Router, s *exchange.Session) {
				declareQueue(t, s, "q", exchange.QueueOptions{})
				publishMsg(t, s, "", "q", exchange.Publishing{Headers: nested(exchange.MaxTableDepth)})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			tc.call(t, r, s)
			assert.NoError(t, s.Err(), "the session stays open")
			// Reference: tc.source
			t.Log(tc.source)
		})
	}
}

// TestRouter_DeliveryModeOtherThan2IsTransient: RabbitMQ accepts any delivery mode and treats
// every one but 2 as transient (mc_amqpl.erl essential_properties: Durable = Mode == 2), so a
// message with delivery mode 3 or 255 is delivered with its mode unchanged and does not
// survive a restart, while mode 2 does.
func TestRouter_DeliveryModeOtherThan2IsTransient(t *testing.T) {
	st := store.OpenMemory()
	t.Cleanup(func() { st.Close() })
	r := openDurable(t, st)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
	for _, mode := range []uint8{3, 255, exchange.Persistent} {
		publishMsg(t, s, "", "q", exchange.Publishing{DeliveryMode: mode, Body: []byte{mode}})
	}
	d, err := s.Get("q", true)
	require.NoError(t, err)
	assert.Equal(t, uint8(3), d.DeliveryMode, "passed through unchanged")
	require.NoError(t, s.Close())
	r = restart(t, r, st)
	s = newSession(t, r)
	assert.Equal(t, []string{"\x02"}, bodies(t, s, "q"), "only the delivery mode 2 message was persisted")
}

// TestMaxLength_RequeueOverTheLimit: a requeue (here: the session closes with a delivery
// unacked) into a queue at x-max-length trims the head again with drop-head, and leaves a
// reject-publish queue over its limit, as RabbitMQ's requeue_and_run calls maybe_drop_head,
// which does nothing for reject-publish and reject-publish-dlx. FuzzRouter_Ops found the
// second case (seed requeue_on_session_close_past_max_length).
func TestMaxLength_RequeueOverTheLimit(t *testing.T) {
	for _, tc := range []struct {
		overflow exchange.Overflow
		ready    int
	}{{exchange.DropHead, 1}, {exchange.RejectPublish, 2}, {exchange.RejectPublishDLX, 2}} {
		t.Run(string(tc.overflow), func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{MaxLength: 1, Overflow: tc.overflow})
			c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
			require.NoError(t, err)
			publish(t, s, "", "q", "first")
			next(t, c) // unacked
			publish(t, s, "", "q", "second")
			require.Equal(t, 1, ready(t, r, "q"))
			require.NoError(t, s.Close()) // requeues "first"
			assert.Equal(t, tc.ready, ready(t, r, "q"))
			// Reference: rabbitmq-server deps/rabbit/src/rabbit_amqqueue_process.erl requeue_and_run, maybe_drop_head
		})
	}
}

// TestRouter_DeepestAcceptedTableSurvivesRestart: a persistent message whose headers are as
// deep as the limit allows is stored and read back: the store's codec has the same limit as the
// check, so what is accepted can always be recovered.
func TestRouter_DeepestAcceptedTableSurvivesRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
		msg := persistent("deep")
		msg.Headers = exchange.Table{"a": nested(exchange.MaxTableDepth - 1), "b": deepArray(exchange.MaxTableDepth - 1)}
		publishMsg(t, s, "", "q", msg)
		require.NoError(t, s.Close())
		r = restart(t, r, st)
		d, err := r.Get("q", true)
		require.NoError(t, err)
		require.NotNil(t, d)
		assert.Equal(t, msg.Headers, d.Headers)
	})
}

// TestSession_CloseOfNilIsSafe: like Router.Close, Close on a nil *Session returns nil, so that
// a deferred Close after a failed NewSession cannot panic.
func TestSession_CloseOfNilIsSafe(t *testing.T) {
	var s *exchange.Session
	assert.NotPanics(t, func() { assert.NoError(t, s.Close()) })
	var r *exchange.Router
	assert.NoError(t, r.Close())
}
