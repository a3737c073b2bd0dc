package proto_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// spec is one method of RabbitMQ's amqp-rabbitmq-0.9.1.json with a value whose every field
// is set, so a field dropped or misplaced by the codec shows in the round trip.
type spec struct {
	name              string
	classID, methodID uint16
	content           bool
	m                 proto.Method
}

func args() exchange.Table {
	return exchange.Table{"x-match": "all", "x-n": int64(7), "nested": exchange.Table{"ok": true}}
}

// Reference: rabbitmq-codegen amqp-rabbitmq-0.9.1.json, the classes' "id" and methods' "id"
// and "content"; reserved arguments (ticket, capabilities, insist, known-hosts, out-of-band,
// channel-id, cluster-id) are not fields.
var specs = []spec{
	{"connection.start", 10, 10, false, &proto.ConnectionStart{VersionMajor: 0, VersionMinor: 9,
		ServerProperties: exchange.Table{"product": "tribus", "capabilities": exchange.Table{"publisher_confirms": true}},
		Mechanisms:       "PLAIN AMQPLAIN", Locales: "en_US"}},
	{"connection.start-ok", 10, 11, false, &proto.ConnectionStartOk{ClientProperties: exchange.Table{"product": "test"},
		Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"}},
	{"connection.secure", 10, 20, false, &proto.ConnectionSecure{Challenge: "challenge\x00"}},
	{"connection.secure-ok", 10, 21, false, &proto.ConnectionSecureOk{Response: "response"}},
	{"connection.tune", 10, 30, false, &proto.ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}},
	{"connection.tune-ok", 10, 31, false, &proto.ConnectionTuneOk{ChannelMax: 100, FrameMax: 4096, Heartbeat: 10}},
	{"connection.open", 10, 40, false, &proto.ConnectionOpen{VirtualHost: "/vhost"}},
	{"connection.open-ok", 10, 41, false, &proto.ConnectionOpenOk{}},
	{"connection.close", 10, 50, false, &proto.ConnectionClose{ReplyCode: 320, ReplyText: "CONNECTION_FORCED - bye",
		FailedClassID: 50, FailedMethodID: 10}},
	{"connection.close-ok", 10, 51, false, &proto.ConnectionCloseOk{}},
	{"connection.blocked", 10, 60, false, &proto.ConnectionBlocked{Reason: "low on memory"}},
	{"connection.unblocked", 10, 61, false, &proto.ConnectionUnblocked{}},
	{"connection.update-secret", 10, 70, false, &proto.ConnectionUpdateSecret{NewSecret: "token", Reason: "refresh"}},
	{"connection.update-secret-ok", 10, 71, false, &proto.ConnectionUpdateSecretOk{}},
	{"channel.open", 20, 10, false, &proto.ChannelOpen{}},
	{"channel.open-ok", 20, 11, false, &proto.ChannelOpenOk{}},
	{"channel.flow", 20, 20, false, &proto.ChannelFlow{Active: true}},
	{"channel.flow-ok", 20, 21, false, &proto.ChannelFlowOk{Active: true}},
	{"channel.close", 20, 40, false, &proto.ChannelClose{ReplyCode: 404, ReplyText: "NOT_FOUND - no queue 'q'",
		FailedClassID: 60, FailedMethodID: 20}},
	{"channel.close-ok", 20, 41, false, &proto.ChannelCloseOk{}},
	{"access.request", 30, 10, false, &proto.AccessRequest{Realm: "/data", Exclusive: true, Passive: true,
		Active: true, Write: true, Read: true}},
	{"access.request-ok", 30, 11, false, &proto.AccessRequestOk{Ticket: 1}},
	{"exchange.declare", 40, 10, false, &proto.ExchangeDeclare{Exchange: "logs", Type: "topic", Passive: true,
		Durable: true, AutoDelete: true, Internal: true, NoWait: true, Arguments: args()}},
	{"exchange.declare-ok", 40, 11, false, &proto.ExchangeDeclareOk{}},
	{"exchange.delete", 40, 20, false, &proto.ExchangeDelete{Exchange: "logs", IfUnused: true, NoWait: true}},
	{"exchange.delete-ok", 40, 21, false, &proto.ExchangeDeleteOk{}},
	{"exchange.bind", 40, 30, false, &proto.ExchangeBind{Destination: "d", Source: "s", RoutingKey: "a.*",
		NoWait: true, Arguments: args()}},
	{"exchange.bind-ok", 40, 31, false, &proto.ExchangeBindOk{}},
	{"exchange.unbind", 40, 40, false, &proto.ExchangeUnbind{Destination: "d", Source: "s", RoutingKey: "a.#",
		NoWait: true, Arguments: args()}},
	{"exchange.unbind-ok", 40, 51, false, &proto.ExchangeUnbindOk{}},
	{"queue.declare", 50, 10, false, &proto.QueueDeclare{Queue: "jobs", Passive: true, Durable: true,
		Exclusive: true, AutoDelete: true, NoWait: true, Arguments: args()}},
	{"queue.declare-ok", 50, 11, false, &proto.QueueDeclareOk{Queue: "amq.gen-x", MessageCount: 3, ConsumerCount: 2}},
	{"queue.bind", 50, 20, false, &proto.QueueBind{Queue: "jobs", Exchange: "logs", RoutingKey: "k",
		NoWait: true, Arguments: args()}},
	{"queue.bind-ok", 50, 21, false, &proto.QueueBindOk{}},
	{"queue.purge", 50, 30, false, &proto.QueuePurge{Queue: "jobs", NoWait: true}},
	{"queue.purge-ok", 50, 31, false, &proto.QueuePurgeOk{MessageCount: 1 << 31}},
	{"queue.delete", 50, 40, false, &proto.QueueDelete{Queue: "jobs", IfUnused: true, IfEmpty: true, NoWait: true}},
	{"queue.delete-ok", 50, 41, false, &proto.QueueDeleteOk{MessageCount: 9}},
	{"queue.unbind", 50, 50, false, &proto.QueueUnbind{Queue: "jobs", Exchange: "logs", RoutingKey: "k",
		Arguments: args()}},
	{"queue.unbind-ok", 50, 51, false, &proto.QueueUnbindOk{}},
	{"basic.qos", 60, 10, false, &proto.BasicQos{PrefetchSize: 1 << 20, PrefetchCount: 50, Global: true}},
	{"basic.qos-ok", 60, 11, false, &proto.BasicQosOk{}},
	{"basic.consume", 60, 20, false, &proto.BasicConsume{Queue: "jobs", ConsumerTag: "ctag", NoLocal: true,
		NoAck: true, Exclusive: true, NoWait: true, Arguments: args()}},
	{"basic.consume-ok", 60, 21, false, &proto.BasicConsumeOk{ConsumerTag: "ctag"}},
	{"basic.cancel", 60, 30, false, &proto.BasicCancel{ConsumerTag: "ctag", NoWait: true}},
	{"basic.cancel-ok", 60, 31, false, &proto.BasicCancelOk{ConsumerTag: "ctag"}},
	{"basic.publish", 60, 40, true, &proto.BasicPublish{Exchange: "logs", RoutingKey: "k", Mandatory: true, Immediate: true}},
	{"basic.return", 60, 50, true, &proto.BasicReturn{ReplyCode: 312, ReplyText: "NO_ROUTE", Exchange: "logs", RoutingKey: "k"}},
	{"basic.deliver", 60, 60, true, &proto.BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1 << 40, Redelivered: true,
		Exchange: "logs", RoutingKey: "k"}},
	{"basic.get", 60, 70, false, &proto.BasicGet{Queue: "jobs", NoAck: true}},
	{"basic.get-ok", 60, 71, true, &proto.BasicGetOk{DeliveryTag: 5, Redelivered: true, Exchange: "logs",
		RoutingKey: "k", MessageCount: 12}},
	{"basic.get-empty", 60, 72, false, &proto.BasicGetEmpty{}},
	{"basic.ack", 60, 80, false, &proto.BasicAck{DeliveryTag: 77, Multiple: true}},
	{"basic.reject", 60, 90, false, &proto.BasicReject{DeliveryTag: 78, Requeue: true}},
	{"basic.recover-async", 60, 100, false, &proto.BasicRecoverAsync{Requeue: true}},
	{"basic.recover", 60, 110, false, &proto.BasicRecover{Requeue: true}},
	{"basic.recover-ok", 60, 111, false, &proto.BasicRecoverOk{}},
	{"basic.nack", 60, 120, false, &proto.BasicNack{DeliveryTag: 79, Multiple: true, Requeue: true}},
	{"confirm.select", 85, 10, false, &proto.ConfirmSelect{NoWait: true}},
	{"confirm.select-ok", 85, 11, false, &proto.ConfirmSelectOk{}},
	{"tx.select", 90, 10, false, &proto.TxSelect{}},
	{"tx.select-ok", 90, 11, false, &proto.TxSelectOk{}},
	{"tx.commit", 90, 20, false, &proto.TxCommit{}},
	{"tx.commit-ok", 90, 21, false, &proto.TxCommitOk{}},
	{"tx.rollback", 90, 30, false, &proto.TxRollback{}},
	{"tx.rollback-ok", 90, 31, false, &proto.TxRollbackOk{}},
}

