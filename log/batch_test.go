package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ms is the time at Unix milliseconds v.
func ms(v int64) time.Time { return time.UnixMilli(v) }

// plainHeader is the header of a batch without an idempotent producer.
func plainHeader(baseOffset int64) batchHeader {
	return batchHeader{BaseOffset: baseOffset, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
}

// reseal makes b's BatchLength and CRC agree with its bytes again after a test edits it, so
// the edit reaches the record decoder instead of failing the CRC.
func reseal(b []byte) []byte {
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batchLogOverhead))
	binary.BigEndian.PutUint32(b[batchCRCOffset:], crc32.Checksum(b[batchAttributesOffset:], batchCRCTable))
	return b
}

// requireSameRecords compares records' keys, values and headers, telling nil from empty
// (K9), and their offsets and timestamps too when withPositions is set.
func requireSameRecords(t testing.TB, want, got []Record, withPositions bool) {
	t.Helper()
	describe := func(recs []Record) []string {
		nullable := func(b []byte) string {
			if b == nil {
				return "null"
			}
			return strconv.Quote(string(b))
		}
		out := make([]string, len(recs))
		for i, r := range recs {
			if withPositions {
				out[i] = fmt.Sprintf("@%d t=%d ", r.Offset, r.Timestamp.UnixMilli())
			}
			out[i] += nullable(r.Key) + "=" + nullable(r.Value)
			for _, h := range r.Headers {
				out[i] += fmt.Sprintf(" [%q: %s]", h.Key, nullable(h.Value))
			}
		}
		return out
	}
	require.Equal(t, describe(want), describe(got))
}

// TestBatch_K9_RoundTrip encodes and decodes batches that exercise every nullable field,
// repeated header keys, extreme timestamp deltas and sizes.
func TestBatch_K9_RoundTrip(t *testing.T) {
	big := make([]Record, 1000)
	for i := range big {
		big[i] = Record{
			Timestamp: ms(1_700_000_000_000 + int64(i%7)*1000 - 3000),
			Key:       []byte(strings.Repeat("k", i%300)), // lengths that need 1- and 2-byte varints
			Value:     bytes.Repeat([]byte{byte(i)}, i),
		}
		if i%3 == 0 {
			big[i].Headers = []Header{{Key: "n", Value: []byte{byte(i)}}, {Key: "n", Value: nil}}
		}
	}
	tests := []struct {
		name string
		base int64
		recs []Record
	}{
		{"one record", 0, []Record{{Timestamp: ms(1), Key: []byte("k"), Value: []byte("v")}}},
		{"nil key and value", 5, []Record{{Timestamp: ms(0)}}},
		{"empty key and value", 5, []Record{{Timestamp: ms(0), Key: []byte{}, Value: []byte{}}}},
		{"tombstone", 9, []Record{{Timestamp: ms(10), Key: []byte("gone")}}},
		{"repeated header keys and nil values", 1 << 40, []Record{{Timestamp: ms(123), Value: []byte("v"), Headers: []Header{
			{Key: "trace", Value: []byte("a")}, {Key: "trace", Value: []byte("b")}, {Key: "", Value: nil},
			{Key: "empty", Value: []byte{}}, {Key: "trace", Value: nil},
		}}}},
		{"negative timestamp deltas", 0, []Record{
			{Timestamp: ms(1_700_000_000_000), Value: []byte("a")},
			{Timestamp: ms(1_600_000_000_000), Value: []byte("b")}, // older than the first
			{Timestamp: ms(1_700_000_000_001), Value: []byte("c")},
		}},
		{"huge timestamp deltas", 0, []Record{
			{Timestamp: ms(math.MaxInt64 / 4)},
			{Timestamp: ms(-math.MaxInt64 / 4)},
			{Timestamp: ms(-1)}, // Kafka's NO_TIMESTAMP
		}},
		{"before 1970", 0, []Record{{Timestamp: ms(-86_400_000)}, {Timestamp: ms(-1)}}},
		{"1000 records", 1_000_000, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("previous batch")
			b := appendBatch(bytes.Clone(prefix), plainHeader(tt.base), tt.recs)
			require.Equal(t, prefix, b[:len(prefix)], "appendBatch must append, not overwrite")
			b = b[len(prefix):]

			h, err := checkBatch(b)
			require.NoError(t, err)
			require.Equal(t, len(b), h.size())
			require.Equal(t, len(b), batchSize(b))
			assert.Equal(t, int32(len(tt.recs)), h.NumRecords)
			assert.Equal(t, int32(len(tt.recs)-1), h.LastOffsetDelta)
			assert.Equal(t, tt.recs[0].Timestamp.UnixMilli(), h.BaseTimestamp)
			latest := slices.MaxFunc(tt.recs, func(a, b Record) int { return a.Timestamp.Compare(b.Timestamp) })
			assert.Equal(t, latest.Timestamp.UnixMilli(), h.MaxTimestamp)

			want := make([]Record, len(tt.recs))
			for i, r := range tt.recs {
				r.Offset = tt.base + int64(i)
				want[i] = r
			}
			got, err := decodeRecords(nil, b)
			require.NoError(t, err)
			requireSameRecords(t, want, got, true)

			// Idempotence: the decoded records encode to the same bytes.
			require.Equal(t, b, appendBatch(nil, h, got))
		})
	}
	// Reference: SEMANTICS.md K9, K10.
}

