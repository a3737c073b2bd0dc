package inproc_test

import (
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/tribusmq/tribus/wire/inproc"
)

// transports are the connections each benchmark compares: the in-process pipe and a loopback
// TCP pair, so one run shows the ratio.
var transports = []struct {
	name string
	pair func(b *testing.B) (client, server net.Conn)
}{
	{"inproc", func(*testing.B) (net.Conn, net.Conn) { return inproc.Pipe() }},
	{"tcp", tcpPair},
}

func tcpPair(b *testing.B) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			b.Error(err)
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server := <-accepted
	if server == nil {
		b.FailNow()
	}
	return client, server
}

// BenchmarkPipe_Throughput streams messages one way: a writer goroutine writes b.N messages of
// the given size while the benchmark goroutine reads them into a 16 KiB buffer.
func BenchmarkPipe_Throughput(b *testing.B) {
	for _, tr := range transports {
		for _, size := range []struct {
			name string
			n    int
		}{{"128B", 128}, {"16KiB", 16 << 10}} {
			b.Run(tr.name+"/"+size.name, func(b *testing.B) {
				client, server := tr.pair(b)
				defer client.Close()
				defer server.Close()
				msg := make([]byte, size.n)
				buf := make([]byte, 16<<10)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				b.ResetTimer()
				go func() {
					for range b.N {
						if _, err := client.Write(msg); err != nil {
							b.Error(err)
							return
						}
					}
				}()
				for want := b.N * size.n; want > 0; {
					n, err := server.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					want -= n
				}
			})
		}
	}
}

// BenchmarkPipe_PingPong measures a round trip: a 1-byte request, a 1-byte reply.
func BenchmarkPipe_PingPong(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			client, server := tr.pair(b)
			defer client.Close()
			go func() {
				defer server.Close()
				buf := make([]byte, 1)
				for {
					if _, err := server.Read(buf); err != nil {
						return
					}
					if _, err := server.Write(buf); err != nil {
						return
					}
				}
			}()
			req, reply := []byte{'?'}, make([]byte, 1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(client, reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPipe_Pipelined is a pipelining client: it writes a batch of 64 requests of 32 bytes,
// one Write each, then reads the 64 replies an echo server sends back. One op is one request.
func BenchmarkPipe_Pipelined(b *testing.B) {
	const batch, size = 64, 32
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			client, server := tr.pair(b)
			defer client.Close()
			go func() {
				defer server.Close()
				req := make([]byte, size)
				for {
					if _, err := io.ReadFull(server, req); err != nil {
						return
					}
					if _, err := server.Write(req); err != nil {
						return
					}
				}
			}()
			req, replies := make([]byte, size), make([]byte, batch*size)
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; i < b.N; i += batch {
				for range batch {
					if _, err := client.Write(req); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := io.ReadFull(client, replies); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPipe_IdleMemory reports the heap held by a pipe that never carried a byte, both ends
// included, measured over 10,000 pipes.
func BenchmarkPipe_IdleMemory(b *testing.B) {
	var perPipe float64
	for b.Loop() {
		perPipe = idleBytesPerPipe(10_000)
	}
	b.ReportMetric(perPipe, "bytes/pipe")
}

// idleBytesPerPipe makes n pipes, writes nothing, and returns the growth of the live heap
// divided by n.
func idleBytesPerPipe(n int) float64 {
	pipes := make([][2]net.Conn, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range pipes {
		c, s := inproc.Pipe()
		pipes[i] = [2]net.Conn{c, s}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(pipes)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestPipe_IdlePipeCostsUnder2KiB guards the figure doc.go gives: an idle pipe must stay
// cheap so that ten thousand idle client connections cost little.
func TestPipe_IdlePipeCostsUnder2KiB(t *testing.T) {
	perPipe := idleBytesPerPipe(10_000)
	t.Logf("idle pipe: %.0f bytes, both ends", perPipe)
	if perPipe >= 2048 {
		t.Errorf("idle pipe costs %.0f bytes, want < 2048", perPipe)
	}
}
