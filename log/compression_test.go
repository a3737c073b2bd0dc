package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/klauspost/compress/snappy/xerial"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allCodecs are the compression codecs Kafka defines, none included.
var allCodecs = []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd}

// compressedBatch encodes recs as one batch at base with codec c.
func compressedBatch(t testing.TB, base int64, recs []Record, c Compression) []byte {
	t.Helper()
	h, size := sizeBatch(plainHeader(base), recs)
	if c == CompressionNone {
		return encodeBatch(nil, h, size, recs)
	}
	b, _, err := encodeCompressed(nil, h, recs, contiguous, c, nil)
	require.NoError(t, err)
	return b
}

// sampleRecords is a batch's worth of records with every field used: keys, nil and empty
// values, repeated and nil-valued headers, and a value long enough to compress.
func sampleRecords() []Record {
	return []Record{
		{Timestamp: ms(1000), Key: []byte("order-1"), Value: bytes.Repeat([]byte(`{"status":"paid"}`), 20),
			Headers: []Header{{Key: "trace", Value: []byte("a")}, {Key: "trace", Value: nil}}},
		{Timestamp: ms(1003), Key: nil, Value: []byte{}},
		{Timestamp: ms(999), Key: []byte("order-1"), Value: nil},
	}
}

// Every codec Kafka defines round-trips: the batch passes its CRC without decompressing, and
// its records decode to what was encoded (K10: the compression codec is in attributes bits
// 0-2, and a compressed batch holds its records as one compressed blob).
func TestBatch_K10_EveryCodecRoundTrips(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			recs := sampleRecords()
			b := compressedBatch(t, 40, recs, c)
			h, err := checkBatch(b)
			require.NoError(t, err)
			assert.Equal(t, c, Compression(h.Attributes&attrCompressionMask))
			assert.Equal(t, int32(3), h.NumRecords)
			assert.Equal(t, int32(2), h.LastOffsetDelta)
			assert.Equal(t, int64(1003), h.MaxTimestamp)
			got, err := decodeRecords(nil, b)
			require.NoError(t, err)
			for i := range recs {
				recs[i].Offset = 40 + int64(i)
			}
			requireSameRecords(t, recs, got, false)
		})
	}
	// Reference: SEMANTICS.md K10 (DefaultRecordBatch: attributes, compressed records)
}

// Snappy comes in two framings: raw blocks (franz-go, librdkafka) and the xerial framing of
// Kafka's Java client. Both decode.
func TestBatch_K10_SnappyInXerialFramingDecodes(t *testing.T) {
	recs := sampleRecords()
	h, _ := sizeBatch(plainHeader(0), recs)
	raw := appendRecords(nil, h, recs, contiguous)
	h.Attributes = int16(CompressionSnappy)
	b := appendBatchHeader(nil, h)
	b = append(b, xerial.Encode(nil, raw)...)
	b = reseal(b)
	got, err := decodeRecords(nil, b)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, recs[0].Value, got[0].Value)
}

// Compressed data that does not decompress, an unknown codec, and data claiming more than
// maxDecompressedSize are corrupt batches, refused before anything large is allocated.
func TestBatch_CompressedGarbageIsCorrupt(t *testing.T) {
	h, _ := sizeBatch(plainHeader(0), sampleRecords())
	huge := binary.AppendUvarint(nil, maxDecompressedSize+1) // a snappy block's claimed length
	cases := map[string]struct {
		codec   int16
		payload []byte
	}{
		"gzip garbage":    {int16(CompressionGzip), []byte("not gzip at all")},
		"snappy garbage":  {int16(CompressionSnappy), []byte{0xff, 0xff, 0xff}},
		"snappy too big":  {int16(CompressionSnappy), append(huge, 0, 0, 0)},
		"xerial too big":  {int16(CompressionSnappy), append(append(append(bytes.Clone(xerialMagic), 0, 0, 0, 1, 0, 0, 0, 1), 0, 0, 0, byte(len(huge)+3)), append(huge, 0, 0, 0)...)},
		"lz4 garbage":     {int16(CompressionLZ4), []byte("\x04\x22\x4d\x18garbage")},
		"zstd garbage":    {int16(CompressionZstd), []byte("\x28\xb5\x2f\xfdgarbage")},
		"undefined codec": {5, []byte("whatever")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			hh := h
			hh.Attributes = tc.codec
			b := reseal(append(appendBatchHeader(nil, hh), tc.payload...))
			_, err := checkBatch(b)
			require.NoError(t, err, "the CRC covers the compressed bytes, whatever they are")
			recs, err := decodeRecords(nil, b)
			assert.ErrorIs(t, err, ErrCorruptBatch)
			assert.Empty(t, recs)
		})
	}
}

// BenchmarkBatch_Codec encodes and decodes a 16 KB batch of 128-byte JSON-like values (a
// producer's default batch.size) with each codec, and reports the compressed size.
func BenchmarkBatch_Codec(b *testing.B) {
	var recs []Record
	for i := range 16384 / 140 {
		v := fmt.Appendf(nil, `{"order":%d,"status":"paid","amount":%d,"currency":"EUR","note":"%s"}`, i, i*7, bytes.Repeat([]byte("x"), 40))
		recs = append(recs, Record{Timestamp: ms(int64(1_700_000_000_000 + i)), Key: fmt.Appendf(nil, "order-%d", i), Value: v})
	}
	for _, c := range allCodecs {
		b.Run(c.String()+"/encode", func(b *testing.B) {
			h, size := sizeBatch(plainHeader(0), recs)
			var dst, scratch []byte
			for b.Loop() {
				if c == CompressionNone {
					dst = encodeBatch(dst[:0], h, size, recs)
					continue
				}
				var err error
				if dst, scratch, err = encodeCompressed(dst[:0], h, recs, contiguous, c, scratch); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(size))
			b.ReportMetric(float64(len(dst)), "stored-bytes")
		})
		b.Run(c.String()+"/decode", func(b *testing.B) {
			batch := compressedBatch(b, 0, recs, c)
			var out []Record
			for b.Loop() {
				var err error
				if out, err = decodeRecords(out[:0], batch); err != nil {
					b.Fatal(err)
				}
			}
			_, size := sizeBatch(plainHeader(0), recs)
			b.SetBytes(int64(size))
		})
	}
}
