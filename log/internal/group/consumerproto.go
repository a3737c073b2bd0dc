package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file is the "consumer" protocol type's embedded encoding: what a Kafka consumer puts
// in its JoinGroup protocol metadata (a subscription) and what the leader hands back in
// SyncGroup (an assignment). The coordinator never reads them; the consumers and
// DescribeGroups do. The layout is Kafka's ConsumerProtocolSubscription (v0–v3) and
// ConsumerProtocolAssignment (v0–v3), non-flexible: int16 version, then big-endian fields.
// A newer version than these is read by its known fields, as Kafka's ConsumerProtocol does.

// ConsumerProtocolType is the protocol type of Kafka consumers' groups, whose metadata and
// assignments are the encodings below.
const ConsumerProtocolType = "consumer"

// ErrMalformed is returned for bytes that are not a subscription or assignment.
var ErrMalformed = errors.New("tribus/log: malformed consumer protocol data")

// TopicPartitions is one topic with some of its partitions.
type TopicPartitions struct {
	Topic      string
	Partitions []int32
}

// Subscription is a consumer's JoinGroup metadata.
type Subscription struct {
	Topics   []string
	UserData []byte
	// Owned is what the member reads now (v1+, KIP-429), with the generation it got it in
	// (v2+, -1 for none).
	Owned      []TopicPartitions
	Generation int32
	Rack       string // v3+, "" for none
}

// Assignment is what the leader gives a member in SyncGroup.
type Assignment struct {
	Partitions []TopicPartitions
	UserData   []byte
}

// subscriptionVersion is the version Encode writes.
const subscriptionVersion = 3

// Encode returns s as ConsumerProtocolSubscription v3.
func (s Subscription) Encode() []byte {
	n := 2 + 4 + 4 + len(s.UserData) + sizeTopicPartitions(s.Owned) + 4 + 2 + len(s.Rack)
	for _, t := range s.Topics {
		n += 2 + len(t)
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, n), subscriptionVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Topics)))
	for _, t := range s.Topics {
		b = appendString(b, t)
	}
	b = appendBytes(b, s.UserData)
	b = appendTopicPartitions(b, s.Owned)
	b = binary.BigEndian.AppendUint32(b, uint32(s.Generation))
	if s.Rack == "" {
		b = binary.BigEndian.AppendUint16(b, math.MaxUint16) // null
	} else {
		b = appendString(b, s.Rack)
	}
	return b
}

// DecodeSubscription reads a ConsumerProtocolSubscription of any version.
func DecodeSubscription(data []byte) (Subscription, error) {
	r := reader{b: data}
	s := Subscription{Generation: -1}
	v := r.int16()
	n := r.count()
	if n > 0 {
		s.Topics = make([]string, 0, min(n, len(r.b)/2))
	}
	for range n {
		s.Topics = append(s.Topics, r.string())
	}
	s.UserData = r.bytes()
	if v >= 1 {
		s.Owned = r.topicPartitions()
	}
	if v >= 2 {
		s.Generation = r.int32()
	}
	if v >= 3 {
		s.Rack = r.nullableString()
	}
	if r.err != nil || v < 0 {
		return Subscription{}, fmt.Errorf("%w: subscription: %v", ErrMalformed, r.errOr("negative version"))
	}
	return s, nil
}

// Encode returns a as ConsumerProtocolAssignment v3 (every version has the same fields).
func (a Assignment) Encode() []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+sizeTopicPartitions(a.Partitions)+4+len(a.UserData)), 3)
	b = appendTopicPartitions(b, a.Partitions)
	return appendBytes(b, a.UserData)
}

// DecodeAssignment reads a ConsumerProtocolAssignment of any version. Empty data is an empty
// assignment, as a member the leader left out receives it.
func DecodeAssignment(data []byte) (Assignment, error) {
	if len(data) == 0 {
		return Assignment{}, nil
	}
	r := reader{b: data}
	v := r.int16()
	a := Assignment{Partitions: r.topicPartitions(), UserData: r.bytes()}
	if r.err != nil || v < 0 {
		return Assignment{}, fmt.Errorf("%w: assignment: %v", ErrMalformed, r.errOr("negative version"))
	}
	return a, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	if p == nil {
		return binary.BigEndian.AppendUint32(b, math.MaxUint32) // null
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

// sizeTopicPartitions is how many bytes appendTopicPartitions adds for tps.
func sizeTopicPartitions(tps []TopicPartitions) int {
	n := 4
	for _, tp := range tps {
		n += 2 + len(tp.Topic) + 4 + 4*len(tp.Partitions)
	}
	return n
}

func appendTopicPartitions(b []byte, tps []TopicPartitions) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(tps)))
	for _, tp := range tps {
		b = appendString(b, tp.Topic)
		b = binary.BigEndian.AppendUint32(b, uint32(len(tp.Partitions)))
		for _, p := range tp.Partitions {
			b = binary.BigEndian.AppendUint32(b, uint32(p))
		}
	}
	return b
}

// reader reads Kafka's classic types from b; the first error sticks and later reads return
// zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.New("truncated")
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) int16() int16 {
	if p := r.take(2); p != nil {
		return int16(binary.BigEndian.Uint16(p))
	}
	return 0
}

func (r *reader) int32() int32 {
	if p := r.take(4); p != nil {
		return int32(binary.BigEndian.Uint32(p))
	}
	return 0
}

// count reads an array length; a null array (-1) is empty, and a length longer than the
// bytes left could hold is an error before anything is allocated for it.
func (r *reader) count() int {
	n := r.int32()
	if n == -1 {
		return 0
	}
	if n < 0 || int(n) > len(r.b) {
		r.fail("bad array length")
		return 0
	}
	return int(n)
}

func (r *reader) string() string {
	n := r.int16()
	if n < 0 {
		r.fail("null string")
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) nullableString() string {
	n := r.int16()
	if n == -1 {
		return ""
	}
	if n < 0 {
		r.fail("bad string length")
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) bytes() []byte {
	n := r.int32()
	if n == -1 {
		return nil
	}
	if n < 0 {
		r.fail("bad bytes length")
		return nil
	}
	p := r.take(int(n))
	if r.err != nil {
		return nil
	}
	return append([]byte{}, p...)
}

func (r *reader) topicPartitions() []TopicPartitions {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]TopicPartitions, 0, min(n, len(r.b)/6)) // each at least a string and a count
	for range n {
		tp := TopicPartitions{Topic: r.string()}
		m := r.count()
		if m > 0 && m <= len(r.b)/4 {
			tp.Partitions = make([]int32, 0, m)
		}
		for range m {
			tp.Partitions = append(tp.Partitions, r.int32())
		}
		if r.err != nil {
			return nil
		}
		out = append(out, tp)
	}
	return out
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

func (r *reader) errOr(msg string) string {
	if r.err != nil {
		return r.err.Error()
	}
	return msg
}
