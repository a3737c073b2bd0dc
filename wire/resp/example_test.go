package resp_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/wire/resp"
)

// A subscriber connected in process, with no socket, reads what the hub publishes in the
// frames a Redis client reads. Real clients take srv.Dial as their dialer (go-redis:
// redis.Options{Dialer: srv.Dial}); the interop module has a go-redis example.
func ExampleServer_Dial() {
	hub, _ := pubsub.New(nil)
	defer hub.Close()
	srv, _ := resp.NewServer(hub, nil)
	defer srv.Close()

	nc, _ := srv.Dial(context.Background(), "tcp", "tribus:6379")
	defer nc.Close()
	r := bufio.NewReader(nc)
	lines := func(n int) string {
		var b strings.Builder
		for range n {
			line, _ := r.ReadString('\n')
			b.WriteString(line)
		}
		return fmt.Sprintf("%q", b.String())
	}
	fmt.Fprint(nc, "SUBSCRIBE order:notifications\r\n")
	fmt.Println(lines(6)) // the acknowledgement: subscribed from here on
	n := hub.Publish("order:notifications", []byte(`{"order_id":"ORD-123"}`))
	fmt.Println("deliveries:", n)
	fmt.Println(lines(7))
	// Output:
	// "*3\r\n$9\r\nsubscribe\r\n$19\r\norder:notifications\r\n:1\r\n"
	// deliveries: 1
	// "*3\r\n$7\r\nmessage\r\n$19\r\norder:notifications\r\n$22\r\n{\"order_id\":\"ORD-123\"}\r\n"
}
