package exchange

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// White-box: the records and the codec are unexported, the store's business only.

// codecTime is a UTC time with nanoseconds and no monotonic reading, the form the codec decodes
// times in, so records holding it compare with require.Equal.
var codecTime = time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.UTC)

// codecRichTable holds every AMQP field type, nested tables and arrays, nil and empty
// containers, zero and pre-1970 times, unicode and binary keys.
func codecRichTable() Table {
	every := []any{
		nil, true, false, int8(-128), int16(math.MinInt16), int32(math.MinInt32), int64(math.MinInt64),
		uint8(255), uint16(math.MaxUint16), uint32(math.MaxUint32), float32(-1.5), math.Inf(-1),
		"str", []byte{0}, codecTime, Decimal{Scale: 2, Value: -12345},
	}
	return Table{
		"void": nil, "true": true, "false": false,
		"int8": int8(127), "int16": int16(math.MaxInt16), "int32": int32(math.MaxInt32), "int64": int64(math.MaxInt64),
		"uint8": uint8(0), "uint16": uint16(300), "uint32": uint32(1 << 31),
		"float32": float32(math.SmallestNonzeroFloat32), "float64": math.Copysign(0, -1), "float64 max": math.MaxFloat64,
		"string": "héllo, 世界 🐇", "empty string": "", "nul string": "a\x00b",
		"bytes": []byte{0, 1, 0xfe, 0xff}, "empty bytes": []byte{}, "nil bytes": []byte(nil),
		"time": codecTime, "zero time": time.Time{}, "old time": time.Date(1601, 1, 1, 0, 0, 0, 1, time.UTC),
		"decimal": Decimal{Scale: 255, Value: math.MinInt32}, "nil table": Table(nil), "empty table": Table{},
		"table": Table{"a": Table{"b": []any{int32(1), "x", nil, Table{}, []any{}, Table(nil), []any(nil)}}},
		"array": every, "nil array": []any(nil), "empty array": []any{},
		"nested array": []any{every, Table{"every": every}}, "deep": codecNested(10),
		"\x00binary\xffkey": "v", "": "empty key", "ключ": "значение",
	}
}

// codecNested is a chain of levels tables below a top table, the innermost empty.
func codecNested(levels int) Table {
	v := Table{}
	for range levels - 1 {
		v = Table{"n": v}
	}
	return Table{"n": v}
}

func codecExchangeRecords() []exchangeRecord {
	return []exchangeRecord{
		{},
		{Name: "orders", Kind: Topic, AutoDelete: true, Internal: true, AlternateExchange: "ae", Args: codecRichTable()},
		{Name: "ex\x00\xff", Kind: Headers, Internal: true, Args: Table{}},
		{Name: "ünïcødé", Kind: Kind("x-custom"), AutoDelete: true, Args: Table{"alternate-exchange": "ae"}},
	}
}

func codecQueueRecords() []queueRecord {
	return []queueRecord{
		{},
		{Name: "q", AutoDelete: true, Args: Table{"x-message-ttl": int64(1000), "x-max-priority": uint8(9),
			"x-dead-letter-exchange": "dlx", "x-queue-type": "quorum"}},
		{Name: "empty args", Args: Table{}},
		{Name: "rich", Args: codecRichTable()},
	}
}

func codecBindingRecords() []bindingRecord {
	return []bindingRecord{
		{},
		{Source: "orders", Destination: "q", Key: "order.*.#"},
		{Source: "a", ToExchange: true, Destination: "b", Key: "\x00\xff", Args: Table{}},
		{Source: "h", Destination: "q", Args: Table{"x-match": "all", "kind": []byte("bin"), "n": int32(7)}},
		{Source: "rich", Destination: "q", Key: "k", Args: codecRichTable()},
	}
}

