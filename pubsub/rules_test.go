package pubsub_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
)

// Tests of SEMANTICS.md §3.3, one per rule. The expected values are the ones verified on
// Redis 7.0.15 there.

func newHub(t *testing.T, opts *pubsub.Options) *pubsub.Hub {
	t.Helper()
	h, err := pubsub.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

func sub(t *testing.T, h *pubsub.Hub) *pubsub.Subscription {
	t.Helper()
	s, err := h.NewSubscription(nil)
	require.NoError(t, err)
	return s
}

// drain returns every message buffered for s without waiting.
func drain(t *testing.T, s *pubsub.Subscription) []pubsub.Message {
	t.Helper()
	var out []pubsub.Message
	for s.Buffered() > 0 {
		m, err := s.Next(context.Background())
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPublish_R1_ReturnsDeliveryCount(t *testing.T) {
	h := newHub(t, nil)
	a, b := sub(t, h), sub(t, h)
	must(a.Subscribe("foo"))
	must(b.Subscribe("foo"))
	c := sub(t, h)
	must(c.PSubscribe("f*"))
	assert.Equal(t, 3, h.Publish("foo", []byte("x")))
	assert.Equal(t, 0, h.Publish("bar", []byte("x")))
	// Reference: R1, redis.io PUBLISH "the number of clients that received the message"
}

func TestPublish_R2_ChannelPlusPatternDeliversTwice(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("foo"))
	must(s.PSubscribe("f*"))
	assert.Equal(t, 2, h.Publish("foo", []byte("x")))
	got := drain(t, s)
	require.Len(t, got, 2)
	assert.Equal(t, pubsub.Message{Kind: pubsub.KindMessage, Channel: "foo", Payload: []byte("x")}, got[0])
	assert.Equal(t, pubsub.Message{Kind: pubsub.KindPMessage, Channel: "foo", Pattern: "f*", Payload: []byte("x")}, got[1])
	// Reference: R2 (verified: 2)
}

func TestPublish_R3_OneFramePerMatchingPattern(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("c"))
	must(s.PSubscribe("c*", "*"))
	assert.Equal(t, 3, h.Publish("c", nil))
	assert.Len(t, drain(t, s), 3)
	other := sub(t, h)
	must(other.Subscribe("c"))
	assert.Equal(t, 4, h.Publish("c", nil))
	// Reference: R3 (verified: 3 frames; 4 with a second subscriber)
}

func TestPublish_R4_NobodyListeningIsDropped(t *testing.T) {
	h := newHub(t, nil)
	assert.Equal(t, 0, h.Publish("news", []byte("early")))
	s := sub(t, h)
	must(s.Subscribe("news"))
	assert.Equal(t, 0, s.Buffered(), "nothing is stored for later subscribers")
	assert.Equal(t, 1, h.Publish("news", []byte("late")))
	got := drain(t, s)
	require.Len(t, got, 1)
	assert.Equal(t, "late", string(got[0].Payload))
	// Reference: R4, redis.io pub/sub "Delivery semantics": at-most-once
}

func TestPublish_R5_PublishOrderAndMessageBeforePMessage(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.PSubscribe("o*"))
	must(s.Subscribe("orders"))
	for i := range 100 {
		h.Publish("orders", []byte{byte(i)})
	}
	got := drain(t, s)
	require.Len(t, got, 200)
	for i := range 100 {
		assert.Equal(t, pubsub.KindMessage, got[2*i].Kind)
		assert.Equal(t, pubsub.KindPMessage, got[2*i+1].Kind)
		assert.Equal(t, byte(i), got[2*i].Payload[0])
		assert.Equal(t, byte(i), got[2*i+1].Payload[0])
	}
	// Reference: R5 (verified: message before pmessage, even when the pattern came first)
}

func TestSubscribe_R6_OneAckPerArgumentWithRunningCount(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	replies, err := s.Subscribe("a", "b", "c")
	require.NoError(t, err)
	assert.Equal(t, []pubsub.Reply{
		{Kind: pubsub.KindSubscribe, Name: "a", Count: 1},
		{Kind: pubsub.KindSubscribe, Name: "b", Count: 2},
		{Kind: pubsub.KindSubscribe, Name: "c", Count: 3},
	}, replies)
	replies, err = s.PSubscribe("x*", "y*")
	require.NoError(t, err)
	assert.Equal(t, []pubsub.Reply{
		{Kind: pubsub.KindPSubscribe, Name: "x*", Count: 4},
		{Kind: pubsub.KindPSubscribe, Name: "y*", Count: 5},
	}, replies, "the count is channels + patterns")
	_, err = s.Subscribe()
	assert.ErrorIs(t, err, pubsub.ErrArity)
	// Reference: R6, redis.io SUBSCRIBE
}

