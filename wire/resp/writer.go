package resp

import (
	"strconv"

	"github.com/tribusmq/tribus/pubsub"
)

// out is a connection's output buffer: replies and pushed messages are appended to it in the
// order the client must read them, in the connection's protocol version, and flushed in one
// write. Its methods never fail.
type out struct {
	b    []byte
	resp int // 2 or 3
}

func (o *out) simple(s string) {
	o.b = append(o.b, '+')
	o.b = append(o.b, s...)
	o.b = append(o.b, '\r', '\n')
}

// err writes an error reply. msg starts with its code ("ERR ...", "NOAUTH ..."); CR and LF in
// it become spaces, as Redis's addReplyErrorFormat makes them, so the reply stays one line.
func (o *out) err(msg string) {
	o.b = append(o.b, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		o.b = append(o.b, c)
	}
	o.b = append(o.b, '\r', '\n')
}

func (o *out) int(n int64) {
	switch n {
	case 0:
		o.b = append(o.b, ":0\r\n"...)
	case 1:
		o.b = append(o.b, ":1\r\n"...)
	default:
		o.b = append(o.b, ':')
		o.b = strconv.AppendInt(o.b, n, 10)
		o.b = append(o.b, '\r', '\n')
	}
}

func (o *out) header(c byte, n int) {
	o.b = append(o.b, c)
	o.b = strconv.AppendInt(o.b, int64(n), 10)
	o.b = append(o.b, '\r', '\n')
}

func (o *out) bulk(s []byte) {
	o.header('$', len(s))
	o.b = append(o.b, s...)
	o.b = append(o.b, '\r', '\n')
}

func (o *out) bulkString(s string) {
	o.header('$', len(s))
	o.b = append(o.b, s...)
	o.b = append(o.b, '\r', '\n')
}

// null is RESP2's null bulk string or RESP3's null.
func (o *out) null() {
	if o.resp == 3 {
		o.b = append(o.b, "_\r\n"...)
		return
	}
	o.b = append(o.b, "$-1\r\n"...)
}

func (o *out) array(n int) { o.header('*', n) }

// mapHeader starts a map of n pairs: RESP3's map, or a flat array of 2n in RESP2.
func (o *out) mapHeader(n int) {
	if o.resp == 3 {
		o.header('%', n)
		return
	}
	o.header('*', 2*n)
}

// push starts an out-of-band frame of n elements: RESP3's push type, or an array in RESP2,
// where a subscribed client reads pushes in place of replies.
func (o *out) push(n int) {
	if o.resp == 3 {
		o.header('>', n)
		return
	}
	o.header('*', n)
}

// verbatim writes text as RESP3's verbatim string of format txt, or a bulk string in RESP2,
// as Redis replies to INFO and CLIENT INFO.
func (o *out) verbatim(text string) {
	if o.resp != 3 {
		o.bulkString(text)
		return
	}
	o.header('=', len(text)+4)
	o.b = append(o.b, "txt:"...)
	o.b = append(o.b, text...)
	o.b = append(o.b, '\r', '\n')
}

// The first element of each pub/sub frame, pre-encoded.
var kindBulk = func() [len(kindNames)][]byte {
	var t [len(kindNames)][]byte
	for k, name := range kindNames {
		if name != "" {
			t[k] = []byte("$" + strconv.Itoa(len(name)) + "\r\n" + name + "\r\n")
		}
	}
	return t
}()

var kindNames = [...]string{
	pubsub.KindMessage:      "message",
	pubsub.KindPMessage:     "pmessage",
	pubsub.KindSMessage:     "smessage",
	pubsub.KindSubscribe:    "subscribe",
	pubsub.KindPSubscribe:   "psubscribe",
	pubsub.KindSSubscribe:   "ssubscribe",
	pubsub.KindUnsubscribe:  "unsubscribe",
	pubsub.KindPUnsubscribe: "punsubscribe",
	pubsub.KindSUnsubscribe: "sunsubscribe",
}

// message writes a delivery: ["message", channel, payload], ["pmessage", pattern, channel,
// payload] or ["smessage", channel, payload] (SEMANTICS.md §3.2).
func (o *out) message(m *pubsub.Message) {
	if m.Kind == pubsub.KindPMessage {
		o.push(4)
		o.b = append(o.b, kindBulk[m.Kind]...)
		o.bulkString(m.Pattern)
	} else {
		o.push(3)
		o.b = append(o.b, kindBulk[m.Kind]...)
	}
	o.bulkString(m.Channel)
	o.bulk(m.Payload)
}

// ack writes one (un)subscribe acknowledgement: [kind, name or nil, count].
func (o *out) ack(r pubsub.Reply) {
	o.push(3)
	o.b = append(o.b, kindBulk[r.Kind]...)
	if r.Nil {
		o.null()
	} else {
		o.bulkString(r.Name)
	}
	o.int(int64(r.Count))
}
