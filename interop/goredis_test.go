package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/wire/resp"
)

// go-redis v9 against every target, in RESP2 and RESP3. Nothing here knows which server it
// talks to.

// protocols runs fn for every target in RESP2 and RESP3, with a context and a client.
func protocols(t *testing.T, fn func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int)) {
	each(t, func(t *testing.T, tg target) {
		for _, p := range []int{2, 3} {
			t.Run(fmt.Sprintf("resp%d", p), func(t *testing.T) { fn(t, ctxT(t), tg.client(t, p), tg, p) })
		}
	})
}

// subscribed waits for a subscription's acknowledgement, after which publishes reach it, and
// closes it when the test ends.
func subscribed(t testing.TB, ps *redis.PubSub) *redis.PubSub {
	t.Helper()
	t.Cleanup(func() { ps.Close() })
	_, err := ps.Receive(t.Context())
	require.NoError(t, err)
	return ps
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type statusChange struct {
	OrderID   string `json:"order_id"`
	Event     string `json:"event"`
	NewStatus string `json:"new_status"`
}

func TestGoRedis_OrderNotifications(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		ch := unique(t, "order:notifications")
		sub := subscribed(t, rdb.Subscribe(ctx, ch))
		pat := subscribed(t, rdb.PSubscribe(ctx, unique(t, "order:*")))

		body, _ := json.Marshal(statusChange{"ORD-123", "status_change", "shipped"})
		n, err := rdb.Publish(ctx, ch, body).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(2), n, "one channel subscriber and one pattern subscriber")

		msg := <-sub.Channel()
		var ev statusChange
		require.NoError(t, json.Unmarshal([]byte(msg.Payload), &ev))
		assert.Equal(t, "Order ORD-123 is now shipped", fmt.Sprintf("Order %s is now %s", ev.OrderID, ev.NewStatus))
		assert.Equal(t, ch, msg.Channel)

		pm, err := pat.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, unique(t, "order:*"), pm.Pattern)
		assert.Equal(t, ch, pm.Channel)
		assert.Equal(t, string(body), pm.Payload)
	})
}

func TestGoRedis_R4_PublishWithNobodyListeningIsLost(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		ch := unique(t, "lost")
		n, err := rdb.Publish(ctx, ch, "before").Result()
		require.NoError(t, err)
		assert.Zero(t, n)
		sub := subscribed(t, rdb.Subscribe(ctx, ch))
		require.NoError(t, rdb.Publish(ctx, ch, "after").Err())
		msg, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, "after", msg.Payload, "the first message was never stored")
	})
}

func TestGoRedis_R2R3_OneClientCountsEveryMatch(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		ch := unique(t, "c")
		sub := subscribed(t, rdb.Subscribe(ctx, ch))
		require.NoError(t, sub.PSubscribe(ctx, ch+"*", ch+"?*"))
		for range 2 {
			_, err := sub.Receive(ctx)
			require.NoError(t, err)
		}
		n, err := rdb.Publish(ctx, ch, "m").Result()
		require.NoError(t, err)
		assert.Equal(t, int64(2), n, "channel + pattern "+ch+"* (the ?* pattern needs one more byte)")
		first, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Empty(t, first.Pattern, "the exact-channel message comes first (R5)")
		second, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, ch+"*", second.Pattern)
	})
}

func TestGoRedis_R20_ShardChannels(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		ch := unique(t, "shard")
		sub := subscribed(t, rdb.SSubscribe(ctx, ch))
		n, err := rdb.Publish(ctx, ch, "plain").Result()
		require.NoError(t, err)
		assert.Zero(t, n, "PUBLISH does not reach shard subscribers")
		n, err = rdb.SPublish(ctx, ch, "sharded").Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		msg, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, "sharded", msg.Payload)
		chans, err := rdb.PubSubShardChannels(ctx, ch).Result()
		require.NoError(t, err)
		assert.Equal(t, []string{ch}, chans)
		counts, err := rdb.PubSubShardNumSub(ctx, ch).Result()
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{ch: 1}, counts)
	})
}

func TestGoRedis_PubSubIntrospection(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		a, p := unique(t, "a"), unique(t, "p*")
		// NUMPAT is server-wide, and the earlier subtests' patterns leave asynchronously when
		// their connections close: wait for them, or they are counted here and gone by "after".
		quiesce(t, tg)
		before, err := rdb.PubSubNumPat(ctx).Result()
		require.NoError(t, err)
		subscribed(t, rdb.Subscribe(ctx, a))
		subscribed(t, rdb.PSubscribe(ctx, p))
		subscribed(t, rdb.PSubscribe(ctx, p))

		chans, err := rdb.PubSubChannels(ctx, unique(t, "*")).Result()
		require.NoError(t, err)
		assert.Equal(t, []string{a}, chans, "pattern subscribers make no channel active (R14)")
		counts, err := rdb.PubSubNumSub(ctx, a, p, unique(t, "none")).Result()
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{a: 1, p: 0, unique(t, "none"): 0}, counts, "R15")
		after, err := rdb.PubSubNumPat(ctx).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), after-before, "two clients on one pattern count once (R16)")
	})
}