// TestBatch_K10_KnownAnswer builds a two-record batch by hand from the K10 field list and
// checks appendBatch writes exactly those bytes.
func TestBatch_K10_KnownAnswer(t *testing.T) {
	want := []byte{
		0, 0, 0, 0, 0, 0, 0, 7, // baseOffset 7
		0, 0, 0, 80, // batchLength: 92 bytes in all, less the 12 of baseOffset and batchLength
		0, 0, 0, 0, // partitionLeaderEpoch 0
		2,          // magic
		0, 0, 0, 0, // crc, filled in below
		0, 0, // attributes: uncompressed, CreateTime
		0, 0, 0, 1, // lastOffsetDelta 1
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // baseTimestamp 1700000000000 (the first record)
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // maxTimestamp, the same: the second is older
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producerId -1
		0xff, 0xff, // producerEpoch -1
		0xff, 0xff, 0xff, 0xff, // baseSequence -1
		0, 0, 0, 2, // records count 2

		// Record 0. Varints are zig-zag: n is written as 2n, -n as 2n-1.
		0x20,    // length 16
		0, 0, 0, // attributes, timestampDelta 0, offsetDelta 0
		2, 'k', // key "k"
		10, 'h', 'e', 'l', 'l', 'o', // value "hello"
		2, 2, 'h', 2, '1', // 1 header: key "h", value "1"

		0x1a,       // record 1: length 13
		0, 0x13, 2, // attributes, timestampDelta -10, offsetDelta 1
		1, 0, // key null (-1), value empty
		4, 2, 'h', 1, // 2 headers: key "h", value null (-1);
		2, 'h', 2, '2', // key "h" again, value "2"
	}
	require.Len(t, want, 92)
	crc := crc32.Checksum(want[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(want[17:21], crc)

	recs := []Record{
		{Offset: 99, Timestamp: ms(1_700_000_000_000), Key: []byte("k"), Value: []byte("hello"),
			Headers: []Header{{Key: "h", Value: []byte("1")}}},
		{Offset: -5, Timestamp: ms(1_699_999_999_990), Key: nil, Value: []byte{},
			Headers: []Header{{Key: "h", Value: nil}, {Key: "h", Value: []byte("2")}}},
	}
	got := appendBatch(nil, plainHeader(7), recs)
	require.Equal(t, want, got)
	h, err := checkBatch(got)
	require.NoError(t, err)
	assert.Equal(t, crc, h.CRC)
	// Reference: SEMANTICS.md K10; https://kafka.apache.org/documentation/#recordbatch.
}

// TestBatch_K10_IndependentVectors decodes batches encoded, CRC included, by another Kafka
// client (sarama's record_test.go), so the CRC and layout are checked against an
// implementation other than this one.
func TestBatch_K10_IndependentVectors(t *testing.T) {
	// The empty batch and the empty control batch: all zeros but length 49, magic and CRC.
	for attr, crc := range map[byte][]byte{0: {89, 95, 183, 221}, 32: {81, 46, 67, 217}} {
		b := append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 49, 0, 0, 0, 0, 2}, crc...)
		b = append(append(b, 0, attr), make([]byte, 38)...)
		h, err := checkBatch(b)
		require.NoError(t, err, "attributes %d", attr)
		assert.Equal(t, int16(attr), h.Attributes)
		recs, err := decodeRecords(nil, b)
		require.NoError(t, err)
		assert.Empty(t, recs)
		// An empty batch keeps the header's own fields, so it encodes back identically.
		assert.Equal(t, b, appendBatch(nil, h, nil))
	}

	t.Run("uncompressed record", func(t *testing.T) {
		b := []byte{
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 70, 0, 0, 0, 0, 2,
			84, 121, 97, 253, // CRC
			0, 0, 0, 0, 0, 0,
			0, 0, 1, 88, 141, 205, 89, 56, // first timestamp 1479847795000
			0, 0, 0, 0, 0, 0, 0, 0, // max timestamp 0, as sarama's test writes it
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 1, // one record
			40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12,
		}
		_, err := checkBatch(b)
		require.NoError(t, err)
		got, err := decodeRecords(nil, b)
		require.NoError(t, err)
		requireSameRecords(t, []Record{{
			Timestamp: ms(1479847795005), Key: []byte{1, 2, 3, 4}, Value: []byte{5, 6, 7},
			Headers: []Header{{Key: "\x08\x09\x0a", Value: []byte{11, 12}}},
		}}, got, true)
	})
	// Reference: SEMANTICS.md K10; github.com/IBM/sarama record_test.go recordBatchTestCases.
}