func codecMessageRecords() []messageRecord {
	full := Publishing{
		ContentType: "application/json", ContentEncoding: "gzip", Headers: codecRichTable(),
		DeliveryMode: Persistent, Priority: 9, CorrelationID: "corr", ReplyTo: "amq.rabbitmq.reply-to",
		Expiration: "60000", MessageID: "id-1", Timestamp: time.Unix(1700000000, 0).UTC(), Type: "created",
		UserID: "guest", AppID: "app", ClusterID: "cluster", Body: []byte(`{"order":1}`),
	}
	deaths := []death{
		{queue: "q1", reason: "rejected", count: 3, time: codecTime, exchange: "orders",
			routingKeys: []string{"order.created", "cc"}, originalExpiration: "1000"},
		{queue: "q2", reason: "expired", count: math.MaxInt64, time: time.Time{}, routingKeys: []string{}},
		{},
	}
	return []messageRecord{
		{},
		{Pub: full, Exchange: "orders", RoutingKey: "order.created", BCC: []string{"audit", ""}, Deaths: deaths,
			ExpiresAt: codecTime.UnixNano(), DeliveryCount: 2, Redelivered: true},
		{Pub: Publishing{Body: []byte{}, Headers: Table{}}, BCC: []string{}, Deaths: []death{}},
		{Pub: Publishing{Body: bytes.Repeat([]byte{0xff}, 300), Priority: 255, DeliveryMode: 1},
			ExpiresAt: math.MinInt64, DeliveryCount: math.MaxInt64},
		{Pub: Publishing{MessageID: "ユニコード", Timestamp: codecTime, Headers: Table{"k": "v"}},
			ExpiresAt: math.MaxInt64, DeliveryCount: -1, Exchange: "\x00", RoutingKey: "\xff"},
	}
}

// codecRoundTrip encodes r alone and after a prefix, and checks both decode to r.
func codecRoundTrip[R any](t *testing.T, r R, enc func([]byte, *R) []byte, dec func([]byte) (R, error)) {
	t.Helper()
	got, err := dec(enc(nil, &r))
	require.NoError(t, err)
	require.Equal(t, r, got)
	b := enc([]byte("prefix"), &r)
	require.Equal(t, "prefix", string(b[:6]))
	got, err = dec(b[6:])
	require.NoError(t, err)
	require.Equal(t, r, got)
}

func TestCodec_ExchangeRecord_RoundTrip(t *testing.T) {
	for _, r := range codecExchangeRecords() {
		codecRoundTrip(t, r, appendExchangeRecord, decodeExchangeRecord)
	}
}

func TestCodec_QueueRecord_RoundTrip(t *testing.T) {
	for _, r := range codecQueueRecords() {
		codecRoundTrip(t, r, appendQueueRecord, decodeQueueRecord)
	}
}

func TestCodec_BindingRecord_RoundTrip(t *testing.T) {
	for _, r := range codecBindingRecords() {
		codecRoundTrip(t, r, appendBindingRecord, decodeBindingRecord)
	}
}

func TestCodec_MessageRecord_RoundTrip(t *testing.T) {
	for _, r := range codecMessageRecords() {
		codecRoundTrip(t, r, appendMessageRecord, decodeMessageRecord)
	}
}

// TestCodec_MessageRecord_NilVersusEmpty checks the distinctions require.Equal would also
// catch, spelled out because the store relies on them: a message whose only header was BCC
// has an empty, non-nil table.
func TestCodec_MessageRecord_NilVersusEmpty(t *testing.T) {
	got, err := decodeMessageRecord(appendMessageRecord(nil, &messageRecord{}))
	require.NoError(t, err)
	require.Nil(t, got.Pub.Body)
	require.Nil(t, got.Pub.Headers)
	require.True(t, got.Pub.Timestamp.IsZero())
	got, err = decodeMessageRecord(appendMessageRecord(nil, &messageRecord{Pub: Publishing{Body: []byte{}, Headers: Table{}}}))
	require.NoError(t, err)
	require.NotNil(t, got.Pub.Body)
	require.Empty(t, got.Pub.Body)
	require.NotNil(t, got.Pub.Headers)
	require.Empty(t, got.Pub.Headers)
}

