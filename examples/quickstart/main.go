// Quickstart is the README's example: an in-memory broker, a channel and a pattern subscriber.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/tribusmq/tribus"
)

func main() {
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
}
