// Package clients hands a test real client libraries connected to a [tribustest.Broker] in
// process, with no socket: go-redis, amqp091-go and franz-go's kgo, each closed when the test
// ends. Production code that takes such a client runs unchanged against tribus in a test and
// against Redis, RabbitMQ or Kafka in production:
//
//	func TestNotifier(t *testing.T) {
//		b := tribustest.New(t)
//		n := notify.New(clients.Redis(b)) // the production constructor, given a *redis.Client
//		...
//	}
//
// It is a module of its own, so that the client libraries never appear in the go.mod of a
// program that imports tribus; a test module adds it with
// `go get github.com/tribusmq/tribus/tribustest/clients`.
//
// # Concurrency
//
// Each function returns a client that is as safe for concurrent use as the library makes
// it (go-redis and kgo clients are; an amqp091-go Channel is not). The functions call the
// broker's T, so call them on the test's goroutine.
package clients

import (
	"context"
	"net"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tribusmq/tribus/tribustest"
)

// Redis returns a go-redis client of b's Redis front door, dialled in process. opts, if not
// nil, is copied and used for everything but Dialer (Protocol 2 or 3, Password for a broker
// opened with Redis.Password, pool sizes...). The client is closed when the test ends.
func Redis(b *tribustest.Broker, opts *redis.Options) *redis.Client {
	var o redis.Options
	if opts != nil {
		o = *opts
	}
	o.Dialer = b.Redis().Dial
	if o.Addr == "" {
		o.Addr = "tribus:6379" // never dialled: it names the server in go-redis's errors
	}
	rdb := redis.NewClient(&o)
	b.T().Cleanup(func() { rdb.Close() })
	return rdb
}

// AMQP returns an amqp091-go connection to b's AMQP front door, dialled in process, as the
// default guest user on the virtual host "/". config's fields other than Dial are used
// (Heartbeat, Properties, SASL for other users, Vhost...). It fails the test if the
// handshake fails. The connection is closed when the test ends.
func AMQP(b *tribustest.Broker, config amqp.Config) *amqp.Connection {
	t := b.T()
	t.Helper()
	config.Dial = b.AMQP().Dial
	conn, err := amqp.DialConfig("amqp://guest:guest@tribus/", config)
	if err != nil {
		t.Fatalf("clients: AMQP connection to the broker: %v", err)
		return nil
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// AMQPChannel returns a channel on a new [AMQP] connection with the default config: what
// most code under test takes.
func AMQPChannel(b *tribustest.Broker) *amqp.Channel {
	t := b.T()
	t.Helper()
	ch, err := AMQP(b, amqp.Config{}).Channel()
	if err != nil {
		t.Fatalf("clients: opening an AMQP channel: %v", err)
		return nil
	}
	return ch
}

// Kafka returns a franz-go client of b's Kafka front door, dialled in process, with opts
// added after the seed broker and dialer (kgo.ConsumerGroup, kgo.ConsumeTopics,
// kgo.TransactionalID...). It fails the test if opts are invalid. The client is closed when
// the test ends.
//
// kgo lingers before sending a batch by default; kgo.ProducerLinger(0) makes a unit test's
// single produce go out at once.
func Kafka(b *tribustest.Broker, opts ...kgo.Opt) *kgo.Client {
	t := b.T()
	t.Helper()
	srv := b.Kafka()
	all := append([]kgo.Opt{
		kgo.SeedBrokers("tribus:9092"),
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			return srv.Dial(ctx, network, host)
		}),
	}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("clients: Kafka client: %v", err)
		return nil
	}
	t.Cleanup(cl.Close)
	return cl
}
