package interop

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tribusmq/tribus"
)

// A go-redis client on an in-process tribus, with no socket: the production code is the same
// as against a real Redis, with the Dialer instead of an address.
func Example_goRedisInProcess() {
	b, _ := tribus.Open("", nil) // in memory
	defer b.Close()
	rdb := redis.NewClient(&redis.Options{Dialer: b.Redis().Dial})
	defer rdb.Close()
	ctx := context.Background()

	sub := rdb.Subscribe(ctx, "order:notifications")
	defer sub.Close()
	sub.Receive(ctx) // the acknowledgement: subscribed from here on

	n, _ := rdb.Publish(ctx, "order:notifications", `{"order_id":"ORD-123","new_status":"shipped"}`).Result()
	fmt.Println("deliveries:", n)
	msg := <-sub.Channel()
	fmt.Println(msg.Channel, msg.Payload)
	// Output:
	// deliveries: 1
	// order:notifications {"order_id":"ORD-123","new_status":"shipped"}
}
