package interop

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// sinkServer is the least an AMQP server can do for the benchmarks' clients: the handshake,
// channel.open, queue.declare answered with the number of publishes counted for that routing
// key, basic.qos, confirm.select with a basic.ack for every later publish, and basic.consume
// answered with as many made-up deliveries as were published to the queue, whose acks it
// ignores. It stores and routes nothing, so a benchmark against it measures the client's own
// ceiling on this machine: what no server, however fast, can beat with the same client.
type sinkServer struct {
	ln     net.Listener
	mu     sync.Mutex
	counts map[string]uint32 // publishes by routing key
	wg     sync.WaitGroup
}

func startSink(tb testing.TB) amqpTarget {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := &sinkServer{ln: ln, counts: make(map[string]uint32)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				s.serve(nc)
			}()
		}
	}()
	tb.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return amqpTarget{name: "sink", url: "amqp://guest:guest@" + ln.Addr().String() + "/"}
}

// sinkFrame appends a method frame: class and method ids, then the encoded arguments.
func sinkFrame(b []byte, channel, class, method uint16, args []byte) []byte {
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, channel)
	b = binary.BigEndian.AppendUint32(b, uint32(4+len(args)))
	b = binary.BigEndian.AppendUint16(b, class)
	b = binary.BigEndian.AppendUint16(b, method)
	b = append(b, args...)
	return append(b, 0xCE)
}

// sinkContent is a content header with no properties and one body frame.
func sinkContent(channel uint16, body []byte) []byte {
	header := binary.BigEndian.AppendUint16(nil, 60)
	header = binary.BigEndian.AppendUint16(header, 0)
	header = binary.BigEndian.AppendUint64(header, uint64(len(body)))
	header = binary.BigEndian.AppendUint16(header, 0)
	var b []byte
	for _, f := range []struct {
		typ     byte
		payload []byte
	}{{2, header}, {3, body}} {
		b = append(b, f.typ)
		b = binary.BigEndian.AppendUint16(b, channel)
		b = binary.BigEndian.AppendUint32(b, uint32(len(f.payload)))
		b = append(append(b, f.payload...), 0xCE)
	}
	return b
}