func TestGoRedis_PipelinedPublishes(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		ch := unique(t, "pipe")
		sub := subscribed(t, rdb.Subscribe(ctx, ch))
		const n = 500
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range n {
				p.Publish(ctx, ch, fmt.Sprint(i))
				if i%100 == 0 {
					p.Publish(ctx, unique(t, "nobody"), "x")
				}
			}
			return nil
		})
		require.NoError(t, err)
		var counts []int64
		for _, c := range cmds {
			counts = append(counts, c.(*redis.IntCmd).Val())
		}
		want := []int64{}
		for i := range n {
			want = append(want, 1)
			if i%100 == 0 {
				want = append(want, 0)
			}
		}
		assert.Equal(t, want, counts)
		for i := range n {
			msg, err := sub.ReceiveMessage(ctx)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint(i), msg.Payload, "publish order (R5)")
		}
	})
}

func TestGoRedis_R26_BinarySafe(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		ch := unique(t, "bin\x00\xff\r\n")
		sub := subscribed(t, rdb.Subscribe(ctx, ch))
		payload := string(bytes.Repeat([]byte{0, 0xff, '\r', '\n', '$', '*'}, 1000))
		require.NoError(t, rdb.Publish(ctx, ch, payload).Err())
		msg, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, payload, msg.Payload)
		assert.Equal(t, ch, msg.Channel)
	})
}

func TestGoRedis_ConnectionCommands(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, _ *redis.Client, tg target, protocol int) {
		opts := tg.options(protocol)
		opts.ClientName = "orders-worker"
		opts.DB = 3 // pub/sub ignores it (R12); go-redis sends SELECT on connect
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		require.NoError(t, rdb.Ping(ctx).Err())
		assert.Equal(t, "hello", rdb.Echo(ctx, "hello").Val())
		name, err := rdb.ClientGetName(ctx).Result()
		require.NoError(t, err)
		assert.Equal(t, "orders-worker", name)
		id, err := rdb.ClientID(ctx).Result()
		require.NoError(t, err)
		assert.Positive(t, id)
		info, err := rdb.Info(ctx, "server").Result()
		require.NoError(t, err)
		assert.Contains(t, info, "redis_version:")
		_, err = rdb.Get(ctx, "key").Result()
		if tg.name == "redis" {
			assert.ErrorIs(t, err, redis.Nil)
		} else {
			assert.ErrorContains(t, err, "unknown command 'get'", "tribus has no keyspace: a documented difference")
		}
	})
}

// A subscriber that does not read is cut off when its output passes the pub/sub limit, and
// go-redis reconnects and resubscribes on its own; what was published meanwhile is lost.
func TestGoRedis_R24_ReconnectAfterSlowSubscriberDisconnect(t *testing.T) {
	// Both servers get the same small pub/sub limit, Redis's client-output-buffer-limit
	// "pubsub 1mb 0 0", so the test cuts a client off at about the same point on each.
	const limit = 1 << 20
	inproc, tcp, stop, err := startTribus(&resp.Options{Limits: pubsub.Limits{MaxBytes: limit, SoftBytes: -1}})
	require.NoError(t, err)
	defer stop()
	ts := []target{inproc, tcp}
	if haveRedis {
		tg, stop, err := startRedis("--client-output-buffer-limit", fmt.Sprintf("pubsub %d 0 0", limit))
		require.NoError(t, err)
		defer stop()
		ts = append(ts, tg)
	}
	for _, tg := range ts {
		t.Run(tg.name, func(t *testing.T) { reconnectAfterDisconnect(t, tg) })
	}
}

func reconnectAfterDisconnect(t *testing.T, tg target) {
	ctx := ctxT(t)
	rdb := tg.client(t, 2)
	ch := unique(t, "firehose")
	sub := subscribed(t, rdb.Subscribe(ctx, ch))

	// Nobody reads sub while the publisher fills its buffers: the socket's, then the
	// server's, until the server closes the connection.
	big := string(bytes.Repeat([]byte("x"), 64<<10))
	cut := false
	for range 4000 {
		require.NoError(t, rdb.Publish(ctx, ch, big).Err())
		if n, _ := rdb.PubSubNumSub(ctx, ch).Result(); n[ch] == 0 {
			cut = true
			break
		}
	}
	require.True(t, cut, "the slow subscriber was never disconnected")

	// The client reads what reached it, sees the close, reconnects and resubscribes.
	done := make(chan error, 1)
	go func() {
		for {
			msg, err := sub.ReceiveMessage(ctx)
			if ctx.Err() != nil {
				done <- ctx.Err()
				return
			}
			if err != nil {
				continue // the disconnect: go-redis reconnects on the next call
			}
			if msg.Payload == "after" {
				done <- nil
				return
			}
		}
	}()
	// Publish until the resubscribed client has it; earlier publishes may find it still
	// reconnecting, and those are lost, as Redis loses them.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		require.NoError(t, rdb.Publish(ctx, ch, "after").Err())
		select {
		case err := <-done:
			require.NoError(t, err)
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the subscriber never came back")
		}
	}
}

// A pipeline larger than every buffer between client and server: go-redis writes it all
// before reading a reply, so a server that stopped reading while its replies wait would
// deadlock with it. Redis keeps reading, and so must tribus.
func TestGoRedis_HugePipelineCompletes(t *testing.T) {
	protocols(t, func(t *testing.T, ctx context.Context, rdb *redis.Client, tg target, protocol int) {
		const n = 300000
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range n {
				p.Publish(ctx, unique(t, "nobody"), "x")
			}
			return nil
		})
		require.NoError(t, err)
		require.Len(t, cmds, n)
	})
}