func TestCodec_Table_RoundTrip(t *testing.T) {
	for name, tab := range map[string]Table{
		"nil": nil, "empty": {}, "rich": codecRichTable(), "deepest Validate accepts": codecNested(maxTableDepth + 1),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, tab.Validate())
			got, err := decodeTable(appendTable(nil, tab))
			require.NoError(t, err)
			require.Equal(t, tab, got)
		})
	}
}

// TestCodec_Table_IntDecodesAsInt64 covers the one type that does not round-trip exactly.
func TestCodec_Table_IntDecodesAsInt64(t *testing.T) {
	got, err := decodeTable(appendTable(nil, Table{"n": -5, "a": []any{math.MaxInt}}))
	require.NoError(t, err)
	require.Equal(t, Table{"n": int64(-5), "a": []any{int64(math.MaxInt)}}, got)
}

// TestCodec_Table_TimesDecodeInUTC: a time keeps its instant and nanoseconds, loses its location
// and monotonic reading.
func TestCodec_Table_TimesDecodeInUTC(t *testing.T) {
	now := time.Now().In(time.FixedZone("CEST", 2*3600))
	got, err := decodeTable(appendTable(nil, Table{"t": now, "z": time.Time{}.In(time.FixedZone("X", 60))}))
	require.NoError(t, err)
	d := got["t"].(time.Time)
	require.True(t, now.Equal(d))
	require.Equal(t, now.Round(0).UTC(), d)
	require.Equal(t, time.UTC, d.Location())
	require.Equal(t, time.Time{}, got["z"])
}

func TestCodec_Table_NaNKeepsItsBits(t *testing.T) {
	nan64 := math.Float64frombits(0x7ff8000000000abc)
	nan32 := math.Float32frombits(0x7fc00abc)
	got, err := decodeTable(appendTable(nil, Table{"d": nan64, "f": nan32}))
	require.NoError(t, err)
	require.Equal(t, math.Float64bits(nan64), math.Float64bits(got["d"].(float64)))
	require.Equal(t, math.Float32bits(nan32), math.Float32bits(got["f"].(float32)))
}

// TestCodec_Table_DepthLimit: the decoder accepts exactly the nesting Validate accepts.
func TestCodec_Table_DepthLimit(t *testing.T) {
	nested := func(levels int) []byte { // top table, then levels tables each in field "n"
		return append(bytes.Repeat([]byte("\x02\x01nF"), levels), 1)
	}
	got, err := decodeTable(nested(maxTableDepth + 1))
	require.NoError(t, err)
	require.Equal(t, codecNested(maxTableDepth+1), got)

	require.Error(t, codecNested(maxTableDepth+2).Validate())
	_, err = decodeTable(nested(maxTableDepth + 2))
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "nested deeper than 64")
	_, err = decodeTable(nested(100_000))
	require.ErrorIs(t, err, ErrCorrupt)
}

// TestCodec_Table_EncodePanicsOnInvalid: Validate guards the door; a value past it is a bug and
// must not be written as something else, nor overflow the stack when cyclic.
func TestCodec_Table_EncodePanicsOnInvalid(t *testing.T) {
	require.PanicsWithValue(t, "tribus/exchange: cannot encode struct {} in a table: not an AMQP field type",
		func() { appendTable(nil, Table{"x": struct{}{}}) })
	cyclic := Table{}
	cyclic["self"] = cyclic
	require.Panics(t, func() { appendTable(nil, cyclic) })
	require.Panics(t, func() { appendTable(nil, codecNested(maxTableDepth+2)) })
}

// codecIndexOf is what decodeMessageIndex must return for r.
func codecIndexOf(r *messageRecord) messageIndex {
	return messageIndex{ExpiresAt: r.ExpiresAt, Priority: r.Pub.Priority, DeliveryCount: r.DeliveryCount,
		Redelivered: r.Redelivered, BodySize: int64(len(r.Pub.Body))}
}

