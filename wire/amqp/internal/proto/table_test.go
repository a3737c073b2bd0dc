package proto_test

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire/amqp/internal/proto"
)

// oneField is the encoding of the table {"k": value}, value being a type letter and its bytes.
func oneField(value ...byte) []byte {
	n := 2 + len(value)
	return cat([]byte{0, 0, byte(n >> 8), byte(n), 1, 'k'}, value)
}

// letters are RabbitMQ's field types with a Go value of each and its bytes.
// Reference: rabbitmq-server deps/rabbit_common/src/rabbit_binary_parser.erl (parse_table)
// and rabbit_binary_generator.erl (field_value_to_binary); amqp091-go read.go (readField)
// for the Go types.
var letters = []struct {
	letter byte
	value  any
	bytes  []byte
}{
	{'t', true, []byte{'t', 1}},
	{'t', false, []byte{'t', 0}},
	{'b', int8(-2), []byte{'b', 0xfe}},
	{'B', uint8(200), []byte{'B', 200}},
	{'s', int16(-300), []byte{'s', 0xfe, 0xd4}},
	{'u', uint16(60000), []byte{'u', 0xea, 0x60}},
	{'I', int32(-70000), []byte{'I', 0xff, 0xfe, 0xee, 0x90}},
	{'i', uint32(4_000_000_000), []byte{'i', 0xee, 0x6b, 0x28, 0x00}},
	{'l', int64(-5_000_000_000), []byte{'l', 0xff, 0xff, 0xff, 0xfe, 0xd5, 0xfa, 0x0e, 0x00}},
	{'f', float32(1.5), []byte{'f', 0x3f, 0xc0, 0, 0}},
	{'d', float64(-2.25), []byte{'d', 0xc0, 0x02, 0, 0, 0, 0, 0, 0}},
	{'D', exchange.Decimal{Scale: 2, Value: 12345}, []byte{'D', 2, 0, 0, 0x30, 0x39}},
	{'S', "héllo", []byte{'S', 0, 0, 0, 6, 'h', 0xc3, 0xa9, 'l', 'l', 'o'}},
	{'x', []byte{0, 1, 2}, []byte{'x', 0, 0, 0, 3, 0, 1, 2}},
	{'A', []any{int32(1), "a"}, []byte{'A', 0, 0, 0, 11, 'I', 0, 0, 0, 1, 'S', 0, 0, 0, 1, 'a'}},
	{'A', []any{}, []byte{'A', 0, 0, 0, 0}},
	{'T', time.Unix(1_700_000_000, 0).UTC(), []byte{'T', 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00}},
	{'F', exchange.Table{"n": nil}, []byte{'F', 0, 0, 0, 3, 1, 'n', 'V'}},
	{'F', exchange.Table{}, []byte{'F', 0, 0, 0, 0}},
	{'V', nil, []byte{'V'}},
}

func TestTable_EveryLetterRoundTrips(t *testing.T) {
	for _, c := range letters {
		t.Run(string(c.letter), func(t *testing.T) {
			wire := oneField(c.bytes...)
			require.Equal(t, wire, proto.AppendTable(nil, exchange.Table{"k": c.value}), "encoding")

			got, n, err := proto.DecodeTable(wire)
			require.NoError(t, err)
			require.Equal(t, len(wire), n)
			require.IsType(t, c.value, got["k"])
			require.True(t, sameValue(c.value, got["k"]), "decoded %#v, want %#v", got["k"], c.value)
			require.NoError(t, got.Validate(), "the engine accepts what decodes")
		})
	}
}

