package tribus_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
)

// The README's first example: a notification fanned out to a channel subscriber and a
// pattern subscriber.
func Example() {
	b, err := tribus.Open("", nil) // "" = in memory; a directory = durable
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	hub := b.Hub()
	web, err := hub.Subscribe("order:notifications")
	if err != nil {
		log.Fatal(err)
	}
	audit, _ := hub.PSubscribe("order:*")

	n := hub.Publish("order:notifications", []byte(`{"order_id":"ORD-123","new_status":"shipped"}`))
	fmt.Println("deliveries:", n) // 2: web on the channel, audit on the pattern

	msg, err := web.Next(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s on %s\n", msg.Payload, msg.Channel)
	msg, _ = audit.Next(context.Background())
	fmt.Printf("%s via pattern %s\n", msg.Payload, msg.Pattern)
	// Output:
	// deliveries: 2
	// {"order_id":"ORD-123","new_status":"shipped"} on order:notifications
	// {"order_id":"ORD-123","new_status":"shipped"} via pattern order:*
}

// The README's exchange example: a nacked message goes to the dead-letter exchange, with an
// x-death entry saying why.
func ExampleBroker_Router() {
	b, _ := tribus.Open("", nil)
	defer b.Close()
	ctx, body := context.Background(), []byte(`{"order_id":"ORD-124"}`)

	s, _ := b.Router().NewSession()
	s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true})
	s.ExchangeDeclare("orders.dlx", exchange.Fanout, exchange.ExchangeOptions{Durable: true})
	s.QueueDeclare("orders.dead", exchange.QueueOptions{})
	s.QueueBind("orders.dead", "orders.dlx", "", nil)
	s.QueueDeclare("order_notifications", exchange.QueueOptions{DeadLetterExchange: "orders.dlx"})
	s.QueueBind("order_notifications", "orders", "order.*", nil)
	s.Publish(ctx, "orders", "order.created", false, exchange.Publishing{DeliveryMode: exchange.Persistent, Body: body})
	c, _ := s.Consume("order_notifications", exchange.ConsumeOptions{Prefetch: 10})
	d, _ := c.Next(ctx)
	d.Nack(false) // or d.Ack(); nacked without requeue, it is dead-lettered with x-death

	dead, _ := s.Get("orders.dead", true)
	deaths := dead.Deaths()
	fmt.Printf("%s: %s from %s, count %d\n", dead.Body, deaths[0].Reason, deaths[0].Queue, deaths[0].Count)
	// Output:
	// {"order_id":"ORD-124"}: rejected from order_notifications, count 1
}
