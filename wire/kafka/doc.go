// Package kafka is the Kafka front door of tribus: it serves a [log.Log] to unmodified Kafka
// clients (franz-go's kgo and kadm first) over the Kafka protocol, as a cluster of one broker
// that leads every partition and coordinates every group, so code written against Kafka runs
// against an embedded tribus, and against a real cluster by changing the bootstrap address.
//
// # Basics
//
//	srv, _ := kafka.NewServer(l, nil)
//	go srv.Serve(ln)                                                            // any net.Listener
//	cl, _ := kgo.NewClient(kgo.SeedBrokers("tribus:9092"), kgo.Dialer(srv.Dial)) // or in process
//	defer srv.Close()
//
// Requests and responses are encoded with franz-go's kmsg, which is generated from Kafka's own
// message specifications (flexible versions and tagged fields included). The server is a
// translator: each request becomes calls on [log.Requests] and the Log, and its answer is
// written back with Kafka's error codes, taken from the log's sentinels through one table.
// Produce stores the RecordBatch as the producer sent it (compressed or not) after validating
// it; Fetch returns stored batch bytes read from the segment files, cut at the fetch's byte
// limits as Kafka cuts them (the first batch whole, KIP-74). ApiVersions advertises exactly
// the versions served (see apis.go); an ApiVersions of a version the server does not know is
// answered as KIP-511 says, and any other request of a version kmsg parses but the server does
// not serve gets UNSUPPORTED_VERSION for each thing it names (refuse.go). A request the server
// cannot parse closes its connection, as Kafka closes it.
//
// # Concurrency
//
// A Server is safe for concurrent use. Its listener and connection sets are a door.Set. Each
// connection has one goroutine, which reads a request, serves it and writes its response
// before reading the next: responses go out in request order, as Kafka answers them. A request
// that waits (a Fetch's max.wait.ms, a JoinGroup until the rebalance completes) waits on that
// goroutine, on channels the Log closes, or on the server's done channel, which
// [Server.Close] closes before it closes every connection and waits for every goroutine. The
// server holds no lock while it calls the Log.
//
// # Time
//
// Fetch waits with a timer and the idle timeout is a read deadline, so a server and
// in-process connections made inside a testing/synctest bubble run on its clock.
//
// # Caveats
//
//   - Fetch sessions (KIP-227) are declined: every response has session id 0, so clients send
//     full fetches.
//   - SASL is PLAIN only, and only when [Options].SASLPlainUsers is set; there is no TLS.
//   - Topic ids are not kept: Metadata reports the zero id, and Fetch, Produce and the other
//     requests are served only in versions that name topics.
//   - Broker configs are read-only (DescribeConfigs shows the server's options); the values of
//     topic configs that mean nothing on one broker (min.insync.replicas, …) are accepted and
//     not kept.
package kafka
