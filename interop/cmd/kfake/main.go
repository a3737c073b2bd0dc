// Command kfake runs franz-go's kfake, an in-memory fake Kafka cluster, as a process of one
// broker on a loopback port, so that the non-Go client suites (kafka-python, kcat) can be run
// against it as a second opinion next to tribus serve --kafka (interop/cli/kafka_differential.sh).
// kfake is not the reference: where it and tribus differ, Kafka's documented behaviour decides.
//
//	go run ./cmd/kfake --port 9092 --partitions 1
//
// It prints "kfake listening on 127.0.0.1:PORT" once the broker accepts connections, serves
// with auto topic creation enabled until SIGINT or SIGTERM, then closes the cluster and prints
// "kfake: stopped".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 0, "loopback TCP port to listen on (0: any free port)")
	partitions := flag.Int("partitions", 1, "partitions of an auto-created topic, and of CreateTopics with -1")
	flag.Parse()
	if flag.NArg() > 0 || *port < 0 || *port > 65535 || *partitions < 1 {
		fmt.Fprintln(os.Stderr, "usage: kfake [--port N] [--partitions N]")
		os.Exit(2)
	}

	// Signals first, so that one arriving while the cluster starts is not lost.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)

	c, err := kfake.NewCluster(
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println("kfake listening on", c.ListenAddrs()[0])

	<-sig
	c.Close()
	fmt.Println("kfake: stopped")
}
