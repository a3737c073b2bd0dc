package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tribusmq/tribus/exchange"
)

// order is the seed scenario's order event.
type order struct {
	OrderID string      `json:"order_id"`
	UserID  string      `json:"user_id"`
	Total   int         `json:"total"`
	Items   []orderItem `json:"items"`
}

type orderItem struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// demoExchange is the RabbitMQ scenario: a topic exchange "orders", a queue
// "order_notifications" consumed with manual acks, and a failed message that a nack sends to a
// dead-letter queue with its x-death history.
// Durably, it first reports what an earlier run left unacked, and leaves one order unacked
// itself.
func demoExchange(ctx context.Context, w io.Writer, r *exchange.Router, durable bool) error {
	fmt.Fprintln(w, "== exchange router (RabbitMQ model): order notifications, at-least-once ==")
	s, err := r.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	steps := []func() error{
		func() error {
			return s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true})
		},
		func() error {
			return s.ExchangeDeclare("orders.dlx", exchange.Fanout, exchange.ExchangeOptions{Durable: true})
		},
		func() error {
			_, err := s.QueueDeclare("order_notifications.dead", exchange.QueueOptions{Durable: true})
			return err
		},
		func() error { return s.QueueBind("order_notifications.dead", "orders.dlx", "", nil) },
		func() error {
			_, err := s.QueueDeclare("order_notifications", exchange.QueueOptions{Durable: true, DeadLetterExchange: "orders.dlx"})
			return err
		},
		func() error { return s.QueueBind("order_notifications", "orders", "order.*", nil) },
		func() error { return s.Confirm() },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, `topic exchange "orders" -> queue "order_notifications" (binding "order.*"), dead letters -> "orders.dlx" -> "order_notifications.dead"`)
	if left, err := s.QueueDeclare("order_notifications", exchange.QueueOptions{Passive: true}); err != nil {
		return err
	} else if left.Ready > 0 {
		fmt.Fprintf(w, "found %d message(s) an earlier run left unacked:\n", left.Ready)
		for range left.Ready {
			d, err := s.Get("order_notifications", false)
			if err != nil || d == nil {
				return fmt.Errorf("reading what the earlier run left: %v", err)
			}
			fmt.Fprintf(w, "  %s (redelivered=%t): ack\n", d.MessageID, d.Redelivered)
			if err := d.Ack(); err != nil {
				return err
			}
		}
	}

	publish := func(o order) error {
		body, err := json.Marshal(o)
		if err != nil {
			return err
		}
		conf, err := s.Publish(ctx, "orders", "order.created", false, exchange.Publishing{
			ContentType: "application/json", DeliveryMode: exchange.Persistent, MessageID: o.OrderID, Body: body})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "publish order.created %s (persistent, application/json) -> confirm #%d ack=%t\n", body, conf.DeliveryTag, conf.Ack)
		return nil
	}
	if err := publish(order{OrderID: "ORD-123", UserID: "USR-456", Total: 2999,
		Items: []orderItem{{ProductID: "PROD-789", Quantity: 2}}}); err != nil {
		return err
	}
	if err := publish(order{OrderID: "ORD-124", UserID: "USR-456", Total: -1}); err != nil {
		return err
	}

	consumer, err := s.Consume("order_notifications", exchange.ConsumeOptions{Tag: "notifier", Prefetch: 10})
	if err != nil {
		return err
	}
	for range 2 {
		d, err := consumer.Next(ctx)
		if err != nil {
			return err
		}
		var o order
		if err := json.Unmarshal(d.Body, &o); err != nil {
			return err
		}
		if o.Total < 0 {
			fmt.Fprintf(w, "  consumer: tag %d %s has a negative total: nack, no requeue\n", d.DeliveryTag, o.OrderID)
			if err := d.Nack(false); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "  consumer: tag %d notify %s about %s (%d items): ack\n", d.DeliveryTag, o.UserID, o.OrderID, len(o.Items))
		if err := d.Ack(); err != nil {
			return err
		}
	}

	dl, err := s.Get("order_notifications.dead", false)
	if err != nil {
		return err
	}
	if dl == nil {
		return fmt.Errorf("the nacked order did not reach the dead-letter queue")
	}
	deaths, _ := dl.Headers["x-death"].([]any)
	if len(deaths) == 0 {
		return fmt.Errorf("the dead-lettered order has no x-death")
	}
	d0 := deaths[0].(exchange.Table)
	fmt.Fprintf(w, "dead-letter queue has %s: x-death queue=%v reason=%v count=%v exchange=%v routing-keys=%v\n",
		dl.MessageID, d0["queue"], d0["reason"], d0["count"], d0["exchange"], d0["routing-keys"])
	if err := dl.Ack(); err != nil {
		return err
	}
	if durable {
		if err := publish(order{OrderID: "ORD-125", UserID: "USR-457", Total: 1500,
			Items: []orderItem{{ProductID: "PROD-790", Quantity: 1}}}); err != nil {
			return err
		}
		d, err := consumer.Next(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  consumer: tag %d %s received and not acked: the broker closes now, so the next run with --dir gets it back\n",
			d.DeliveryTag, d.MessageID)
	}
	info, err := r.QueueInfo("order_notifications")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "order_notifications: %d ready, %d unacked, %d delivered, %d acked, %d dead-lettered\n\n",
		info.Ready, info.Unacked, info.Delivered, info.Acked, info.DeadLettered)
	return nil
}
