// Package resptest has the raw RESP client the tests of the Redis front door share: it sends
// bytes and checks the bytes that come back, so that a test can say exactly what Redis
// sends. Only tests import it.
//
// # Concurrency
//
// A [Client] belongs to the test goroutine that dialed it; one other goroutine may Send
// while the test reads, as a pipelining client would. [NewServer]'s server and hub are
// closed by the test's cleanup.
package resptest
