package group

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsumerProtocol_RoundTrip(t *testing.T) {
	s := Subscription{Topics: []string{"a", "b"}, UserData: []byte{}, Generation: 7, Rack: "r1",
		Owned: []TopicPartitions{{Topic: "a", Partitions: []int32{0, 2}}}}
	got, err := DecodeSubscription(s.Encode())
	require.NoError(t, err)
	assert.Equal(t, s, got)

	a := Assignment{Partitions: []TopicPartitions{{Topic: "b", Partitions: []int32{1}}}}
	ga, err := DecodeAssignment(a.Encode())
	require.NoError(t, err)
	assert.Equal(t, a, ga)
	empty, err := DecodeAssignment(nil)
	require.NoError(t, err)
	assert.Empty(t, empty.Partitions, "a member the leader left out gets no partitions")
}

// Encode sizes its buffer exactly: one allocation, nothing left over, with and without the
// optional parts.
func TestConsumerProtocol_EncodeAllocatesOnce(t *testing.T) {
	for _, s := range []Subscription{
		{},
		{Topics: []string{"orders", "payments"}, UserData: []byte("ud"), Generation: 3, Rack: "rack-1",
			Owned: []TopicPartitions{{Topic: "orders", Partitions: []int32{0, 1, 2}}}},
	} {
		b := s.Encode()
		assert.Equal(t, len(b), cap(b), "%+v", s)
	}
	for _, a := range []Assignment{{}, {Partitions: []TopicPartitions{{Topic: "t", Partitions: []int32{4, 5}}}, UserData: []byte{1}}} {
		b := a.Encode()
		assert.Equal(t, len(b), cap(b), "%+v", a)
	}
	assert.Equal(t, 1.0, testing.AllocsPerRun(10, func() { _ = Assignment{Partitions: []TopicPartitions{{Topic: "t", Partitions: []int32{4}}}}.Encode() }))
}

// A version 0 subscription (topics and user data only) is what old clients send: it has no
// owned partitions, and its generation is -1.
func TestConsumerProtocol_OlderVersions(t *testing.T) {
	v0 := []byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff}
	s, err := DecodeSubscription(v0)
	require.NoError(t, err)
	assert.Equal(t, Subscription{Topics: []string{"t"}, Generation: -1}, s)
}

func TestConsumerProtocol_MalformedIsAnError(t *testing.T) {
	for _, b := range [][]byte{{0}, {0, 1, 0x7f, 0xff, 0xff, 0xff}, {0xff, 0xff, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 1, 0xff, 0xff}} {
		_, err := DecodeSubscription(b)
		assert.ErrorIs(t, err, ErrMalformed, "%x", b)
	}
	_, err := DecodeAssignment([]byte{0, 0, 0, 0, 0, 9})
	assert.ErrorIs(t, err, ErrMalformed)
}

// FuzzConsumerProtocol: any bytes decode to a value or ErrMalformed, never a panic, and what
// decodes encodes back to something that decodes the same.
func FuzzConsumerProtocol(f *testing.F) {
	f.Add(Subscription{Topics: []string{"t"}, Generation: 3, Owned: []TopicPartitions{{Topic: "t", Partitions: []int32{1}}}}.Encode())
	f.Add(Assignment{Partitions: []TopicPartitions{{Topic: "t", Partitions: []int32{0, 1}}}, UserData: []byte("u")}.Encode())
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeSubscription(b); err == nil {
			again, err := DecodeSubscription(s.Encode())
			require.NoError(t, err)
			assert.Equal(t, s, again)
		} else {
			assert.ErrorIs(t, err, ErrMalformed)
		}
		if a, err := DecodeAssignment(b); err == nil {
			again, err := DecodeAssignment(a.Encode())
			require.NoError(t, err)
			assert.Equal(t, a, again)
		} else {
			assert.ErrorIs(t, err, ErrMalformed)
		}
	})
}
