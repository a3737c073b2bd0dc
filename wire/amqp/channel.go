package amqp

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// channel is one open AMQP channel and the session it drives. Its fields are owned by the
// connection's serving goroutine, except what consumer goroutines read (id, s).
type channel struct {
	c  *conn
	id uint16
	s  *exchange.Session

	pipe    *exchange.Publisher // publishes without confirms, or in confirm mode with confirms
	confirm bool
	closing bool // channel.close sent: frames are ignored until close-ok

	// The publish being assembled from its method, header and body frames.
	pub     *proto.BasicPublish
	msg     exchange.Publishing
	size    uint64
	gotHead bool

	consumers map[string]*consumerLoop
	wg        sync.WaitGroup // the consumer goroutines
}

// consumerLoop writes one consumer's deliveries to the connection.
type consumerLoop struct {
	ch   *channel
	cons *exchange.Consumer
	done chan struct{}
}

// pipelineWindow bounds the publishes of a channel whose store writes are not yet done.
const pipelineWindow = 8192

func (c *conn) openChannel(id uint16) error {
	s, err := c.ec.NewSession()
	if err != nil {
		return err
	}
	ch := &channel{c: c, id: id, s: s, consumers: make(map[string]*consumerLoop)}
	s.NotifyReturn(ch.writeReturn)
	if ch.pipe, err = s.NewPipeline(pipelineWindow); err != nil {
		return err
	}
	c.channels[id] = ch
	c.write(func(b []byte) []byte { return proto.AppendMethod(b, id, &proto.ChannelOpenOk{}) })
	return nil
}

// reply writes a method on the channel.
func (ch *channel) reply(m proto.Method) {
	ch.c.write(func(b []byte) []byte { return proto.AppendMethod(b, ch.id, m) })
}

func (ch *channel) writeReturn(r *exchange.ReturnedError) {
	ch.c.write(func(b []byte) []byte {
		b = proto.AppendMethod(b, ch.id, &proto.BasicReturn{ReplyCode: uint16(r.ReplyCode), ReplyText: r.ReplyText,
			Exchange: r.Exchange, RoutingKey: r.RoutingKey})
		return proto.AppendContent(b, ch.id, proto.ClassBasic, &r.Message, r.Message.Body, ch.c.frameMax)
	})
}

// failed answers an error of method m: a channel error closes the channel with
// channel.close; a connection error (the engine closed the connection for it, or its code is
// one of AMQP's hard errors) closes the connection with connection.close.
func (ch *channel) failed(m proto.Method, err error) {
	if errors.Is(ch.c.ec.Err(), exchange.ErrConnectionForced) {
		return // closed from the router's side: watchClosed tells the client, with 320
	}
	code := uint16(exchange.ReplyCode(err))
	text := replyText(code, err, ch.c.vhost)
	if ch.c.ec.Err() != nil || hardError(code) {
		ch.c.closeConnection(code, text, m.ClassID(), m.MethodID())
		return
	}
	ch.closing = true
	ch.reply(&proto.ChannelClose{ReplyCode: code, ReplyText: proto.ShortText(text),
		FailedClassID: m.ClassID(), FailedMethodID: m.MethodID()})
}

// hardError reports whether a reply code is a connection error in AMQP 0-9-1 (the spec's
// "hard errors"), which closes the connection whoever found it: the router, or the door for
// what it refuses itself (540 for channel.flow active=false, as RabbitMQ).
func hardError(code uint16) bool {
	switch code {
	case 320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541:
		return true
	}
	return false
}

// replyNames are RabbitMQ's names of the reply codes, which start its reply texts.
var replyNames = map[uint16]string{312: "NO_ROUTE", 403: "ACCESS_REFUSED", 404: "NOT_FOUND",
	405: "RESOURCE_LOCKED", 406: "PRECONDITION_FAILED", 501: "FRAME_ERROR", 502: "SYNTAX_ERROR",
	503: "COMMAND_INVALID", 504: "CHANNEL_ERROR", 505: "UNEXPECTED_FRAME", 530: "NOT_ALLOWED",
	540: "NOT_IMPLEMENTED", 541: "INTERNAL_ERROR"}

// resourceName finds the resources an engine error names, which RabbitMQ names with their
// virtual host.
var resourceName = regexp.MustCompile(`(exchange|queue) '([^']*)'`)