// payloadOf returns the payload of the single frame in b.
func payloadOf(t testing.TB, b []byte) []byte {
	t.Helper()
	r := proto.NewReader(bytesReader(b), 0)
	f, err := r.ReadFrame()
	require.NoError(t, err)
	return f.Payload
}

func TestMethod_RoundTripEveryMethod(t *testing.T) {
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			require.Equal(t, s.classID, s.m.ClassID())
			require.Equal(t, s.methodID, s.m.MethodID())
			require.Equal(t, s.content, s.m.HasContent())
			require.Equal(t, s.name, proto.MethodName(s.classID, s.methodID))

			frame := proto.AppendMethod([]byte("prefix"), 7, s.m)
			require.Equal(t, "prefix", string(frame[:6]), "appends to the caller's bytes")
			frame = frame[6:]
			require.Equal(t, byte(proto.FrameMethod), frame[0])
			require.Equal(t, []byte{0, 7}, frame[1:3])
			require.Equal(t, byte(proto.FrameEnd), frame[len(frame)-1])

			got, err := proto.DecodeMethod(payloadOf(t, frame))
			require.NoError(t, err)
			require.Equal(t, s.m, got)
		})
	}
}

func TestMethod_EveryIDIsKnown(t *testing.T) {
	n := 0
	for c := range 100 {
		for m := range 256 {
			if proto.MethodName(uint16(c), uint16(m)) != "" {
				n++
			}
		}
	}
	require.Len(t, specs, n, "specs lists every method the codec knows")
}

