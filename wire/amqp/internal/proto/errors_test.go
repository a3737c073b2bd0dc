package proto_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

func TestCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		code uint16
	}{
		{nil, 0},
		{io.EOF, 0},
		{errors.New("other"), 0},
		{proto.ErrProtocolHeader, 0},
		{proto.ErrFrame, 501},
		{proto.ErrSyntax, 501},
		{fmt.Errorf("wrapped: %w", proto.ErrSyntax), 501},
		{&proto.MethodError{ClassID: 60, MethodID: 40, Err: proto.ErrSyntax}, 501},
		{proto.ErrUnexpectedFrame, 505},
		{&proto.MethodError{ClassID: 60, MethodID: 999, Err: proto.ErrUnknownMethod}, 540},
	} {
		require.Equal(t, c.code, proto.Code(c.err), "%v", c.err)
	}
}