// codecRandMessage draws a message record with every field sometimes set.
func codecRandMessage(rng *rand.Rand) messageRecord {
	str := func() string {
		return []string{"", "a", "order.created", "ключ", "\x00\xff", strings.Repeat("x", 200)}[rng.IntN(6)]
	}
	strs := func() []string {
		if rng.IntN(3) == 0 {
			return nil
		}
		ss := make([]string, rng.IntN(4))
		for i := range ss {
			ss[i] = str()
		}
		return ss
	}
	i64 := func() int64 {
		return []int64{0, 1, -1, math.MaxInt64, math.MinInt64, rng.Int64(), codecTime.UnixNano()}[rng.IntN(7)]
	}
	tm := func() time.Time {
		if rng.IntN(3) == 0 {
			return time.Time{}
		}
		return time.Unix(rng.Int64N(1<<40)-1<<39, rng.Int64N(1e9)).UTC()
	}
	var headers Table
	if rng.IntN(4) != 0 {
		rich := codecRichTable()
		headers = Table{}
		for k, v := range rich {
			if rng.IntN(4) == 0 {
				headers[k] = v
			}
		}
	}
	var body []byte
	if rng.IntN(4) != 0 {
		body = make([]byte, rng.IntN(3000))
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
	}
	r := messageRecord{
		Pub: Publishing{ContentType: str(), ContentEncoding: str(), Headers: headers, DeliveryMode: uint8(rng.Uint32()),
			Priority: uint8(rng.Uint32()), CorrelationID: str(), ReplyTo: str(), Expiration: str(), MessageID: str(),
			Timestamp: tm(), Type: str(), UserID: str(), AppID: str(), ClusterID: str(), Body: body},
		Exchange: str(), RoutingKey: str(), BCC: strs(), ExpiresAt: i64(), DeliveryCount: i64(), Redelivered: rng.IntN(2) == 0,
	}
	if rng.IntN(2) == 0 {
		r.Deaths = make([]death, rng.IntN(3))
		for i := range r.Deaths {
			r.Deaths[i] = death{queue: str(), reason: str(), count: i64(), time: tm(), exchange: str(),
				routingKeys: strs(), originalExpiration: str()}
		}
	}
	return r
}

func TestCodec_MessageIndex_AgreesWithRecord(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	var buf []byte
	for i := range 2000 {
		r := codecRandMessage(rng)
		buf = appendMessageRecord(buf[:0], &r)
		full, err := decodeMessageRecord(buf)
		require.NoError(t, err, "seed %d, record %d", seed, i)
		require.Equal(t, r, full, "seed %d, record %d", seed, i)
		idx, err := decodeMessageIndex(buf)
		require.NoError(t, err, "seed %d, record %d", seed, i)
		require.Equal(t, codecIndexOf(&full), idx, "seed %d, record %d", seed, i)
	}
}

// codecSample is an encoding and the decoders that must accept it.
type codecSample struct {
	name string
	enc  []byte
	dec  []func([]byte) error
}

func codecSamples() []codecSample {
	var out []codecSample
	for _, r := range codecExchangeRecords() {
		out = append(out, codecSample{"exchange " + r.Name, appendExchangeRecord(nil, &r),
			[]func([]byte) error{func(b []byte) error { _, err := decodeExchangeRecord(b); return err }}})
	}
	for _, r := range codecQueueRecords() {
		out = append(out, codecSample{"queue " + r.Name, appendQueueRecord(nil, &r),
			[]func([]byte) error{func(b []byte) error { _, err := decodeQueueRecord(b); return err }}})
	}
	for _, r := range codecBindingRecords() {
		out = append(out, codecSample{"binding " + r.Source, appendBindingRecord(nil, &r),
			[]func([]byte) error{func(b []byte) error { _, err := decodeBindingRecord(b); return err }}})
	}
	for _, r := range codecMessageRecords() {
		out = append(out, codecSample{"message " + r.Pub.MessageID, appendMessageRecord(nil, &r), []func([]byte) error{
			func(b []byte) error { _, err := decodeMessageRecord(b); return err },
			func(b []byte) error { _, err := decodeMessageIndex(b); return err },
		}})
	}
	for _, tab := range []Table{nil, {}, codecRichTable()} {
		out = append(out, codecSample{"table", appendTable(nil, tab),
			[]func([]byte) error{func(b []byte) error { _, err := decodeTable(b); return err }}})
	}
	return out
}