// engineNote finds what an engine error adds for errors.Is, which RabbitMQ's text has not:
// "unknown delivery tag 7 (tribus: already settled)".
var engineNote = regexp.MustCompile(` \(tribus: [^)]*\)`)

// replyText is RabbitMQ's reply text for an engine error: "NOT_FOUND - no exchange 'x' in
// vhost '/'".
func replyText(code uint16, err error, vhost string) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "tribus/exchange: "); i >= 0 {
		msg = msg[i+len("tribus/exchange: "):]
	}
	if j := strings.Index(msg, ": "); j >= 0 {
		msg = msg[j+2:]
	}
	msg = strings.TrimSuffix(strings.TrimSuffix(msg, " (session closed)"), " (connection closed)")
	msg = engineNote.ReplaceAllString(msg, "")
	msg = resourceName.ReplaceAllString(msg, "$1 '$2' in vhost '"+vhost+"'")
	return replyNames[code] + " - " + msg
}

// method runs one method the client sent on the channel.
func (ch *channel) method(m proto.Method) error {
	if ch.closing {
		if _, ok := m.(*proto.ChannelCloseOk); ok {
			ch.release()
		}
		return nil // RabbitMQ discards everything else until close-ok
	}
	if ch.pub != nil {
		return fmt.Errorf("%w: %T while a content was expected", proto.ErrUnexpectedFrame, m)
	}
	var err error
	switch m := m.(type) {
	case *proto.ChannelOpen:
		return &connError{code: 504, text: "CHANNEL_ERROR - second 'channel.open' seen", method: m}
	case *proto.ChannelClose:
		ch.release()
		ch.reply(&proto.ChannelCloseOk{})
		return nil
	case *proto.ChannelFlow:
		if !m.Active {
			err = fmt.Errorf("%w: active=false", exchange.ErrNotImplemented)
			break
		}
		ch.reply(&proto.ChannelFlowOk{Active: true})
	case *proto.ExchangeDeclare:
		o := exchange.ExchangeOptions{Durable: m.Durable, AutoDelete: m.AutoDelete, Internal: m.Internal,
			Passive: m.Passive, Args: m.Arguments}
		if err = ch.s.ExchangeDeclare(m.Exchange, exchange.Kind(m.Type), o); err == nil && !m.NoWait {
			ch.reply(&proto.ExchangeDeclareOk{})
		}
	case *proto.ExchangeDelete:
		if err = ch.s.ExchangeDelete(m.Exchange, m.IfUnused); err == nil && !m.NoWait {
			ch.reply(&proto.ExchangeDeleteOk{})
		}
	case *proto.ExchangeBind:
		if err = ch.s.ExchangeBind(m.Destination, m.Source, m.RoutingKey, m.Arguments); err == nil && !m.NoWait {
			ch.reply(&proto.ExchangeBindOk{})
		}
	case *proto.ExchangeUnbind:
		if err = ch.s.ExchangeUnbind(m.Destination, m.Source, m.RoutingKey, m.Arguments); err == nil && !m.NoWait {
			ch.reply(&proto.ExchangeUnbindOk{})
		}
	case *proto.QueueDeclare:
		var info exchange.QueueInfo
		o := exchange.QueueOptions{Durable: m.Durable, Exclusive: m.Exclusive, AutoDelete: m.AutoDelete,
			Passive: m.Passive, Args: m.Arguments}
		if info, err = ch.s.QueueDeclare(m.Queue, o); err == nil && !m.NoWait {
			ch.reply(&proto.QueueDeclareOk{Queue: info.Name, MessageCount: uint32(info.Ready),
				ConsumerCount: uint32(info.Consumers)})
		}
	case *proto.QueueBind:
		if err = ch.s.QueueBind(m.Queue, m.Exchange, m.RoutingKey, m.Arguments); err == nil && !m.NoWait {
			ch.reply(&proto.QueueBindOk{})
		}
	case *proto.QueueUnbind:
		if err = ch.s.QueueUnbind(m.Queue, m.Exchange, m.RoutingKey, m.Arguments); err == nil {
			ch.reply(&proto.QueueUnbindOk{})
		}
	case *proto.QueuePurge:
		var n int
		if n, err = ch.s.QueuePurge(m.Queue); err == nil && !m.NoWait {
			ch.reply(&proto.QueuePurgeOk{MessageCount: uint32(n)})
		}
	case *proto.QueueDelete:
		var n int
		if n, err = ch.s.QueueDelete(m.Queue, m.IfUnused, m.IfEmpty); err == nil && !m.NoWait {
			ch.reply(&proto.QueueDeleteOk{MessageCount: uint32(n)})
		}
	case *proto.BasicQos:
		if m.PrefetchSize != 0 {
			err = fmt.Errorf("%w: prefetch_size!=0 (%d)", exchange.ErrNotImplemented, m.PrefetchSize)
			break
		}
		if err = ch.s.Qos(int(m.PrefetchCount), m.Global); err == nil {
			ch.reply(&proto.BasicQosOk{})
		}
	case *proto.BasicPublish:
		if m.Immediate { // RabbitMQ dropped immediate in 3.0, and closes the connection
			return &connError{code: 540, text: "NOT_IMPLEMENTED - immediate=true", method: m}
		}
		ch.pub, ch.gotHead = m, false
		return nil
	case *proto.BasicConsume:
		err = ch.consume(m)
	case *proto.BasicCancel:
		ch.cancel(m.ConsumerTag)
		if !m.NoWait {
			ch.reply(&proto.BasicCancelOk{ConsumerTag: m.ConsumerTag})
		}
	case *proto.BasicGet:
		err = ch.get(m)
	case *proto.BasicAck:
		err = ch.s.Ack(m.DeliveryTag, m.Multiple)
	case *proto.BasicNack:
		err = ch.s.Nack(m.DeliveryTag, m.Multiple, m.Requeue)
	case *proto.BasicReject:
		err = ch.s.Reject(m.DeliveryTag, m.Requeue)
	case *proto.BasicRecover:
		if err = ch.s.Recover(m.Requeue); err == nil {
			ch.reply(&proto.BasicRecoverOk{})
		}
	case *proto.BasicRecoverAsync:
		err = ch.s.Recover(m.Requeue)
	case *proto.ConfirmSelect:
		err = ch.selectConfirm(m.NoWait)
	case *proto.TxSelect:
		if err = ch.s.Tx(); err == nil {
			ch.reply(&proto.TxSelectOk{})
		}
	case *proto.TxCommit:
		ch.pipe.Close() // the commit routes after every earlier publish
		if ch.pipe, err = ch.s.NewPipeline(pipelineWindow); err == nil {
			if err = ch.s.TxCommit(context.Background()); err == nil {
				ch.reply(&proto.TxCommitOk{})
			}
		}
	case *proto.TxRollback:
		if err = ch.s.TxRollback(); err == nil {
			ch.reply(&proto.TxRollbackOk{})
		}
	default:
		err = fmt.Errorf("%w: unimplemented method", exchange.ErrCommandInvalid)
	}
	if err != nil {
		ch.failed(m, err)
	}
	return nil
}

