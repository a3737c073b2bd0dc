package interop

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/tribusmq/tribus/wire/kafka"
)

// A kgo client with the right SASL/PLAIN credentials produces and consumes; one with a
// wrong password gets SASL_AUTHENTICATION_FAILED.
func TestKgo_SASLPlainAuthenticates(t *testing.T) {
	for _, name := range []string{"tribus", "tribus-inproc", "kfake"} {
		t.Run(name, func(t *testing.T) {
			var tg kafkaTarget
			switch name {
			case "kfake":
				c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(),
					kfake.EnableSASL(), kfake.Superuser("PLAIN", "alice", "s3cret"))
				require.NoError(t, err)
				t.Cleanup(c.Close)
				tg = kafkaTarget{name: name, opts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}}
			default:
				tcp, inproc := startKafkaTribus(t, &kafka.Options{SASLPlainUsers: map[string]string{"alice": "s3cret"}})
				tg = tcp
				if name == "tribus-inproc" {
					tg = inproc
				}
			}
			ctx := kctx(t)
			topic := topicName(t)
			good := tg.client(t, kgo.SASL(plain.Auth{User: "alice", Pass: "s3cret"}.AsMechanism()),
				kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
				kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			require.NoError(t, good.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr())
			assert.Equal(t, "v", string(consumeN(t, ctx, good, 1)[0].Value))

			bad := tg.client(t, kgo.SASL(plain.Auth{User: "alice", Pass: "guess"}.AsMechanism()),
				kgo.RequestRetries(0))
			err := bad.Ping(ctx)
			if tg.isKfake() {
				// kfake closes the connection without an answer; Kafka answers the
				// SaslAuthenticate with SASL_AUTHENTICATION_FAILED, then closes (KIP-152).
				assert.ErrorIs(t, err, io.EOF)
				return
			}
			assert.ErrorIs(t, err, kerr.SaslAuthenticationFailed)
		})
	}
}