// TestCodec_TruncatedOrExtendedIsCorrupt feeds every proper prefix of every sample, and the
// sample with a byte appended, to its decoders: each must say ErrCorrupt, never panic.
func TestCodec_TruncatedOrExtendedIsCorrupt(t *testing.T) {
	for _, s := range codecSamples() {
		for n := range len(s.enc) {
			for _, dec := range s.dec {
				err := dec(bytes.Clone(s.enc[:n])) // exact capacity: nothing past len to read by mistake
				require.ErrorIs(t, err, ErrCorrupt, "%s cut to %d of %d bytes", s.name, n, len(s.enc))
			}
		}
		for _, dec := range s.dec {
			require.NoError(t, dec(s.enc), s.name)
			err := dec(append(bytes.Clone(s.enc), 0))
			require.ErrorIs(t, err, ErrCorrupt, s.name)
			require.ErrorContains(t, err, "1 trailing bytes", s.name)
		}
	}
}

// TestCodec_VersionAndKind: a record of another version or kind is refused, saying which.
func TestCodec_VersionAndKind(t *testing.T) {
	q := appendQueueRecord(nil, &queueRecord{Name: "q"})
	m := appendMessageRecord(nil, &messageRecord{})
	patch := func(b []byte, i int, c byte) []byte { b = bytes.Clone(b); b[i] = c; return b }

	_, err := decodeQueueRecord(patch(q, 0, 2))
	require.ErrorIs(t, err, ErrCorrupt)
	require.EqualError(t, err, "tribus/exchange: corrupt record: queue record: unknown format version 2 (this build reads 1)")
	_, err = decodeMessageIndex(patch(m, 0, 0))
	require.ErrorContains(t, err, "message record: unknown format version 0")
	_, err = decodeQueueRecord(patch(q, 1, 9))
	require.EqualError(t, err, "tribus/exchange: corrupt record: queue record: unknown record kind 9")
	_, err = decodeQueueRecord(patch(q, 1, 0))
	require.ErrorContains(t, err, "unknown record kind 0")

	for _, tc := range []struct {
		err  error
		want string
	}{
		{codecErr(decodeExchangeRecord(q)), "exchange record: found kind 2 (queue)"},
		{codecErr(decodeBindingRecord(q)), "binding record: found kind 2 (queue)"},
		{codecErr(decodeMessageRecord(q)), "message record: found kind 2 (queue)"},
		{codecErr(decodeMessageIndex(q)), "message record: found kind 2 (queue)"},
		{codecErr(decodeQueueRecord(m)), "queue record: found kind 4 (message)"},
		{codecErr(decodeQueueRecord(nil)), "queue record: header: truncated"},
		{codecErr(decodeMessageIndex([]byte{1})), "message record: header: truncated"},
	} {
		require.ErrorIs(t, tc.err, ErrCorrupt)
		require.ErrorContains(t, tc.err, tc.want)
	}
}

func codecErr[R any](_ R, err error) error { return err }