func TestMethod_NilTableDecodesEmpty(t *testing.T) {
	got, err := proto.DecodeMethod(payloadOf(t, proto.AppendMethod(nil, 1, &proto.QueueDeclare{Queue: "q"})))
	require.NoError(t, err)
	require.Equal(t, &proto.QueueDeclare{Queue: "q", Arguments: exchange.Table{}}, got)
}

func TestMethod_TruncatedPayloadIsSyntaxError(t *testing.T) {
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			payload := payloadOf(t, proto.AppendMethod(nil, 1, s.m))
			for n := range len(payload) {
				_, err := proto.DecodeMethod(payload[:n])
				require.ErrorIs(t, err, proto.ErrSyntax, "%d of %d bytes", n, len(payload))
				require.EqualValues(t, 501, proto.Code(err))
				if n >= 4 {
					var me *proto.MethodError
					require.ErrorAs(t, err, &me)
					require.Equal(t, s.classID, me.ClassID)
					require.Equal(t, s.methodID, me.MethodID)
				}
			}
			_, err := proto.DecodeMethod(append(payload, 0))
			require.ErrorIs(t, err, proto.ErrSyntax, "a byte after the last argument")
		})
	}
}

// RabbitMQ's generated decoders check the short strings of methods without content for
// UTF-8 and skip the check on content-bearing ones.
// Reference: rabbitmq-server deps/rabbit_common/codegen.py, "elif type == 'shortstr' and not
// hasContent: assert_utf8".
func TestMethod_UTF8CheckedOnlyWithoutContent(t *testing.T) {
	bad := string([]byte{0xff, 0xfe})
	_, err := proto.DecodeMethod(payloadOf(t, proto.AppendMethod(nil, 1, &proto.QueueDeclare{Queue: bad})))
	require.ErrorIs(t, err, proto.ErrSyntax)
	require.ErrorContains(t, err, "UTF-8")

	_, err = proto.DecodeMethod([]byte{0, 20, 0, 10, 1, 0xff}) // channel.open, reserved out-of-band
	require.ErrorIs(t, err, proto.ErrSyntax)

	pub := &proto.BasicPublish{Exchange: bad, RoutingKey: bad}
	got, err := proto.DecodeMethod(payloadOf(t, proto.AppendMethod(nil, 1, pub)))
	require.NoError(t, err)
	require.Equal(t, pub, got)
}

