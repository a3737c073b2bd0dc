package proto_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// A client's publish, read the way a server reads it.
func ExampleReader() {
	var wire []byte
	wire = proto.AppendMethod(wire, 1, &proto.BasicPublish{RoutingKey: "jobs"})
	wire = proto.AppendContent(wire, 1, proto.ClassBasic, &exchange.Publishing{ContentType: "text/plain"}, []byte("hello"), proto.FrameMinSize)

	r := proto.NewReader(bytes.NewReader(wire), proto.FrameMinSize)
	for range 3 {
		f, err := r.ReadFrame()
		if err != nil {
			fmt.Println(err)
			return
		}
		switch f.Type {
		case proto.FrameMethod:
			m, err := proto.DecodeMethod(f.Payload)
			if err != nil {
				fmt.Println(proto.Code(err), err)
				return
			}
			fmt.Printf("method %T %+v\n", m, m)
		case proto.FrameHeader:
			var p exchange.Publishing
			_, size, _ := proto.DecodeHeader(f.Payload, &p)
			fmt.Println("header", p.ContentType, size)
		case proto.FrameBody:
			fmt.Printf("body %q\n", f.Payload)
		}
	}
	// Output:
	// method *proto.BasicPublish &{Exchange: RoutingKey:jobs Mandatory:false Immediate:false}
	// header text/plain 5
	// body "hello"
}

// A server's reply to a method it cannot decode, with the code and ids RabbitMQ reports.
func ExampleCode() {
	_, err := proto.DecodeMethod([]byte{0, 50, 0, 10, 0}) // queue.declare, cut short
	reply := &proto.ConnectionClose{ReplyCode: proto.Code(err), ReplyText: proto.ShortText("FRAME_ERROR - " + err.Error())}
	var me *proto.MethodError
	if errors.As(err, &me) {
		reply.FailedClassID, reply.FailedMethodID = me.ClassID, me.MethodID
	}
	fmt.Printf("%d %d/%d\n", reply.ReplyCode, reply.FailedClassID, reply.FailedMethodID)
	fmt.Printf("% x\n", proto.AppendMethod(nil, 0, &proto.ConnectionCloseOk{}))
	// Output:
	// 501 50/10
	// 01 00 00 00 00 00 04 00 0a 00 33 ce
}