// TestBatch_K10_CRCMismatch flips every bit the CRC covers, and the CRC itself, and checks
// that each flip is caught.
func TestBatch_K10_CRCMismatch(t *testing.T) {
	b := appendBatch(nil, plainHeader(3), []Record{
		{Timestamp: ms(5), Key: []byte("key"), Value: []byte("value"), Headers: []Header{{Key: "h", Value: []byte("v")}}},
		{Timestamp: ms(6), Value: []byte("second")},
	})
	for i := batchCRCOffset; i < len(b); i++ {
		for bit := range 8 {
			c := bytes.Clone(b)
			c[i] ^= 1 << bit
			_, err := checkBatch(c)
			require.ErrorIs(t, err, ErrCorruptBatch, "byte %d bit %d", i, bit)
		}
	}
	// Reference: SEMANTICS.md K10 (crc: CRC-32C from attributes to the end).
}

// TestBatch_Truncated checks that no proper prefix of a batch passes checkBatch or
// decodeRecords: recovery relies on it to find a torn tail.
func TestBatch_Truncated(t *testing.T) {
	b := appendBatch(nil, plainHeader(0), []Record{
		{Timestamp: ms(1), Key: []byte("a"), Value: []byte("b"), Headers: []Header{{Key: "c", Value: nil}}},
		{Timestamp: ms(2), Value: bytes.Repeat([]byte("x"), 300)},
	})
	for n := range len(b) {
		_, err := checkBatch(b[:n])
		require.ErrorIs(t, err, ErrCorruptBatch, "checkBatch of %d of %d bytes", n, len(b))
		recs, err := decodeRecords(nil, b[:n])
		require.ErrorIs(t, err, ErrCorruptBatch, "decodeRecords of %d of %d bytes", n, len(b))
		require.Empty(t, recs)
	}
	// A batch followed by the start of the next still checks: only its own bytes count.
	_, err := checkBatch(append(bytes.Clone(b), b[:30]...))
	require.NoError(t, err)
}

// TestBatch_K11_LogAppendTime checks that under LogAppendTime the header's MaxTimestamp (the
// broker's clock) is kept and every decoded record carries it, as Kafka's consumers see.
func TestBatch_K11_LogAppendTime(t *testing.T) {
	h := plainHeader(10)
	h.Attributes, h.MaxTimestamp = attrLogAppendTime, 1_000_000
	b := appendBatch(nil, h, []Record{{Timestamp: ms(5)}, {Timestamp: ms(2_000_000)}})
	got, err := checkBatch(b)
	require.NoError(t, err)
	assert.Equal(t, int64(5), got.BaseTimestamp, "record deltas stay relative to the producer's times")
	assert.Equal(t, int64(1_000_000), got.MaxTimestamp)
	recs, err := decodeRecords(nil, b)
	require.NoError(t, err)
	requireSameRecords(t, []Record{{Offset: 10, Timestamp: ms(1_000_000)}, {Offset: 11, Timestamp: ms(1_000_000)}}, recs, true)
	// Reference: SEMANTICS.md K11.
}