// Go types with no letter of their own, and letters RabbitMQ reads but never writes.
func TestTable_LettersWrittenBack(t *testing.T) {
	// A Go int is 'l'. amqp091-go writes it as 'I', which would cut it to 32 bits.
	require.Equal(t, oneField('l', 0, 0, 0, 1, 0, 0, 0, 0), proto.AppendTable(nil, exchange.Table{"k": 1 << 32}))

	// RabbitMQ reads 'L' as a signed 64-bit integer and writes it back as 'l'.
	got, _, err := proto.DecodeTable(oneField('L', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	require.NoError(t, err)
	require.Equal(t, int64(-1), got["k"])
	require.Equal(t, oneField('l', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), proto.AppendTable(nil, got))

	// Any non-zero octet is true; true is written as 1.
	got, _, err = proto.DecodeTable(oneField('t', 7))
	require.NoError(t, err)
	require.Equal(t, true, got["k"])

	// A timestamp drops its fraction and decodes in UTC.
	local := time.Date(2024, 5, 1, 12, 0, 0, 999, time.FixedZone("X", 3600))
	got, _, err = proto.DecodeTable(proto.AppendTable(nil, exchange.Table{"k": local}))
	require.NoError(t, err)
	require.Equal(t, local.Truncate(time.Second).UTC(), got["k"])

	// A decimal's value is the same 32 bits, which RabbitMQ reads as unsigned.
	got, _, err = proto.DecodeTable(oneField('D', 0, 0xff, 0xff, 0xff, 0xff))
	require.NoError(t, err)
	require.Equal(t, exchange.Decimal{Value: -1}, got["k"])

	// NaN survives bit for bit.
	nan := math.Float64frombits(0x7ff8_0000_0000_0001)
	got, _, err = proto.DecodeTable(proto.AppendTable(nil, exchange.Table{"k": nan}))
	require.NoError(t, err)
	require.Equal(t, math.Float64bits(nan), math.Float64bits(got["k"].(float64)))
}

func TestTable_ManyFields(t *testing.T) {
	in := exchange.Table{}
	for _, c := range letters {
		in[fmt.Sprintf("%c%d", c.letter, len(in))] = c.value
	}
	wire := proto.AppendTable([]byte{9}, in)[1:]
	got, n, err := proto.DecodeTable(append(wire, 0xaa, 0xbb))
	require.NoError(t, err)
	require.Equal(t, len(wire), n, "stops at the table's end")
	require.True(t, sameTable(in, got))
}

func TestTable_NilIsEmpty(t *testing.T) {
	require.Equal(t, []byte{0, 0, 0, 0}, proto.AppendTable(nil, nil))
	got, n, err := proto.DecodeTable([]byte{0, 0, 0, 0})
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.NotNil(t, got)
	require.Empty(t, got)
}

func TestTable_DuplicateNameKeepsLast(t *testing.T) {
	got, _, err := proto.DecodeTable([]byte{0, 0, 0, 8, 1, 'k', 'b', 1, 1, 'k', 'b', 2})
	require.NoError(t, err)
	require.Equal(t, exchange.Table{"k": int8(2)}, got)
}

func TestTable_DecodedBytesAreCopies(t *testing.T) {
	wire := proto.AppendTable(nil, exchange.Table{"k": []byte("abc"), "s": "xyz"})
	got, _, err := proto.DecodeTable(wire)
	require.NoError(t, err)
	for i := range wire {
		wire[i] = 0
	}
	require.Equal(t, []byte("abc"), got["k"])
	require.Equal(t, "xyz", got["s"])
}

// nest returns a value nested in n tables (or arrays), so that in the table {"a": nest(n)}
// the innermost value is at depth n.
func nest(n int, array bool) any {
	var v any = "leaf"
	for range n {
		if array {
			v = []any{v}
		} else {
			v = exchange.Table{"a": v}
		}
	}
	return v
}

// Decoding accepts exactly the nesting the engine accepts (exchange.MaxTableDepth).
func TestTable_DepthBound(t *testing.T) {
	for _, array := range []bool{false, true} {
		ok := exchange.Table{"a": nest(proto.MaxDepth, array)}
		require.NoError(t, ok.Validate())
		_, _, err := proto.DecodeTable(proto.AppendTable(nil, ok))
		require.NoError(t, err)

		deep := exchange.Table{"a": nest(proto.MaxDepth+1, array)}
		require.Error(t, deep.Validate())
		require.Panics(t, func() { proto.AppendTable(nil, deep) })
	}
	// Hand-built: MaxDepth+1 nested tables around a void value.
	inner := []byte{'V'}
	for range proto.MaxDepth + 1 {
		field := cat([]byte{1, 'a'}, inner)
		inner = cat([]byte{'F', 0, 0, byte(len(field) >> 8), byte(len(field))}, field)
	}
	_, _, err := proto.DecodeTable(cat([]byte{0, 0, byte((len(inner) + 2) >> 8), byte(len(inner) + 2), 1, 'a'}, inner))
	require.ErrorIs(t, err, proto.ErrSyntax)
	require.ErrorContains(t, err, "nested deeper")
}

func TestTable_SyntaxErrors(t *testing.T) {
	for name, wire := range map[string][]byte{
		"short length":          {0, 0, 0},
		"length past the end":   {0, 0, 0, 9, 1, 'k', 'V'},
		"huge length":           {0xff, 0xff, 0xff, 0xff},
		"unknown letter":        oneField('Z'),
		"spec-only letter U":    oneField('U', 0, 1),
		"name past the end":     {0, 0, 0, 2, 5, 'k'},
		"string past the table": oneField('S', 0, 0, 0, 9, 'a'),
		"array past the table":  oneField('A', 0, 0, 0, 9),
		"bad value in array":    oneField('A', 0, 0, 0, 1, 'Z'),
		"bytes past the table":  oneField('x', 0xff, 0xff, 0xff, 0xff),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := proto.DecodeTable(wire)
			require.ErrorIs(t, err, proto.ErrSyntax)
			require.EqualValues(t, 501, proto.Code(err))
		})
	}
	for _, c := range letters {
		wire := oneField(c.bytes...)
		for n := range len(wire) {
			_, _, err := proto.DecodeTable(wire[:n])
			require.ErrorIs(t, err, proto.ErrSyntax, "%c cut at %d", c.letter, n)
		}
		// The table's own length cuts the value short.
		short := append([]byte(nil), wire...)
		short[3]--
		_, _, err := proto.DecodeTable(short)
		require.ErrorIs(t, err, proto.ErrSyntax, "%c with a short table length", c.letter)
	}
}

