package inproc_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tribusmq/tribus/wire/inproc"
)

// A server Accepts on the Listener while the client Dials it, as it would a TCP address;
// l.Dial is what a client library takes as its dialer.
func ExampleListener() {
	l := inproc.NewListener("echo")
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(conn, strings.ToUpper(line))
		}
	}()

	conn, err := l.Dial(context.Background(), "tcp", "ignored")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "ping\nhello\n") // pipelined: both before reading a reply
	r := bufio.NewReader(conn)
	for range 2 {
		line, _ := r.ReadString('\n')
		fmt.Print(line)
	}
	fmt.Println(conn.LocalAddr(), "->", conn.RemoteAddr())
	// Output:
	// PING
	// HELLO
	// echo:1 -> echo
}

// Both ends may write before either reads; what is written waits in the other end's buffer.
// Closing one end shows as io.EOF on the other once it has read everything.
func ExamplePipe() {
	client, server := inproc.Pipe()
	defer server.Close()

	client.Write([]byte("*1\r\n$4\r\nPING\r\n"))
	server.Write([]byte("+PONG\r\n"))

	reply := make([]byte, 16)
	n, _ := client.Read(reply)
	fmt.Printf("client read %q\n", reply[:n])

	client.Close()
	req, err := io.ReadAll(server) // reads up to io.EOF, which ReadAll does not report
	fmt.Printf("server read %q, err %v\n", req, err)
	// Output:
	// client read "+PONG\r\n"
	// server read "*1\r\n$4\r\nPING\r\n", err <nil>
}