// TestBatch_HeaderFields checks that the header fields appendBatch copies survive, that it
// clears the compression bits, and that the delete horizon replaces the base timestamp.
func TestBatch_HeaderFields(t *testing.T) {
	h := batchHeader{
		BaseOffset: 1 << 50, PartitionLeaderEpoch: 7, Attributes: attrTransactional | attrDeleteHorizon | 3,
		BaseTimestamp: 999, ProducerID: 12345, ProducerEpoch: 6, BaseSequence: 40,
	}
	b := appendBatch(nil, h, []Record{{Timestamp: ms(500)}, {Timestamp: ms(2000)}})
	got, err := checkBatch(b)
	require.NoError(t, err)
	want := h
	want.BatchLength, want.Magic, want.CRC = int32(len(b)-12), 2, got.CRC
	want.Attributes, want.LastOffsetDelta, want.MaxTimestamp, want.NumRecords = attrTransactional|attrDeleteHorizon, 1, 2000, 2
	assert.Equal(t, want, got)
	recs, err := decodeRecords(nil, b)
	require.NoError(t, err)
	requireSameRecords(t, []Record{{Offset: 1 << 50, Timestamp: ms(500)}, {Offset: 1<<50 + 1, Timestamp: ms(2000)}}, recs, true)

	// An emptied batch (compaction keeping producer state) keeps the caller's fields.
	e := batchHeader{BaseOffset: 100, LastOffsetDelta: 4, BaseTimestamp: 8, MaxTimestamp: 9, ProducerID: 1}
	got, err = checkBatch(appendBatch(nil, e, nil))
	require.NoError(t, err)
	e.BatchLength, e.Magic, e.CRC = batchMinLength, 2, got.CRC
	assert.Equal(t, e, got)
}

// TestBatch_VarintSize checks the size arithmetic appendBatch relies on against encoding/binary
// around every byte boundary.
func TestBatch_VarintSize(t *testing.T) {
	var buf [binary.MaxVarintLen64]byte
	for shift := range 64 {
		for _, v := range []int64{1<<shift - 1, 1 << shift, -(1 << shift), -(1 << shift) - 1, math.MinInt64, math.MaxInt64} {
			require.Equal(t, binary.PutVarint(buf[:], v), varintSize(v), "%d", v)
		}
	}
}

// TestBatch_DecodeAliasing checks the ownership contract: values alias the batch but cannot be
// appended into it, and decodeRecords appends to dst.
func TestBatch_DecodeAliasing(t *testing.T) {
	b := appendBatch(nil, plainHeader(0), []Record{
		{Timestamp: ms(1), Key: []byte("ab"), Value: []byte("cd")},
		{Timestamp: ms(1), Key: []byte("ef"), Value: []byte("gh")},
	})
	orig := bytes.Clone(b)
	dst := []Record{{Offset: -1}}
	recs, err := decodeRecords(dst, b)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, int64(-1), recs[0].Offset)
	_ = append(recs[1].Key, 'X')
	_ = append(recs[1].Value, 'X')
	assert.Equal(t, orig, b, "appending to a decoded slice must not write into the batch")
	b[len(b)-2] = 'Z' // the last byte is the header count
	assert.Equal(t, "gZ", string(recs[2].Value), "values alias the batch (documented)")
}