func shortstr(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

func longstr(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

// readShortstr reads a short string at p[i:], returning it and the index after it.
func readShortstr(p []byte, i int) (string, int, error) {
	if i >= len(p) || i+1+int(p[i]) > len(p) {
		return "", 0, errors.New("short string beyond the payload")
	}
	return string(p[i+1 : i+1+int(p[i])]), i + 1 + int(p[i]), nil
}

func (s *sinkServer) serve(nc net.Conn) {
	rd := bufio.NewReaderSize(nc, 64<<10)
	w := bufio.NewWriter(nc)
	if _, err := io.ReadFull(rd, make([]byte, 8)); err != nil { // the protocol header
		return
	}
	start := []byte{0, 9, 0, 0, 0, 0} // version 0-9, empty server properties
	start = longstr(longstr(start, "PLAIN"), "en_US")
	w.Write(sinkFrame(nil, 0, 10, 10, start))
	w.Flush()
	head := make([]byte, 7)
	var payload []byte
	confirmSeq := map[uint16]uint64{} // channels in confirm mode: the last publish's number
	for {
		if rd.Buffered() == 0 && w.Buffered() > 0 { // all that was read is answered
			if w.Flush() != nil {
				return
			}
		}
		if _, err := io.ReadFull(rd, head); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(head[3:])
		if size > 1<<20 {
			return
		}
		payload = append(payload[:0], make([]byte, size+1)...)
		if _, err := io.ReadFull(rd, payload); err != nil {
			return
		}
		if head[0] != 1 || size < 4 {
			continue // content and heartbeats: dropped
		}
		ch := binary.BigEndian.Uint16(head[1:3])
		p := payload[:size]
		var reply []byte
		switch id := binary.BigEndian.Uint32(p); id {
		case 10<<16 | 11: // start-ok → tune
			args := binary.BigEndian.AppendUint16(nil, 2047)
			args = binary.BigEndian.AppendUint32(args, 131072)
			reply = sinkFrame(nil, 0, 10, 30, binary.BigEndian.AppendUint16(args, 0))
		case 10<<16 | 40: // open → open-ok
			reply = sinkFrame(nil, 0, 10, 41, shortstr(nil, ""))
		case 10<<16 | 50: // close → close-ok
			w.Write(sinkFrame(nil, 0, 10, 51, nil))
			w.Flush()
			return
		case 20<<16 | 10: // channel.open → open-ok
			reply = sinkFrame(nil, ch, 20, 11, longstr(nil, ""))
		case 20<<16 | 40: // channel.close → close-ok
			reply = sinkFrame(nil, ch, 20, 41, nil)
		case 50<<16 | 10: // queue.declare → declare-ok with the count
			q, _, err := readShortstr(p, 6)
			if err != nil {
				return
			}
			s.mu.Lock()
			n := s.counts[q]
			s.mu.Unlock()
			args := binary.BigEndian.AppendUint32(shortstr(nil, q), n)
			reply = sinkFrame(nil, ch, 50, 11, binary.BigEndian.AppendUint32(args, 0))
		case 50<<16 | 40: // queue.delete → delete-ok
			reply = sinkFrame(nil, ch, 50, 41, binary.BigEndian.AppendUint32(nil, 0))
		case 60<<16 | 10: // basic.qos → qos-ok
			reply = sinkFrame(nil, ch, 60, 11, nil)
		case 85<<16 | 10: // confirm.select → select-ok
			confirmSeq[ch] = 0
			reply = sinkFrame(nil, ch, 85, 11, nil)
		case 60<<16 | 40: // basic.publish: counted by routing key, acked in confirm mode
			_, i, err := readShortstr(p, 6)
			if err != nil {
				return
			}
			key, _, err := readShortstr(p, i)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.counts[key]++
			s.mu.Unlock()
			if seq, ok := confirmSeq[ch]; ok {
				confirmSeq[ch] = seq + 1
				reply = sinkFrame(nil, ch, 60, 80, append(binary.BigEndian.AppendUint64(nil, seq+1), 0))
			}
		case 60<<16 | 20: // basic.consume → consume-ok, then a delivery per message counted
			q, i, err := readShortstr(p, 6)
			if err != nil {
				return
			}
			tag, _, err := readShortstr(p, i) // the client's own: it files deliveries by it
			if err != nil {
				return
			}
			s.mu.Lock()
			n := s.counts[q]
			s.mu.Unlock()
			w.Write(sinkFrame(nil, ch, 60, 21, shortstr(nil, tag)))
			for i := range uint64(n) {
				args := binary.BigEndian.AppendUint64(shortstr(nil, tag), i+1)
				args = shortstr(shortstr(append(args, 0), ""), q)
				w.Write(sinkFrame(nil, ch, 60, 60, args))
				w.Write(sinkContent(ch, payload128))
			}
		}
		w.Write(reply)
	}
}

// The sink answers what the benchmarks ask, so that the ceiling they report is real.
func TestSink_CountsPublishesForTheBenchmarks(t *testing.T) {
	tg := startSink(t)
	_, ch := tg.channel(t)
	_, err := ch.QueueDeclare("q", false, false, false, false, nil)
	require.NoError(t, err)
	for range 10 {
		require.NoError(t, ch.PublishWithContext(ctxT(t), "", "q", false, false, amqp.Publishing{Body: payload128}))
	}
	info, err := ch.QueueDeclarePassive("q", false, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, 10, info.Messages)

	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	require.NoError(t, ch.PublishWithContext(ctxT(t), "", "q", false, false, amqp.Publishing{Body: payload128}))
	require.Equal(t, amqp.Confirmation{DeliveryTag: 1, Ack: true}, <-confirms)

	require.NoError(t, ch.Qos(100, 0, false))
	msgs, err := ch.Consume("q", "", false, false, false, false, nil)
	require.NoError(t, err)
	for range 11 {
		d := <-msgs
		require.Equal(t, payload128, d.Body)
		require.NoError(t, d.Ack(false))
	}
}