// TestCodec_ErrorsSayWhere checks the error text of a few hand-made corruptions.
func TestCodec_ErrorsSayWhere(t *testing.T) {
	m := appendMessageRecord(nil, &messageRecord{Pub: Publishing{Headers: Table{"x": "v"}}})
	i := bytes.Index(m, []byte("\x01xS\x01v"))
	require.Positive(t, i)
	m[i+2] = 0x7a
	_, err := decodeMessageRecord(m)
	require.EqualError(t, err, `tribus/exchange: corrupt record: message record: headers: field "x": unknown type tag 0x7a`)
	// The index does not look inside the headers.
	_, err = decodeMessageIndex(m)
	require.NoError(t, err)

	for _, tc := range []struct {
		in   string
		want string
	}{
		{"\x02\x01aA\x03Vt", `table: field "a": [1]: bool: truncated`},
		{"\x02\x01aA\x03V\x01", `table: field "a": [1]: unknown type tag 0x01`},
		{"\x02\x01aA\x03Vt\x02", `table: field "a": [1]: bool: byte 2 is neither 0 nor 1`},
		{"\x02\x01aF\x02\x01bs\x80\x80\x04", `table: field "a": field "b": int16: value 32768 out of range`},
		{"\x02\x01au\x80\x80\x04", `table: field "a": uint16: value 65536 out of range`},
		{"\x02\x01aS\x05ab", `table: field "a": string: length 5 exceeds the 2 bytes left`},
		{"\xff\xff\xff\xff\x0f", "table: length 4294967294 exceeds the 0 bytes left"},
		{"\x02\x01aT\x03", `table: field "a": timestamp: bad zero-time marker 3`},
		{"\x02\x01al\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", `table: field "a": int64: varint overflows 64 bits`},
		{"\x02\x05a", "table: field name: length 5 exceeds the 1 bytes left"},
	} {
		_, err := decodeTable([]byte(tc.in))
		require.ErrorIs(t, err, ErrCorrupt, "%q", tc.in)
		require.EqualError(t, err, "tribus/exchange: corrupt record: "+tc.want, "%q", tc.in)
	}

	b := appendBindingRecord(nil, &bindingRecord{})
	b[3] = 0x82
	_, err = decodeBindingRecord(b)
	require.EqualError(t, err, "tribus/exchange: corrupt record: binding record: flags: unknown bits 0x82")
}

// TestCodec_DecodeDoesNotAlias: bbolt's memory is only valid inside its transaction, so a
// decoded record must survive its input being overwritten.
func TestCodec_DecodeDoesNotAlias(t *testing.T) {
	for _, want := range codecMessageRecords() {
		b := appendMessageRecord(nil, &want)
		got, err := decodeMessageRecord(b)
		require.NoError(t, err)
		for i := range b {
			b[i] = 0xa5
		}
		require.Equal(t, want, got)
	}
	for _, want := range codecExchangeRecords() {
		b := appendExchangeRecord(nil, &want)
		got, err := decodeExchangeRecord(b)
		require.NoError(t, err)
		clear(b)
		require.Equal(t, want, got)
	}
}

// A record decoded like another reads the same whatever the other holds, and copies only the
// strings that differ: like the record before it in its queue (same exchange, routing key and
// properties, another body), it costs the body alone.
func TestCodec_MessageRecordLikeAnotherSharesTheStringsThatRepeat(t *testing.T) {
	recs := codecMessageRecords()
	for _, want := range recs {
		b := appendMessageRecord(nil, &want)
		for _, like := range recs {
			got, err := decodeMessageRecordLike(b, &like, nil)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
	}
	prev := messageRecord{Exchange: "orders", RoutingKey: "order.created",
		Pub: Publishing{ContentType: "application/json", DeliveryMode: Persistent, AppID: "shop", Body: []byte(`{"id":1}`)}}
	next := prev
	next.Pub.Body = []byte(`{"id":2}`)
	b := appendMessageRecord(nil, &next)
	require.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _, _ = decodeMessageRecord(b) }), "the body and one copy of the strings")
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = decodeMessageRecordLike(b, &prev, nil) }), "the body alone")
	next.Pub.MessageID = "m-2"
	b = appendMessageRecord(nil, &next)
	got, err := decodeMessageRecordLike(b, &prev, nil)
	require.NoError(t, err)
	require.Equal(t, next, got)
	require.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _, _ = decodeMessageRecordLike(b, &prev, nil) }), "the body and the strings from the message id on")
}

