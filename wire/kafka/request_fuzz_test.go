package kafka

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tribusmq/tribus/log"
)

// FuzzRequest feeds arbitrary request frames to the parser and the handlers: whatever the
// bytes, a request is answered or its connection closed, and nothing panics. Fetch, JoinGroup
// and SyncGroup are read but not served: they may wait as long as the request asks.
func FuzzRequest(f *testing.F) {
	for _, req := range []kmsg.Request{kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrMetadataRequest(),
		kmsg.NewPtrProduceRequest(), kmsg.NewPtrFetchRequest(), kmsg.NewPtrJoinGroupRequest(),
		kmsg.NewPtrOffsetCommitRequest(), kmsg.NewPtrCreateTopicsRequest()} {
		req.SetVersion(req.MaxVersion() - 1)
		f.Add(kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, req, 1)[4:])
	}
	l, err := log.Open("", nil)
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	srv, err := NewServer(l, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, frame []byte) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		var in bytes.Buffer
		in.Write(binary.BigEndian.AppendUint32(nil, uint32(len(frame))))
		in.Write(frame)
		c := newConn(srv, a)
		c.r = bufio.NewReader(&in)
		h, body, err := c.read()
		if err != nil {
			return
		}
		switch kmsg.Key(h.key) {
		case kmsg.Fetch, kmsg.JoinGroup, kmsg.SyncGroup:
			return // they may wait as long as the request asks; their parsing is kmsg's
		}
		if resp, err := c.handle(h, body); err == nil && resp != nil {
			resp.AppendTo(nil)
		}
	})
}