func (ch *channel) selectConfirm(noWait bool) error {
	if ch.confirm {
		if !noWait {
			ch.reply(&proto.ConfirmSelectOk{})
		}
		return nil
	}
	ch.pipe.Close()
	id := ch.id
	p, err := ch.s.NewPublisher(pipelineWindow, func(cf exchange.Confirmation) {
		if cf.Ack {
			ch.c.write(func(b []byte) []byte { return proto.AppendMethod(b, id, &proto.BasicAck{DeliveryTag: cf.DeliveryTag}) })
		} else {
			ch.c.write(func(b []byte) []byte { return proto.AppendMethod(b, id, &proto.BasicNack{DeliveryTag: cf.DeliveryTag}) })
		}
	})
	if err != nil {
		return err
	}
	ch.pipe, ch.confirm = p, true
	if !noWait {
		ch.reply(&proto.ConfirmSelectOk{})
	}
	return nil
}

// content takes a header or body frame of the publish being assembled.
func (ch *channel) content(f proto.Frame) error {
	if ch.closing {
		return nil
	}
	if ch.pub == nil {
		return &connError{code: 505, text: "UNEXPECTED_FRAME - expected method frame, got non method frame instead"}
	}
	if f.Type == proto.FrameHeader {
		if ch.gotHead {
			return fmt.Errorf("%w: second content header", proto.ErrUnexpectedFrame)
		}
		ch.msg = exchange.Publishing{}
		_, size, err := proto.DecodeHeader(f.Payload, &ch.msg)
		if err != nil {
			return err
		}
		ch.size, ch.gotHead = size, true
		ch.msg.Body = make([]byte, 0, min(size, 1<<20))
	} else {
		if !ch.gotHead {
			return fmt.Errorf("%w: body frame before the content header", proto.ErrUnexpectedFrame)
		}
		if uint64(len(ch.msg.Body))+uint64(len(f.Payload)) > ch.size {
			return fmt.Errorf("%w: body longer than its header says", proto.ErrUnexpectedFrame)
		}
		ch.msg.Body = append(ch.msg.Body, f.Payload...)
	}
	if uint64(len(ch.msg.Body)) < ch.size {
		return nil
	}
	pub := ch.pub
	ch.pub, ch.gotHead = nil, false
	ch.c.markPublisher()
	_, err := ch.pipe.Publish(context.Background(), pub.Exchange, pub.RoutingKey, pub.Mandatory, ch.msg)
	var ret *exchange.ReturnedError
	if err != nil && !errors.As(err, &ret) {
		ch.failed(pub, err)
	}
	return nil
}