// A length prefix larger than the input fails before anything is allocated for it.
func TestTable_LengthBeyondInputAllocatesNothing(t *testing.T) {
	for _, wire := range [][]byte{
		{0x7f, 0xff, 0xff, 0xff},
		oneField('x', 0x7f, 0xff, 0xff, 0xff),
		oneField('S', 0x7f, 0xff, 0xff, 0xff),
		oneField('A', 0x7f, 0xff, 0xff, 0xff),
		oneField('F', 0x7f, 0xff, 0xff, 0xff),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := proto.DecodeTable(wire)
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, proto.ErrSyntax)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "not 2 GiB")
	}
}

func TestTable_AppendPanicsOnWhatTheWireCannotCarry(t *testing.T) {
	require.Panics(t, func() { proto.AppendTable(nil, exchange.Table{"k": uint64(1)}) })
	require.Panics(t, func() { proto.AppendTable(nil, exchange.Table{"k": map[string]any{}}) })
	require.Panics(t, func() { proto.AppendTable(nil, exchange.Table{string(make([]byte, 256)): 1}) })
}

func TestTable_AppendAllocatesNothing(t *testing.T) {
	in := exchange.Table{"a": "b", "n": int64(1), "t": exchange.Table{"x": []any{true}}}
	buf := make([]byte, 0, 256)
	require.Zero(t, testing.AllocsPerRun(100, func() { buf = proto.AppendTable(buf[:0], in) }))
}