// TestBatch_DecodeRejects feeds decodeRecords resealed batches, CRC and length correct, that
// are malformed inside, and checks each is refused with ErrCorruptBatch and dst untouched.
func TestBatch_DecodeRejects(t *testing.T) {
	one := appendBatch(nil, plainHeader(0), []Record{{Timestamp: ms(1), Key: []byte("k"), Value: []byte("v")}})
	two := appendBatch(nil, plainHeader(0), []Record{{Timestamp: ms(1)}, {Timestamp: ms(1)}})
	twoBig := appendBatch(nil, plainHeader(0), []Record{{Timestamp: ms(1), Value: make([]byte, 20)}, {Timestamp: ms(1)}})
	rec := batchHeaderSize // where the first record starts
	edit := func(src []byte, f func(b []byte) []byte) []byte { return reseal(f(bytes.Clone(src))) }
	for name, b := range map[string][]byte{
		"magic 1":                            edit(one, func(b []byte) []byte { b[16] = 1; return b }),
		"gzip":                               edit(one, func(b []byte) []byte { b[22] |= 1; return b }),
		"negative base offset":               edit(one, func(b []byte) []byte { b[0] = 0x80; return b }),
		"negative record count":              edit(one, func(b []byte) []byte { b[57] = 0xff; return b }),
		"more records than offsets":          edit(one, func(b []byte) []byte { b[60] = 2; return b }),
		"record count too big for the bytes": edit(one, func(b []byte) []byte { b[26] = 100; b[60] = 100; return b }),
		"fewer records than counted":         edit(twoBig, func(b []byte) []byte { return b[:len(b)-7] }),
		"bytes after the records":            edit(one, func(b []byte) []byte { return append(b, 0) }),
		"record attributes":                  edit(one, func(b []byte) []byte { b[rec+1] = 1; return b }),
		"record length too long":             edit(one, func(b []byte) []byte { b[rec] += 2; return b }),
		"record length too short":            edit(one, func(b []byte) []byte { b[rec] -= 2; return b }),
		"negative record length":             edit(one, func(b []byte) []byte { b[rec] = 3; return b }),
		"varint not shortest": edit(one, func(b []byte) []byte {
			// Offset delta 0 written as 0x80 0x00, the record one byte longer.
			b[rec] += 2
			return append(b[:rec+3], append([]byte{0x80, 0x00}, b[rec+4:]...)...)
		}),
		"offset delta past last offset delta": edit(one, func(b []byte) []byte { b[rec+3] = 2; return b }),
		"offset deltas not increasing":        edit(two, func(b []byte) []byte { b[len(b)-4] = 0; return b }),
		"key longer than the record":          edit(one, func(b []byte) []byte { b[rec+4] = 40; return b }),
		"key length below -1":                 edit(one, func(b []byte) []byte { b[rec+4] = 3; return b }),
		"header count too big":                edit(one, func(b []byte) []byte { b[len(b)-1] = 2; return b }),
		"null header key": edit(two, func(b []byte) []byte {
			b[len(b)-1] = 2           // one header
			b = append(b, 1, 1)       // key length -1, value null
			b[batchHeaderSize+7] += 4 // second record's length: 6 → 8 (the first record is 7 bytes)
			return b
		}),
	} {
		got, err := decodeRecords([]Record{{Offset: 42}}, b)
		require.ErrorIs(t, err, ErrCorruptBatch, name)
		require.Len(t, got, 1, name)
		assert.Equal(t, int64(42), got[0].Offset, name)
	}
}

// TestBatch_AppendTooLarge checks that a batch over batchMaxLength is refused loudly rather
// than written in a form recovery would truncate away.
func TestBatch_AppendTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 64 MiB")
	}
	big := make([]byte, batchMaxLength)
	assert.Panics(t, func() { appendBatch(nil, plainHeader(0), []Record{{Value: big}}) })
}