// Where TestCodec_ReadBackContentAndSmallBodyAreOneAllocation keeps what it makes, so that
// the compiler cannot make it on the stack.
var (
	readBackSink *content
	readBackBody []byte
)

// A message read back from the store costs one allocation for its content and body together
// when the body is small, and the body is placed where the decoder was told to put it.
func TestCodec_ReadBackContentAndSmallBodyAreOneAllocation(t *testing.T) {
	for _, tc := range []struct {
		size   int
		allocs float64
	}{{0, 1}, {1, 1}, {64, 1}, {65, 1}, {128, 1}, {200, 1}, {512, 1}, {513, 2}, {4096, 2}} {
		require.Equal(t, tc.allocs, testing.AllocsPerRun(100, func() { readBackSink, readBackBody = contentWithBody(tc.size) }), "a %d-byte body", tc.size)
		c, body := contentWithBody(tc.size)
		require.NotNil(t, c)
		require.NotNil(t, body)
		require.Equal(t, tc.size, len(body))
		require.Equal(t, tc.size, cap(body), "an append to the body could write past it")
	}
	want := messageRecord{RoutingKey: "jobs", Pub: Publishing{DeliveryMode: Persistent, Body: bytes.Repeat([]byte{7}, 128)}}
	b := appendMessageRecord(nil, &want)
	var made *content
	var placed []byte
	got, err := decodeMessageRecordLike(b, &messageRecord{}, func(n int) []byte {
		made, placed = contentWithBody(n)
		return placed
	})
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Same(t, &placed[0], &got.Pub.Body[0], "the body is not where the decoder was told to put it")
	require.Same(t, made, contentOf(&got, made))
	nilBody := messageRecord{RoutingKey: "jobs"}
	_, err = decodeMessageRecordLike(appendMessageRecord(nil, &nilBody), &messageRecord{}, func(int) []byte {
		t.Fatal("room asked for a nil body")
		return nil
	})
	require.NoError(t, err)
}

func TestCodec_EncodeAndIndexDoNotAllocate(t *testing.T) {
	r := codecBenchMessage()
	buf := appendMessageRecord(nil, &r)
	require.Zero(t, testing.AllocsPerRun(100, func() { buf = appendMessageRecord(buf[:0], &r) }))
	require.Zero(t, testing.AllocsPerRun(100, func() {
		if _, err := decodeMessageIndex(buf); err != nil {
			t.Fatal(err)
		}
	}))
}

// codecCanon replaces floats by their bits so that records holding NaN compare equal.
func codecCanon(v any) any {
	type f32 uint32
	type f64 uint64
	switch x := v.(type) {
	case float32:
		return f32(math.Float32bits(x))
	case float64:
		return f64(math.Float64bits(x))
	case Table:
		if x == nil {
			return x
		}
		out := make(Table, len(x))
		for k, e := range x {
			out[k] = codecCanon(e)
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = codecCanon(e)
		}
		return out
	}
	return v
}

func codecCanonMessage(r messageRecord) messageRecord {
	r.Pub.Headers, _ = codecCanon(r.Pub.Headers).(Table)
	return r
}

