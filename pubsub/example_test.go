package pubsub_test

import (
	"context"
	"fmt"

	"github.com/tribusmq/tribus/pubsub"
)

func ExampleHub_Publish() {
	hub, _ := pubsub.New(nil)
	defer hub.Close()

	web, _ := hub.Subscribe("order:notifications")
	audit, _ := hub.PSubscribe("order:*")

	n := hub.Publish("order:notifications", []byte("ORD-123 shipped"))
	fmt.Println("deliveries:", n)

	ctx := context.Background()
	m, _ := web.Next(ctx)
	fmt.Printf("web got %q on %s\n", m.Payload, m.Channel)
	m, _ = audit.Next(ctx)
	fmt.Printf("audit got %q via %s\n", m.Payload, m.Pattern)

	fmt.Println("deliveries with nobody listening:", hub.Publish("inventory:restock", []byte("lost")))
	// Output:
	// deliveries: 2
	// web got "ORD-123 shipped" on order:notifications
	// audit got "ORD-123 shipped" via order:*
	// deliveries with nobody listening: 0
}

func ExampleSubscription_Unsubscribe() {
	hub, _ := pubsub.New(nil)
	defer hub.Close()
	s, _ := hub.NewSubscription(nil)

	replies, _ := s.Subscribe("a", "b")
	fmt.Println(replies)
	replies, _ = s.Unsubscribe()
	fmt.Println(len(replies), "acks")
	replies, _ = s.Unsubscribe()
	fmt.Printf("%+v\n", replies[0])
	// Output:
	// [{subscribe a false 1} {subscribe b false 2}]
	// 2 acks
	// {Kind:unsubscribe Name: Nil:true Count:0}
}

// An observer sees each subscription's steps and each message's, in order; a test toolkit
// wakes its condition waits on them.
func ExampleOptions_observer() {
	hub, _ := pubsub.New(&pubsub.Options{Observer: func(e pubsub.Event) {
		switch e.Kind {
		case pubsub.EventPublished:
			fmt.Printf("%v %s receivers=%d\n", e.Kind, e.Channel, e.Receivers)
		case pubsub.EventSubscribed, pubsub.EventDelivered:
			fmt.Printf("%v sub=%d %s%s\n", e.Kind, e.Subscription, e.Channel, e.Pattern)
		default:
			fmt.Printf("%v sub=%d count=%d\n", e.Kind, e.Subscription, e.Count)
		}
	}})
	defer hub.Close()

	web, _ := hub.Subscribe("order:notifications")
	hub.Publish("order:notifications", []byte("ORD-123 shipped"))
	web.Close()
	// Output:
	// opened sub=1 count=0
	// subscribed sub=1 order:notifications
	// delivered sub=1 order:notifications
	// published order:notifications receivers=1
	// closed sub=1 count=1
}