// FuzzBatch_Decode feeds arbitrary bytes to checkBatch and decodeRecords, as is and resealed
// (length and CRC made consistent, so mutations reach the record decoder). Neither may panic
// or fail without ErrCorruptBatch. A batch that decodes must re-encode to a batch that decodes
// to the same records and is a fixed point of decode-then-encode; a canonical batch, as
// appendBatch writes them, must re-encode to its own bytes.
func FuzzBatch_Decode(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzBatch_Decode: canonical, empty, LogAppendTime,
	// control with delete horizon, compacted (offset gaps) and sarama-encoded batches, and one
	// batch per compression codec.
	f.Add(appendBatch(nil, plainHeader(0), []Record{{Timestamp: ms(1), Key: []byte("k"), Headers: []Header{{Key: "h"}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode(t, data)
		if len(data) >= batchHeaderSize {
			b := bytes.Clone(data)
			b[16] = batchMagic
			fuzzDecode(t, reseal(b))
		}
	})
}

// fuzzDecode checks one input for FuzzBatch_Decode.
func fuzzDecode(t *testing.T, data []byte) {
	h, err := checkBatch(data)
	recs, derr := decodeRecords(nil, data)
	if derr != nil {
		require.ErrorIs(t, derr, ErrCorruptBatch)
		require.Empty(t, recs)
	}
	if err != nil || derr != nil {
		require.True(t, err == nil || errors.Is(err, ErrCorruptBatch), "%v", err)
		return
	}
	require.Len(t, recs, int(h.NumRecords))

	re := appendBatch(nil, h, recs)
	if canonicalBatch(h, recs) {
		require.Equal(t, data[:h.size()], re, "a canonical batch must re-encode to itself")
	}
	h2, err := checkBatch(re)
	require.NoError(t, err)
	recs2, err := decodeRecords(nil, re)
	require.NoError(t, err)
	requireSameRecords(t, recs, recs2, false)
	require.Equal(t, re, appendBatch(nil, h2, recs2), "decode-then-encode must be a fixed point")
}

// canonicalBatch reports whether appendBatch would have written the batch h, recs decoded
// from: uncompressed, consecutive offsets, and the timestamps appendBatch derives. Other valid
// batches (compressed, compacted gaps, LogAppendTime, a MaxTimestamp that is not the maximum)
// decode fine but re-encode differently.
func canonicalBatch(h batchHeader, recs []Record) bool {
	if len(recs) == 0 {
		return true // appendBatch keeps every header field of an empty batch
	} else if h.Attributes&(attrLogAppendTime|attrCompressionMask) != 0 || int(h.LastOffsetDelta) != len(recs)-1 {
		return false
	}
	if h.Attributes&attrDeleteHorizon == 0 && h.BaseTimestamp != recs[0].Timestamp.UnixMilli() {
		return false
	}
	maxTS := int64(math.MinInt64)
	for i, r := range recs {
		if r.Offset != h.BaseOffset+int64(i) {
			return false
		}
		maxTS = max(maxTS, r.Timestamp.UnixMilli())
	}
	return h.MaxTimestamp == maxTS
}

// benchRecords is 100 records with 16-byte keys and 128-byte values.
func benchRecords() []Record {
	recs := make([]Record, 100)
	for i := range recs {
		recs[i] = Record{Timestamp: ms(1_700_000_000_000 + int64(i)), Key: []byte("key-0123456789ab"), Value: bytes.Repeat([]byte{byte(i)}, 128)}
	}
	return recs
}

// BenchmarkBatch_Append encodes 100 records into a reused buffer: it must not allocate.
func BenchmarkBatch_Append(b *testing.B) {
	recs := benchRecords()
	buf := appendBatch(nil, plainHeader(0), recs)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendBatch(buf[:0], plainHeader(0), recs)
	}
}

// BenchmarkBatch_Decode decodes the 100-record batch into a reused slice, without and with
// two headers per record (header keys are the only per-record allocation).
func BenchmarkBatch_Decode(b *testing.B) {
	for name, headers := range map[string][]Header{"NoHeaders": nil, "Headers": {{Key: "trace-id", Value: []byte("abc")}, {Key: "source"}}} {
		recs := benchRecords()
		for i := range recs {
			recs[i].Headers = headers
		}
		b.Run(name, func(b *testing.B) {
			buf := appendBatch(nil, plainHeader(0), recs)
			dst := make([]Record, 0, len(recs))
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = decodeRecords(dst[:0], buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A cleaned batch keeps its records' own offsets, with the gaps compaction left, and its
// original LastOffsetDelta, so the offsets after it do not move; a compressed original is
// compressed again with its own codec, as Kafka's cleaner writes it.
func TestBatch_CleanedBatchKeepsOffsetsSpanAndCodec(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			h := plainHeader(100)
			h.LastOffsetDelta = 9 // the original held offsets 100..109
			h.Attributes = int16(c)
			kept := []Record{{Offset: 101, Timestamp: ms(5), Key: []byte("a")}, {Offset: 107, Timestamp: ms(9), Key: []byte("b")}}
			b, err := appendCleanedBatch(nil, h, kept)
			require.NoError(t, err)
			got, err := checkBatch(b)
			require.NoError(t, err)
			assert.Equal(t, int32(9), got.LastOffsetDelta)
			assert.Equal(t, int32(2), got.NumRecords)
			assert.Equal(t, c, Compression(got.Attributes&attrCompressionMask), "the original's codec")
			recs, err := decodeRecords(nil, b)
			require.NoError(t, err)
			require.Len(t, recs, 2)
			assert.Equal(t, []int64{101, 107}, []int64{recs[0].Offset, recs[1].Offset})
			again, err := appendCleanedBatch(nil, got, recs)
			require.NoError(t, err)
			assert.Equal(t, b, again, "decode-then-clean is a fixed point")
		})
	}
	// Reference: SEMANTICS.md K9, K10 (LogCleaner keeps the batch's last offset and codec)
}