func TestMethod_UnknownMethod(t *testing.T) {
	for _, ids := range [][2]uint16{{60, 999}, {99, 10}, {0, 0}, {60, 200}, {40, 41}} {
		payload := []byte{byte(ids[0] >> 8), byte(ids[0]), byte(ids[1] >> 8), byte(ids[1])}
		_, err := proto.DecodeMethod(payload)
		require.ErrorIs(t, err, proto.ErrUnknownMethod)
		var me *proto.MethodError
		require.ErrorAs(t, err, &me)
		require.Equal(t, ids, [2]uint16{me.ClassID, me.MethodID})
		require.EqualValues(t, 540, proto.Code(err))
	}
}

// The bits of consecutive bit arguments share one octet, the first in the lowest bit.
// Reference: AMQP 0-9-1 section 4.2.5.2, "Bits are accumulated into whole octets".
func TestMethod_BitsPackIntoOneOctet(t *testing.T) {
	frame := proto.AppendMethod(nil, 1, &proto.QueueDeclare{Queue: "q", Durable: true, AutoDelete: true})
	want := []byte{
		1, 0, 1, 0, 0, 0, 13, // method frame, channel 1, 13 bytes
		0, 50, 0, 10, // queue.declare
		0, 0, // reserved-1 (ticket)
		1, 'q',
		0b01010,    // passive 0, durable 1, exclusive 0, auto-delete 1, no-wait 0
		0, 0, 0, 0, // arguments: empty table
		0xce,
	}
	require.Equal(t, want, frame)
}

// ConnectionStartOk as amqp091-go writes it (spec091.go connectionStartOk.write: table,
// shortstr, longstr, shortstr) for client properties {"product": "tribus"} and PLAIN.
func TestMethod_ConnectionStartOkBytes(t *testing.T) {
	frame := proto.AppendMethod(nil, 0, &proto.ConnectionStartOk{
		ClientProperties: exchange.Table{"product": "tribus"},
		Mechanism:        "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US",
	})
	want := []byte{
		1, 0, 0, 0, 0, 0, 55, // method frame, channel 0, 55 bytes
		0, 10, 0, 11, // connection.start-ok
		0, 0, 0, 19, 7, 'p', 'r', 'o', 'd', 'u', 'c', 't', 'S', 0, 0, 0, 6, 't', 'r', 'i', 'b', 'u', 's',
		5, 'P', 'L', 'A', 'I', 'N',
		0, 0, 0, 12, 0, 'g', 'u', 'e', 's', 't', 0, 'g', 'u', 'e', 's', 't',
		5, 'e', 'n', '_', 'U', 'S',
		0xce,
	}
	require.Equal(t, want, frame)
}

// BasicPublish as amqp091-go writes it (spec091.go basicPublish.write: reserved-1 short,
// exchange, routing key, mandatory and immediate bits).
func TestMethod_BasicPublishBytes(t *testing.T) {
	frame := proto.AppendMethod(nil, 1, &proto.BasicPublish{RoutingKey: "hello", Mandatory: true})
	want := []byte{
		1, 0, 1, 0, 0, 0, 14,
		0, 60, 0, 40, // basic.publish
		0, 0, // reserved-1 (ticket)
		0,                          // exchange ""
		5, 'h', 'e', 'l', 'l', 'o', // routing key
		1, // mandatory
		0xce,
	}
	require.Equal(t, want, frame)
	got, err := proto.DecodeMethod(want[7 : len(want)-1])
	require.NoError(t, err)
	require.Equal(t, &proto.BasicPublish{RoutingKey: "hello", Mandatory: true}, got)
}