func (ch *channel) consume(m *proto.BasicConsume) error {
	cons, err := ch.s.Consume(m.Queue, exchange.ConsumeOptions{Tag: m.ConsumerTag, AutoAck: m.NoAck,
		Exclusive: m.Exclusive, Args: m.Arguments})
	if err != nil {
		return err
	}
	if !m.NoWait {
		ch.reply(&proto.BasicConsumeOk{ConsumerTag: cons.Tag()})
	}
	l := &consumerLoop{ch: ch, cons: cons, done: make(chan struct{})}
	ch.consumers[cons.Tag()] = l
	ch.wg.Add(1)
	go l.run()
	return nil
}

// run writes the consumer's deliveries until it ends; a consumer the server cancelled is
// told with basic.cancel (consumer_cancel_notify).
func (l *consumerLoop) run() {
	defer l.ch.wg.Done()
	defer close(l.done)
	ch := l.ch
	for {
		d, err := l.cons.Next(context.Background())
		if err != nil {
			if errors.Is(err, exchange.ErrCancelledByServer) {
				ch.c.write(func(b []byte) []byte {
					return proto.AppendMethod(b, ch.id, &proto.BasicCancel{ConsumerTag: l.cons.Tag(), NoWait: true})
				})
			}
			return
		}
		if !ch.c.write(func(b []byte) []byte {
			b = proto.AppendMethod(b, ch.id, &proto.BasicDeliver{ConsumerTag: d.ConsumerTag, DeliveryTag: d.DeliveryTag,
				Redelivered: d.Redelivered, Exchange: d.Exchange, RoutingKey: d.RoutingKey})
			return proto.AppendContent(b, ch.id, proto.ClassBasic, d.Publishing, d.Body, ch.c.frameMax)
		}) {
			return
		}
	}
}

// cancel cancels a consumer and waits until every delivery pushed to it is written, so that
// cancel-ok comes after them.
func (ch *channel) cancel(tag string) {
	l := ch.consumers[tag]
	if l == nil {
		return
	}
	delete(ch.consumers, tag)
	l.cons.Cancel()
	<-l.done
}

func (ch *channel) get(m *proto.BasicGet) error {
	d, err := ch.s.Get(m.Queue, m.NoAck)
	if err != nil {
		return err
	}
	if d == nil {
		ch.reply(&proto.BasicGetEmpty{})
		return nil
	}
	ch.c.write(func(b []byte) []byte {
		b = proto.AppendMethod(b, ch.id, &proto.BasicGetOk{DeliveryTag: d.DeliveryTag, Redelivered: d.Redelivered,
			Exchange: d.Exchange, RoutingKey: d.RoutingKey, MessageCount: uint32(d.MessageCount)})
		return proto.AppendContent(b, ch.id, proto.ClassBasic, d.Publishing, d.Body, ch.c.frameMax)
	})
	return nil
}

// release closes the channel's session (requeueing its unacked deliveries) and forgets it.
func (ch *channel) release() {
	ch.pipe.Close()
	ch.s.Close()
	ch.wg.Wait()
	delete(ch.c.channels, ch.id)
}