// FuzzCodec_MessageRecord feeds arbitrary bytes to both message decoders: they never panic,
// agree when the record decodes, never alias their input, and a decoded record re-encodes to
// one that decodes to it again. Each input is also tried with its rest length made to fit.
func FuzzCodec_MessageRecord(f *testing.F) {
	for _, r := range codecMessageRecords() {
		f.Add(appendMessageRecord(nil, &r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		codecCheckMessage(t, b)
		if fit := codecFitRestLen(b); fit != nil {
			codecCheckMessage(t, fit)
		}
	})
}

// codecFitRestLen returns a copy of b with the rest length set to what follows the body, or nil
// if b's prefix does not parse. Random mutations almost never keep that length consistent, so
// without this the fuzzer would rarely get past decodeMessageRecord's prefix.
func codecFitRestLen(b []byte) []byte {
	d := decoder{b: b}
	d.header(kindMessage)
	d.u8("flags")
	d.u8("priority")
	d.varint("expires at")
	d.varint("delivery count")
	slot := d.off
	d.fixed("rest length", 4)
	n, _ := d.nilLen("body", 1)
	if d.err != nil {
		return nil
	}
	out := bytes.Clone(b)
	binary.LittleEndian.PutUint32(out[slot:], uint32(len(b)-d.off-n))
	return out
}

func codecCheckMessage(t *testing.T, b []byte) {
	in := bytes.Clone(b)
	idx, ierr := decodeMessageIndex(in)
	r, err := decodeMessageRecord(in)
	if ierr != nil {
		require.ErrorIs(t, ierr, ErrCorrupt)
		require.Error(t, err)
	}
	if err != nil {
		require.ErrorIs(t, err, ErrCorrupt)
		return
	}
	require.NoError(t, ierr)
	require.Equal(t, codecIndexOf(&r), idx)
	require.NoError(t, r.Pub.Headers.Validate())
	for i := range in {
		in[i] ^= 0xff
	}
	again, err := decodeMessageRecord(b)
	require.NoError(t, err)
	require.Equal(t, codecCanonMessage(again), codecCanonMessage(r), "decoded record aliases its input")

	r2, err := decodeMessageRecord(appendMessageRecord(nil, &r))
	require.NoError(t, err)
	require.Equal(t, codecCanonMessage(r), codecCanonMessage(r2))

	// Like itself, every string is shared; it still reads the same.
	liked, err := decodeMessageRecordLike(b, &r, nil)
	require.NoError(t, err)
	require.Equal(t, codecCanonMessage(r), codecCanonMessage(liked))
}

// FuzzCodec_Table is FuzzCodec_MessageRecord for a bare table.
func FuzzCodec_Table(f *testing.F) {
	for _, tab := range []Table{nil, {}, codecRichTable(), codecNested(maxTableDepth + 1)} {
		f.Add(appendTable(nil, tab))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		tab, err := decodeTable(in)
		if err != nil {
			require.True(t, errors.Is(err, ErrCorrupt), err)
			return
		}
		require.NoError(t, tab.Validate())
		for i := range in {
			in[i] ^= 0xff
		}
		again, err := decodeTable(b)
		require.NoError(t, err)
		require.Equal(t, codecCanon(again), codecCanon(tab), "decoded table aliases its input")

		tab2, err := decodeTable(appendTable(nil, tab))
		require.NoError(t, err)
		require.Equal(t, codecCanon(tab), codecCanon(tab2))
	})
}

// codecBenchMessage is a typical persistent message: a 128-byte body and 3 headers.
func codecBenchMessage() messageRecord {
	return messageRecord{
		Pub: Publishing{
			ContentType: "application/json", DeliveryMode: Persistent, Priority: 1,
			MessageID: "0b7e6c1e-3f9a-4c1e-9d5e-2a4f8c7b1d20", Timestamp: time.Unix(1700000000, 0).UTC(),
			Headers: Table{"x-trace-id": "4bf92f3577b34da6", "x-retries": int32(3), "tenant": "acme"},
			Body:    bytes.Repeat([]byte("x"), 128),
		},
		Exchange: "orders", RoutingKey: "order.created", ExpiresAt: codecTime.UnixNano(),
	}
}

func BenchmarkCodec_EncodeMessage(b *testing.B) {
	r := codecBenchMessage()
	buf := appendMessageRecord(nil, &r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendMessageRecord(buf[:0], &r)
	}
}

func BenchmarkCodec_DecodeMessage(b *testing.B) {
	r := codecBenchMessage()
	buf := appendMessageRecord(nil, &r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessageRecord(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodec_DecodeIndex(b *testing.B) {
	r := codecBenchMessage()
	buf := appendMessageRecord(nil, &r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessageIndex(buf); err != nil {
			b.Fatal(err)
		}
	}
}