func TestMethod_TuneBytes(t *testing.T) {
	frame := proto.AppendMethod(nil, 0, &proto.ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60})
	require.Equal(t, []byte{1, 0, 0, 0, 0, 0, 12, 0, 10, 0, 30, 0x07, 0xff, 0, 2, 0, 0, 0, 60, 0xce}, frame)
}

func TestMethod_ReservedArgumentsAreSkipped(t *testing.T) {
	// connection.open with capabilities "x" and insist set, as an old client sends it.
	payload := []byte{0, 10, 0, 40, 1, '/', 1, 'x', 1}
	got, err := proto.DecodeMethod(payload)
	require.NoError(t, err)
	require.Equal(t, &proto.ConnectionOpen{VirtualHost: "/"}, got)
}

func TestMethod_AppendPanicsOnLongShortString(t *testing.T) {
	long := string(make([]byte, proto.MaxShortString+1))
	require.Panics(t, func() { proto.AppendMethod(nil, 1, &proto.QueueDeclare{Queue: long}) })
	require.NotPanics(t, func() { proto.AppendMethod(nil, 1, &proto.QueueDeclare{Queue: long[1:]}) })
}

// A reply text too long for a short string is cut to end in "...", as RabbitMQ cuts it.
func TestMethod_ShortTextCutsLongTextWithAnEllipsis(t *testing.T) {
	require.Equal(t, "abc", proto.ShortText("abc"))
	exact := strings.Repeat("a", 255)
	require.Equal(t, exact, proto.ShortText(exact))
	s := strings.Repeat("a", 251) + "é" + strings.Repeat("b", 10) // é is 2 bytes, at 251-252
	require.Equal(t, strings.Repeat("a", 251)+"...", proto.ShortText(s), "never half a rune")
	require.Equal(t, strings.Repeat("a", 252)+"...", proto.ShortText(strings.Repeat("a", 300)))
}

func TestMethod_AppendAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 1024)
	m := &proto.BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1, Exchange: "logs", RoutingKey: "k"}
	allocs := testing.AllocsPerRun(100, func() { buf = proto.AppendMethod(buf[:0], 1, m) })
	require.Zero(t, allocs)
}

func TestMethod_DecodeAllocatesOnlyTheMethod(t *testing.T) {
	payload := payloadOf(t, proto.AppendMethod(nil, 1, &proto.BasicPublish{Exchange: "logs", RoutingKey: "k"}))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := proto.DecodeMethod(payload); err != nil {
			panic(err)
		}
	})
	require.LessOrEqual(t, allocs, 3.0, "the struct and two strings")
}

// sameMethod compares two methods field by field, tables with sameTable.
func sameMethod(a, b proto.Method) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	if va.Type() != vb.Type() {
		return false
	}
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		if !fa.CanInterface() {
			continue // the embedded noArgs
		}
		if ta, ok := fa.Interface().(exchange.Table); ok {
			if !sameTable(ta, fb.Interface().(exchange.Table)) {
				return false
			}
			continue
		}
		if fa.Interface() != fb.Interface() {
			return false
		}
	}
	return true
}

func TestMethodError_Message(t *testing.T) {
	err := &proto.MethodError{ClassID: 50, MethodID: 10, Err: fmt.Errorf("%w: x", proto.ErrSyntax)}
	require.Equal(t, "tribus/amqp: cannot decode: x (queue.declare)", err.Error())
	err = &proto.MethodError{ClassID: 1, MethodID: 2, Err: proto.ErrUnknownMethod}
	require.Equal(t, "tribus/amqp: unknown method (class 1, method 2)", err.Error())
	require.True(t, errors.Is(err, proto.ErrUnknownMethod))
}