func TestSubscribe_R7_RepeatIsAckedWithCountUnchanged(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindSubscribe, Name: "foo", Count: 1}}, must(s.Subscribe("foo")))
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindSubscribe, Name: "foo", Count: 1}}, must(s.Subscribe("foo")))
	assert.Equal(t, []pubsub.Reply{
		{Kind: pubsub.KindPSubscribe, Name: "f*", Count: 2},
		{Kind: pubsub.KindPSubscribe, Name: "f*", Count: 2},
	}, must(s.PSubscribe("f*", "f*")))
	assert.Equal(t, 2, h.Publish("foo", nil), "no duplicate delivery from a repeated subscribe")
	// Reference: R7 (verified: ["subscribe","foo",1] twice)
}

func TestUnsubscribe_R8_NotHeldStillAcks(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("a"))
	assert.Equal(t, []pubsub.Reply{
		{Kind: pubsub.KindUnsubscribe, Name: "zzz", Count: 1},
		{Kind: pubsub.KindUnsubscribe, Name: "a", Count: 0},
	}, must(s.Unsubscribe("zzz", "a")))
	fresh := sub(t, h)
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindPUnsubscribe, Name: "p*", Count: 0}}, must(fresh.PUnsubscribe("p*")))
	// Reference: R8 (verified)
}

func TestUnsubscribe_R9_NoArgumentsRemovesAllOrRepliesNil(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("a", "b"))
	must(s.PSubscribe("p*"))
	replies := must(s.Unsubscribe())
	require.Len(t, replies, 2, "one ack per removed channel")
	names := []string{replies[0].Name, replies[1].Name}
	assert.ElementsMatch(t, []string{"a", "b"}, names)
	assert.Equal(t, 2, replies[0].Count, "count = channels left + patterns")
	assert.Equal(t, 1, replies[1].Count)
	assert.Equal(t, 0, h.Publish("a", nil))

	// Nothing left to remove: one reply with a nil name and the count (patterns remain).
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindUnsubscribe, Nil: true, Count: 1}}, must(s.Unsubscribe()))
	assert.Len(t, must(s.PUnsubscribe()), 1)
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindPUnsubscribe, Nil: true, Count: 0}}, must(s.PUnsubscribe()))
	// Reference: R9 (verified: ["unsubscribe", nil, 0])
}

func TestUnsubscribe_R10_KindsAreIndependent(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("news"))
	must(s.PSubscribe("n*"))
	must(s.SSubscribe("shard"))
	must(s.Unsubscribe())
	assert.Equal(t, 1, h.Publish("news", nil), "the pattern survives UNSUBSCRIBE")
	drain(t, s)
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindPUnsubscribe, Name: "n*", Count: 0}}, must(s.PUnsubscribe()))
	assert.True(t, s.Subscribed(), "a shard channel keeps the client subscribed at count 0 (§3.3b)")
	must(s.SUnsubscribe())
	assert.False(t, s.Subscribed())
	// Reference: R10 and §3.3b
}

func TestPSubscribe_R13_StarDoesNotMatchEmptyChannel(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.PSubscribe("*"))
	assert.Equal(t, 0, h.Publish("", nil))
	assert.Equal(t, 1, h.Publish("a", nil))
	// Reference: R13 (verified: `*` vs "" receives nothing); the full table is TestGlob_R13_EdgeCaseTable
}

func TestChannels_R14_OnlyChannelSubscribersCount(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("news.tech", "news.art", "sport"))
	p := sub(t, h)
	must(p.PSubscribe("weather"))
	assert.Equal(t, []string{"news.art", "news.tech", "sport"}, must(h.Channels()))
	assert.Equal(t, []string{"news.art", "news.tech"}, must(h.Channels("news.*")))
	assert.Equal(t, []string{}, must(h.Channels("weather")), "a pattern subscriber does not make a channel active")
	_, err := h.Channels("a", "b")
	assert.ErrorIs(t, err, pubsub.ErrArity)
	must(s.Unsubscribe("sport"))
	assert.Equal(t, []string{"news.art", "news.tech"}, must(h.Channels()))
	// Reference: R14, redis.io PUBSUB CHANNELS
}

