package exchange_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tribusmq/tribus/exchange"
)

// fuzzValues are the typed values the argument fuzzer draws from: every AMQP field type, in
// and out of range for the known arguments.
var fuzzValues = []any{
	nil, true, false, int8(-1), int16(0), int32(1), int64(1000), int(-5), uint8(255), uint16(300),
	uint32(1 << 31), float32(1.5), float64(0), "", "drop-head", "reject-publish", "reject-publish-dlx",
	"quorum", "classic", "stream", "dlx", []byte("x"), time.Unix(0, 0), exchange.Decimal{Scale: 1, Value: 5},
	exchange.Table{"a": int32(1)}, []any{"k", int32(2)}, int64(256), int64(-1), int64(0),
}

var fuzzKeys = []string{
	"x-message-ttl", "x-expires", "x-max-length", "x-max-length-bytes", "x-overflow",
	"x-dead-letter-exchange", "x-dead-letter-routing-key", "x-max-priority",
	"x-single-active-consumer", "x-delivery-limit", "x-queue-type", "x-custom", "plain",
}

// FuzzQueueArgs_NeverPanics declares queues with argument tables decoded from the fuzz input:
// every outcome is either a queue or an ErrPreconditionFailed that created nothing.
func FuzzQueueArgs_NeverPanics(f *testing.F) {
	f.Add([]byte{0, 6}, uint8(0))
	f.Add([]byte{1, 26, 2, 27, 4, 14}, uint8(1))
	f.Add([]byte{7, 26, 10, 18}, uint8(3))
	f.Fuzz(func(t *testing.T, spec []byte, flags uint8) {
		args := exchange.Table{}
		for i := 0; i+1 < len(spec); i += 2 {
			args[fuzzKeys[int(spec[i])%len(fuzzKeys)]] = fuzzValues[int(spec[i+1])%len(fuzzValues)]
		}
		r, err := exchange.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		s, _ := r.NewSession()
		o := exchange.QueueOptions{Durable: flags&1 != 0, Exclusive: flags&2 != 0, AutoDelete: flags&4 != 0, Args: args}
		_, err = s.QueueDeclare("q", o)
		_, exists := r.QueueInfo("q")
		switch {
		case err == nil && exists != nil:
			t.Fatalf("declared without error but no queue: %v", exists)
		case err != nil && !errors.Is(err, exchange.ErrPreconditionFailed):
			t.Fatalf("error is not PRECONDITION_FAILED: %v", err)
		case err != nil && exists == nil:
			t.Fatalf("refused declaration %v still created the queue", err)
		}
	})
}
