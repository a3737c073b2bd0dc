// Package inproc is an in-memory, socket-free [net.Conn] for tribus's wire front doors (RESP
// now, AMQP and Kafka later), so that real client libraries can talk to a server in the same
// process without a TCP port: no port to pick, no kernel round trip, and inside a
// testing/synctest bubble every wait is on the bubble's channels and fake clock.
//
// # Basics
//
// [Pipe] returns a connected pair of ends; [Listener] is a [net.Listener] whose
// [Listener.Dial] makes a pair and queues its server end for [Listener.Accept]. Dial has the
// signature client libraries take for a custom dialer:
//
//	l := inproc.NewListener("redis")
//	go srv.Serve(l) // any Accept loop
//	rdb := redis.NewClient(&redis.Options{Dialer: l.Dial})            // go-redis
//	cl, _ := kgo.NewClient(kgo.SeedBrokers("x:9092"), kgo.Dialer(l.Dial)) // franz-go
//	amqp.DialConfig("amqp://x/", amqp.Config{Dial: func(n, a string) (net.Conn, error) {
//		return l.Dial(context.Background(), n, a) // amqp091-go's Dial has no ctx
//	}})
//	hc := &http.Client{Transport: &http.Transport{DialContext: l.Dial}}
//
// Each direction of a connection is a bounded FIFO of [DefaultBufferSize] (256 KiB;
// [PipeSize] and [NewListenerSize] choose another size). Unlike [net.Pipe], which has no
// buffer, both ends can write before either reads, so a client may pipeline many requests
// before reading a reply. A Write blocks while the other end has the full buffer unread, the
// way a socket blocks on a full window, so a slow reader holds its writer back; a Write larger
// than the buffer goes through in pieces as the reader reads and returns when all of it is
// queued. A Read returns whatever is queued, as soon as anything is. When one end closes, the
// other reads what was queued, then io.EOF, and its Writes fail with io.ErrClosedPipe; calls
// on the closed end fail with net.ErrClosed. The errors are the standard library's, wrapped
// in a *net.OpError as a TCP connection's are (the comment on [ErrListenerClosed]'s block
// lists them).
//
// Memory is taken as data is queued: a direction allocates 1 KiB on its first Write and
// doubles, up to its capacity, when more is queued at once; the buffer is kept until Close.
// A pipe that never carried data costs one allocation, 640 bytes for both ends on amd64
// (BenchmarkPipe_IdleMemory), so ten thousand idle connections cost about 6 MiB. Steady-state
// Reads and Writes allocate nothing.
//
// # Concurrency
//
// Both ends and the Listener are safe for concurrent use, as net.Conn requires: a reader and a
// writer goroutine per end, plus Close and the Set*Deadline methods from anywhere. Concurrent
// Writes on one end are serialised, so the bytes of one Write never interleave with
// another's; concurrent Reads each take a contiguous run of bytes.
//
// Each direction's state is owned by its own mutex, held only while bytes are copied and
// flags checked, never while waiting; each deadline has its own mutex, and no goroutine holds
// two of these locks at once, so there is no lock order. A Listener's mutex guards only its
// closed flag and is never held with a connection's locks. A goroutine that must wait (for
// bytes, for room, for its turn to write, for Accept or for room in the backlog) releases the
// lock and blocks in a select on channels, then rechecks; the other side signals a one-slot
// channel only when a waiter is counted, so a Write to a reader that is busy costs no
// channel operation. Nothing here starts a goroutine; the only background work is the
// time.AfterFunc timer of a deadline.
//
// # Time
//
// Deadlines follow [net.Conn]: a deadline in the past fails blocked and later calls at once, a
// zero time removes it, and moving it while a call waits applies to that call. They are kept
// with the time package only (time.Until and one reusable time.AfterFunc timer per deadline),
// so inside a testing/synctest bubble they run on the fake clock: a Read with a one-minute
// deadline returns os.ErrDeadlineExceeded the moment every goroutine in the bubble is blocked,
// with time.Since reporting exactly one minute. A timed-out call loses no data: a Read that
// times out takes nothing, and a Write that times out has queued exactly the n bytes it
// reports.
//
// # Caveats
//
//   - Use a connection or Listener entirely inside one synctest bubble or entirely outside:
//     its channels and timers belong to the bubble of the goroutine that first needed them.
//   - Half-close is CloseWrite, as on a TCP connection; there is no SetLinger or SetNoDelay,
//     and every Write is visible to the reader at once. The ends are not a syscall.Conn, so a library that
//     probes a socket's file descriptor (go-redis's idle-connection check) skips the probe.
//   - Dial ignores its network and address arguments: one Listener is one server. A Kafka
//     client that dials each broker by its advertised address reaches the same Listener for
//     all of them.
//   - A direction's buffer only grows, up to its capacity, and is released when either end
//     closes (the reading end at once, the writing end once the reader has drained it).
//   - Close of a Listener closes connections dialled but not yet accepted; a server that
//     wants them must Accept before closing.
package inproc
