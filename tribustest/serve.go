package tribustest

import (
	"net"
)

// For clients that take an address rather than a dialer (redis-py, pika, kafka-python, kcat,
// or production code that builds its own client from a URL), the Serve methods serve a front
// door on a loopback TCP port until the broker closes. For Go clients the in-process dialers
// need no socket at all: b.Redis().Dial is go-redis's Options.Dialer, b.AMQP().Dial
// amqp091-go's Config.Dial, and b.Kafka().Dial franz-go's kgo.Dialer; the nested module
// github.com/tribusmq/tribus/tribustest/clients hands back ready clients built on them.

// ServeRedis serves the Redis front door (RESP2 and RESP3 pub/sub) on 127.0.0.1 and returns
// its host:port.
func (b *Broker) ServeRedis() string {
	b.t.Helper()
	return b.serve("redis", func(ln net.Listener) error { return b.Redis().Serve(ln) })
}

// ServeAMQP serves the AMQP 0-9-1 front door on 127.0.0.1 and returns the URL a RabbitMQ
// client dials, with the default guest user: amqp://guest:guest@127.0.0.1:PORT/.
func (b *Broker) ServeAMQP() string {
	b.t.Helper()
	return "amqp://guest:guest@" + b.serve("amqp", func(ln net.Listener) error { return b.AMQP().Serve(ln) }) + "/"
}

// ServeKafka serves the Kafka front door on 127.0.0.1 and returns its host:port, the
// bootstrap address of a one-broker cluster.
func (b *Broker) ServeKafka() string {
	b.t.Helper()
	return b.serve("kafka", func(ln net.Listener) error { return b.Kafka().Serve(ln) })
}

// serve listens on a loopback port and serves it on a goroutine that the broker's Close ends
// (each door's Close closes its listeners) and that the cleanup waits for.
func (b *Broker) serve(door string, serve func(net.Listener) error) string {
	b.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.t.Fatalf("tribustest: listening for the %s door: %v", door, err)
		return ""
	}
	b.serving.Go(func() { _ = serve(ln) }) // it returns the door's ErrServerClosed once the broker closes
	return ln.Addr().String()
}

// DropConnections closes every connection of the wire front doors (Redis, AMQP, Kafka) at
// once, as a network failure would, and returns how many there were; the doors go on serving.
// The broker sees what a real one sees of clients that vanished: an AMQP connection's unacked
// deliveries are requeued and its exclusive queues deleted, a Redis subscriber's
// subscriptions end, a Kafka member stops heartbeating. Clients that reconnect (go-redis and
// kgo do by themselves; amqp091-go does not) are served again.
func (b *Broker) DropConnections() int {
	return b.Redis().DropConnections() + b.AMQP().DropConnections() + b.Kafka().DropConnections()
}