func TestNumSub_R15_ArgumentOrderNoPatterns(t *testing.T) {
	h := newHub(t, nil)
	a, b := sub(t, h), sub(t, h)
	must(a.Subscribe("x", "y"))
	must(b.Subscribe("x"))
	must(b.PSubscribe("*"))
	assert.Equal(t, []pubsub.ChannelCount{{"y", 1}, {"nope", 0}, {"x", 2}, {"y", 1}}, must(h.NumSub("y", "nope", "x", "y")))
	assert.Equal(t, []pubsub.ChannelCount{}, must(h.NumSub()))
	// Reference: R15, §3.3b (duplicates repeat; no arguments gives [])
}

func TestNumPat_R16_UniquePatterns(t *testing.T) {
	h := newHub(t, nil)
	a, b := sub(t, h), sub(t, h)
	must(a.PSubscribe("p*", "q*"))
	must(b.PSubscribe("p*"))
	assert.Equal(t, 2, must(h.NumPat()))
	must(a.PUnsubscribe("p*"))
	assert.Equal(t, 2, must(h.NumPat()), "b still holds p*")
	b.Close()
	assert.Equal(t, 1, must(h.NumPat()))
	// Reference: R16, redis.io PUBSUB NUMPAT
}

// Patterns lists each pattern once with its subscribers, sorted, as NUMPAT counts them.
func TestPatterns_ListsEachPatternWithItsSubscribers(t *testing.T) {
	h := newHub(t, nil)
	a, b := sub(t, h), sub(t, h)
	must(a.PSubscribe("q*", "p*"))
	must(b.PSubscribe("p*"))
	must(b.Subscribe("p1"))
	assert.Equal(t, []pubsub.ChannelCount{{"p*", 2}, {"q*", 1}}, must(h.Patterns()))
	b.Close()
	assert.Equal(t, []pubsub.ChannelCount{{"p*", 1}, {"q*", 1}}, must(h.Patterns()))
	h.Close()
	_, err := h.Patterns()
	assert.ErrorIs(t, err, pubsub.ErrClosed)
}

func TestSPublish_R20_OnlyShardSubscribers(t *testing.T) {
	h := newHub(t, nil)
	shard, plain, pat := sub(t, h), sub(t, h), sub(t, h)
	must(shard.SSubscribe("orders"))
	must(plain.Subscribe("orders"))
	must(pat.PSubscribe("*"))
	assert.Equal(t, 1, h.SPublish("orders", []byte("s")))
	assert.Equal(t, 2, h.Publish("orders", []byte("p")), "PUBLISH does not reach SSUBSCRIBE clients")
	got := drain(t, shard)
	require.Len(t, got, 1)
	assert.Equal(t, pubsub.Message{Kind: pubsub.KindSMessage, Channel: "orders", Payload: []byte("s")}, got[0])
	assert.Len(t, drain(t, plain), 1)
	assert.Len(t, drain(t, pat), 1)
	// Reference: R20 (verified: SPUBLISH → 1 smessage, PUBLISH same name → 0 to the shard client)
}

func TestSSubscribe_R21_CountCoversShardChannelsOnly(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("a", "b"))
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindSSubscribe, Name: "s1", Count: 1}}, must(s.SSubscribe("s1")))
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindUnsubscribe, Name: "s1", Count: 2}}, must(s.Unsubscribe("s1")),
		"UNSUBSCRIBE does not remove a shard channel")
	assert.Equal(t, 1, h.SPublish("s1", nil))
	assert.Equal(t, []pubsub.Reply{{Kind: pubsub.KindSUnsubscribe, Name: "s1", Count: 0}}, must(s.SUnsubscribe("s1")))
	// Reference: R21
}

func TestShardIntrospection_R22_MirrorsChannels(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.SSubscribe("s.1", "s.2"))
	must(s.Subscribe("plain"))
	assert.Equal(t, []string{"s.1", "s.2"}, must(h.ShardChannels()))
	assert.Equal(t, []string{"s.2"}, must(h.ShardChannels("*2")))
	assert.Equal(t, []pubsub.ChannelCount{{"s.1", 1}, {"plain", 0}}, must(h.ShardNumSub("s.1", "plain")))
	assert.Equal(t, []string{"plain"}, must(h.Channels()))
	// Reference: R22
}

func TestChannel_R26_EmptyAndBinaryNamesAreLegal(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	binary := string([]byte{0, 0xff, '\n', 'x'})
	must(s.Subscribe("", binary))
	assert.Equal(t, 1, h.Publish("", []byte{0}))
	assert.Equal(t, 1, h.Publish(binary, []byte{1, 2}))
	got := drain(t, s)
	require.Len(t, got, 2)
	assert.Equal(t, "", got[0].Channel)
	assert.Equal(t, binary, got[1].Channel)
	assert.Equal(t, []string{"", binary}, must(h.Channels()))
	// Reference: R26
}
