package tribustest_test

import (
	"context"
	"testing"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/tribustest"
)

// BenchmarkNew is what the toolkit adds to a unit test: open an in-memory broker, declare,
// publish, wait for the message and check it, then the cleanup (Close, the goroutine check).
// The plain row does the same with tribus.Open and Close alone, for the ratio.
func BenchmarkNew(b *testing.B) {
	b.Run("tribustest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t := &exampleT{}
			br := tribustest.New(t)
			r := br.Router()
			r.QueueDeclare("q", exchange.QueueOptions{})
			r.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("m")})
			br.Wait(tribustest.QueueReady("q", 1))
			br.CheckQueue("q", "m")
			t.done()
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			br, err := tribus.Open("", nil)
			if err != nil {
				b.Fatal(err)
			}
			r := br.Router()
			r.QueueDeclare("q", exchange.QueueOptions{})
			r.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("m")})
			if qi, _ := r.QueueInfo("q"); qi.Ready != 1 {
				b.Fatal("not enqueued")
			}
			r.Peek("q", 0)
			br.Close()
		}
	})
}
