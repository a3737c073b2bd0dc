package exchange_test

import (
	"context"
	"fmt"

	"github.com/tribusmq/tribus/exchange"
)

func ExampleSession_Publish() {
	r, _ := exchange.New(nil)
	defer r.Close()
	s, _ := r.NewSession()

	_ = s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true})
	_, _ = s.QueueDeclare("order_notifications", exchange.QueueOptions{Durable: true})
	_ = s.QueueBind("order_notifications", "orders", "order.*", nil)

	ctx := context.Background()
	_, _ = s.Publish(ctx, "orders", "order.created", false, exchange.Publishing{
		ContentType: "application/json", DeliveryMode: exchange.Persistent, Body: []byte(`{"order_id":"ORD-123"}`)})

	c, _ := s.Consume("order_notifications", exchange.ConsumeOptions{Prefetch: 10})
	d, _ := c.Next(ctx)
	fmt.Printf("%s via %s (tag %d)\n", d.Body, d.RoutingKey, d.DeliveryTag)
	_ = d.Ack()
	// Output:
	// {"order_id":"ORD-123"} via order.created (tag 1)
}

func ExampleDelivery_Nack() {
	r, _ := exchange.New(nil)
	defer r.Close()
	s, _ := r.NewSession()
	_ = s.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{})
	_, _ = s.QueueDeclare("failed", exchange.QueueOptions{})
	_ = s.QueueBind("failed", "dlx", "", nil)
	_, _ = s.QueueDeclare("work", exchange.QueueOptions{DeadLetterExchange: "dlx"})

	_, _ = s.Publish(context.Background(), "", "work", false, exchange.Publishing{Body: []byte("job")})
	d, _ := s.Get("work", false)
	_ = d.Nack(false) // no requeue: dead-lettered

	dead, _ := s.Get("failed", true)
	death := dead.Headers["x-death"].([]any)[0].(exchange.Table)
	fmt.Println(string(dead.Body), death["queue"], death["reason"], death["count"])
	// Output:
	// job work rejected 1
}

func ExampleDelivery_Deaths() {
	r, _ := exchange.New(nil)
	defer r.Close()
	s, _ := r.NewSession()
	_ = s.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{})
	_, _ = s.QueueDeclare("failed", exchange.QueueOptions{})
	_ = s.QueueBind("failed", "dlx", "", nil)
	_, _ = s.QueueDeclare("work", exchange.QueueOptions{DeadLetterExchange: "dlx"})

	_, _ = s.Publish(context.Background(), "", "work", false, exchange.Publishing{Body: []byte("job")})
	d, _ := s.Get("work", false)
	_ = d.Reject(false)

	dead, _ := s.Get("failed", true)
	for _, death := range dead.Deaths() {
		fmt.Println(death.Queue, death.Reason, death.Count, death.RoutingKeys, death.First)
	}
	// Output:
	// work rejected 1 [work] true
}

func ExampleRouter_Peek() {
	r, _ := exchange.New(nil)
	defer r.Close()
	_, _ = r.QueueDeclare("jobs", exchange.QueueOptions{})
	for _, body := range []string{"first", "second", "third"} {
		_ = r.Publish(context.Background(), "", "jobs", false, exchange.Publishing{Body: []byte(body)})
	}
	d, _ := r.Get("jobs", false)
	_ = d.Nack(true) // back at the head, redelivered

	waiting, _ := r.Peek("jobs", 2)
	for _, m := range waiting {
		fmt.Println(string(m.Body), m.Redelivered)
	}
	info, _ := r.QueueInfo("jobs")
	fmt.Println("ready:", info.Ready, "delivered:", info.Delivered)
	// Output:
	// first true
	// second false
	// ready: 3 delivered: 1
}
