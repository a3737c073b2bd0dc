package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/tribusmq/tribus/log/internal/segment"
)

// Kafka's range of record timestamps, in Unix milliseconds: [0, MaxInt64].
var (
	minTimestamp = time.UnixMilli(0)
	maxTimestamp = time.UnixMilli(math.MaxInt64)
)

// validTimestamp says whether ts lies in Kafka's range.
func validTimestamp(ts time.Time) bool { return !ts.Before(minTimestamp) && !ts.After(maxTimestamp) }

// Record is one Kafka record (K9). Key and Value may be nil, which is distinct from empty (a
// nil Value with a key is a tombstone, K36). Headers keep their order and may repeat keys; a
// header value may be nil.
type Record struct {
	// Offset is the record's position in its partition (K3).
	Offset int64
	// Timestamp is stored with millisecond precision: finer parts are dropped on disk. The
	// log sets it (K11) before encoding; a zero Time would be stored as year 1.
	Timestamp time.Time
	Key       []byte
	Value     []byte
	Headers   []Header
	// Topic and Partition are filled in by the log when it returns records; the codec ignores
	// them.
	Topic     string
	Partition int32
}

// Header is one record header (K9). Kafka forbids a null header key, so Key is a plain string;
// Value may be nil, which is distinct from empty.
type Header struct {
	Key   string
	Value []byte
}

// batchHeader is the fixed 61-byte RecordBatch v2 header, field for field in on-disk order
// (K10). All fields are big-endian on disk.
type batchHeader struct {
	BaseOffset           int64  // offset of the first record; record offsets are deltas from it
	BatchLength          int32  // bytes after this field: the batch's size minus 12
	PartitionLeaderEpoch int32  // the leader epoch stamped by the broker on append
	Magic                int8   // always 2
	CRC                  uint32 // CRC-32C of everything from Attributes to the end
	Attributes           int16  // see the attr* bits
	LastOffsetDelta      int32  // offset delta of the last offset the batch covers
	BaseTimestamp        int64  // first record's timestamp, or the delete horizon (attrDeleteHorizon)
	MaxTimestamp         int64  // largest record timestamp, or the append time (attrLogAppendTime)
	ProducerID           int64  // -1 if none
	ProducerEpoch        int16  // -1 if none
	BaseSequence         int32  // -1 if none
	NumRecords           int32  // number of records that follow
}

// Sizes and positions in the RecordBatch v2 layout (K10).
const (
	// batchHeaderSize is the size of the fixed header, which the records follow.
	batchHeaderSize = 61
	// batchLogOverhead is BaseOffset plus BatchLength: the bytes BatchLength does not count.
	batchLogOverhead = 12
	// batchMinLength is the BatchLength of a batch with no records.
	batchMinLength = batchHeaderSize - batchLogOverhead
	// batchMaxLength bounds BatchLength. Kafka allows 2 GiB, but a bigger claim is likelier
	// garbage than a batch, and the bound keeps a corrupt length from making recovery read
	// or allocate gigabytes. It is far above max.message.bytes' default (1 MiB).
	batchMaxLength = 64 << 20
	// batchMagic is the only message format version this codec reads or writes.
	batchMagic = 2
	// batchCRCOffset locates the CRC field, batchAttributesOffset the region it covers.
	batchCRCOffset        = 17
	batchAttributesOffset = 21
	// recordMinSize is the smallest record: a one-byte length and six one-byte fields. It
	// bounds NumRecords by the bytes present before anything is allocated for them.
	recordMinSize = 7
	// headerMinSize is the smallest encoded header: an empty key and a null value.
	headerMinSize = 2
)

// Attribute bits of batchHeader.Attributes (K10).
const (
	attrCompressionMask int16 = 0x07 // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
	attrLogAppendTime   int16 = 0x08 // timestampType: 0 CreateTime, 1 LogAppendTime (K11)
	attrTransactional   int16 = 0x10 // written by a transactional producer (K42)
	attrControl         int16 = 0x20 // holds a commit or abort marker (K42)
	attrDeleteHorizon   int16 = 0x40 // BaseTimestamp is the delete horizon (KIP-534)
)

// batchCRCTable is the Castagnoli table Kafka uses for CRC-32C (Crc32C.java). crc32 uses the
// CPU's CRC32 instruction for this polynomial where it has one.
var batchCRCTable = crc32.MakeTable(crc32.Castagnoli)

// size returns the total size of the batch h heads: 12 + BatchLength.
func (h batchHeader) size() int { return batchLogOverhead + int(h.BatchLength) }

// appendBatch appends a batch of recs to dst, like append, growing dst at most once.
//
// It copies BaseOffset, PartitionLeaderEpoch, Attributes, ProducerID, ProducerEpoch and
// BaseSequence from h: -1 for the producer fields without an idempotent producer, and 0 for
// the epoch (a broker stamps its leader epoch on append and an in-process log has one leader
// forever; Kafka's producers write -1). BaseOffset and, for an empty batch, LastOffsetDelta
// must not be negative. It fills in Magic, BatchLength, CRC and NumRecords, and clears the
// compression bits: records are written uncompressed (encodeCompressed writes them compressed).
//
// Record i gets offset delta i (recs[i].Offset is ignored). Timestamps are deltas from
// BaseTimestamp: the first record's, or h's under attrDeleteHorizon. MaxTimestamp is the
// largest record timestamp, or h's (the broker's clock, K11) under attrLogAppendTime. An empty
// batch keeps h's LastOffsetDelta and timestamps, as Kafka's compaction does to keep producer
// state.
//
// It panics past batchMaxLength, which readBatchHeader would refuse and recovery truncate
// away: a caller whose records come from users sizes the batch first with sizeBatch, refuses
// it over max.message.bytes (ErrRecordTooLarge, which config validation keeps within
// batchMaxLength) and encodes it with encodeBatch.
func appendBatch(dst []byte, h batchHeader, recs []Record) []byte {
	h, size := sizeBatch(h, recs)
	return encodeBatch(dst, h, size, recs)
}

// appendCleanedBatch appends what compaction keeps of a batch with header h: recs keep their
// own offsets (offset deltas from h.BaseOffset, with gaps where records were removed) and the
// batch keeps h's LastOffsetDelta, so that the offsets after it stay where they were, as
// Kafka's cleaner writes them. Everything else is appendBatch's, except that a compressed
// original is written compressed again with its own codec, as Kafka's cleaner does.
func appendCleanedBatch(dst []byte, h batchHeader, recs []Record) ([]byte, error) {
	c := Compression(h.Attributes & attrCompressionMask)
	h, size := sizeBatchAs(h, recs, ownOffsets)
	if c == CompressionNone || len(recs) == 0 {
		return encodeBatchAs(dst, h, size, recs, ownOffsets), nil
	}
	out, _, err := encodeCompressed(dst, h, recs, ownOffsets, c, nil)
	return out, err
}

// offsetDeltas says where a batch's records' offset deltas come from.
type offsetDeltas bool

const (
	contiguous offsetDeltas = false // record i has delta i: a batch being appended
	ownOffsets offsetDeltas = true  // each record's Offset less the base: a cleaned batch
)

// delta is record i's offset delta in a batch based at base.
func (d offsetDeltas) delta(r *Record, i int, base int64) int64 {
	if d == ownOffsets {
		return r.Offset - base
	}
	return int64(i)
}

// sizeBatch returns h with the fields appendBatch fills in from recs set, all but BatchLength
// and CRC, and the size in bytes of the whole batch encoded. It allocates nothing.
func sizeBatch(h batchHeader, recs []Record) (batchHeader, int) {
	return sizeBatchAs(h, recs, contiguous)
}

// sizeBatchAs is sizeBatch with the offset deltas of d.
func sizeBatchAs(h batchHeader, recs []Record, d offsetDeltas) (batchHeader, int) {
	h.Magic = batchMagic
	h.Attributes &^= attrCompressionMask
	h.NumRecords = int32(len(recs))
	if len(recs) > 0 {
		if d == contiguous {
			h.LastOffsetDelta = int32(len(recs) - 1)
		}
		first := recs[0].Timestamp.UnixMilli()
		maxTS := first
		for i := 1; i < len(recs); i++ {
			maxTS = max(maxTS, recs[i].Timestamp.UnixMilli())
		}
		if h.Attributes&attrDeleteHorizon == 0 {
			h.BaseTimestamp = first
		}
		if h.Attributes&attrLogAppendTime == 0 {
			h.MaxTimestamp = maxTS
		}
	}

	// Size everything first so dst grows once and the length prefixes are known up front.
	size := batchHeaderSize
	for i := range recs {
		body := recordBodySize(&recs[i], d.delta(&recs[i], i, h.BaseOffset), recs[i].Timestamp.UnixMilli()-h.BaseTimestamp)
		size += varintSize(int64(body)) + body
	}
	return h, size
}

// encodeBatch is appendBatch for h and size as sizeBatch returned them.
func encodeBatch(dst []byte, h batchHeader, size int, recs []Record) []byte {
	return encodeBatchAs(dst, h, size, recs, contiguous)
}

// encodeBatchAs is encodeBatch with the offset deltas of d, for h and size as sizeBatchAs
// returned them.
func encodeBatchAs(dst []byte, h batchHeader, size int, recs []Record, d offsetDeltas) []byte {
	if size-batchLogOverhead > batchMaxLength {
		panic(fmt.Sprintf("tribus/log: record batch of %d bytes exceeds the %d-byte limit", size, batchLogOverhead+batchMaxLength))
	}
	h.BatchLength = int32(size - batchLogOverhead)

	start := len(dst)
	dst = slices.Grow(dst, size)
	dst = appendBatchHeader(dst, h)
	dst = appendRecords(dst, h, recs, d)
	crc := crc32.Checksum(dst[start+batchAttributesOffset:], batchCRCTable)
	binary.BigEndian.PutUint32(dst[start+batchCRCOffset:], crc)
	return dst
}

// appendRecords appends the records of a batch with header h, each behind its length.
func appendRecords(dst []byte, h batchHeader, recs []Record, d offsetDeltas) []byte {
	for i := range recs {
		r := &recs[i]
		offDelta, tsDelta := d.delta(r, i, h.BaseOffset), r.Timestamp.UnixMilli()-h.BaseTimestamp
		dst = binary.AppendVarint(dst, int64(recordBodySize(r, offDelta, tsDelta)))
		dst = appendRecordBody(dst, r, offDelta, tsDelta)
	}
	return dst
}

// encodeCompressed is encodeBatchAs for records compressed with c, for h as sizeBatchAs
// returned it: the records are encoded into scratch (returned, grown, for the caller to reuse)
// and compressed after the header, whose compression bits it sets. A batch that compresses
// beyond batchMaxLength is ErrRecordTooLarge, and dst comes back as it was.
func encodeCompressed(dst []byte, h batchHeader, recs []Record, d offsetDeltas, c Compression,
	scratch []byte) (_, _ []byte, err error) {
	raw := appendRecords(scratch[:0], h, recs, d)
	h.Attributes = h.Attributes&^attrCompressionMask | int16(c)
	start := len(dst)
	dst = appendBatchHeader(dst, h) // BatchLength and CRC are set once the size is known
	if dst, err = compress(dst, raw, c); err != nil {
		return dst[:start], raw, err
	}
	n := len(dst) - start
	if n-batchLogOverhead > batchMaxLength {
		return dst[:start], raw, fmt.Errorf("%w: a batch compressed to %d bytes", ErrRecordTooLarge, n)
	}
	binary.BigEndian.PutUint32(dst[start+8:], uint32(n-batchLogOverhead))
	crc := crc32.Checksum(dst[start+batchAttributesOffset:], batchCRCTable)
	binary.BigEndian.PutUint32(dst[start+batchCRCOffset:], crc)
	return dst, raw, nil
}

// appendBatchHeader appends the 61 header bytes of h, in K10 order.
func appendBatchHeader(dst []byte, h batchHeader) []byte {
	be := binary.BigEndian
	dst = be.AppendUint64(dst, uint64(h.BaseOffset))
	dst = be.AppendUint32(dst, uint32(h.BatchLength))
	dst = be.AppendUint32(dst, uint32(h.PartitionLeaderEpoch))
	dst = append(dst, byte(h.Magic))
	dst = be.AppendUint32(dst, h.CRC)
	dst = be.AppendUint16(dst, uint16(h.Attributes))
	dst = be.AppendUint32(dst, uint32(h.LastOffsetDelta))
	dst = be.AppendUint64(dst, uint64(h.BaseTimestamp))
	dst = be.AppendUint64(dst, uint64(h.MaxTimestamp))
	dst = be.AppendUint64(dst, uint64(h.ProducerID))
	dst = be.AppendUint16(dst, uint16(h.ProducerEpoch))
	dst = be.AppendUint32(dst, uint32(h.BaseSequence))
	dst = be.AppendUint32(dst, uint32(h.NumRecords))
	return dst
}

// recordBodySize is the encoded size of r after its length prefix, which Kafka's length
// field counts (DefaultRecord.sizeInBytes).
func recordBodySize(r *Record, offsetDelta, tsDelta int64) int {
	n := 1 + varintSize(tsDelta) + varintSize(offsetDelta) + nullableBytesSize(r.Key) + nullableBytesSize(r.Value)
	n += varintSize(int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		n += varintSize(int64(len(h.Key))) + len(h.Key) + nullableBytesSize(h.Value)
	}
	return n
}

// appendRecordBody appends r's fields after the length prefix (DefaultRecord.writeTo).
func appendRecordBody(dst []byte, r *Record, offsetDelta, tsDelta int64) []byte {
	dst = append(dst, 0) // record attributes: unused by Kafka, always 0
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, offsetDelta)
	dst = appendNullableBytes(dst, r.Key)
	dst = appendNullableBytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendNullableBytes(dst, h.Value)
	}
	return dst
}

// appendNullableBytes appends a varint length and b, with length -1 for nil, as Kafka does for
// keys, values and header values.
func appendNullableBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// nullableBytesSize is the size appendNullableBytes writes for b.
func nullableBytesSize(b []byte) int {
	if b == nil {
		return 1
	}
	return varintSize(int64(len(b))) + len(b)
}

// varintSize is the length of v as a zig-zag varint. Kafka's varint (int32) and varlong
// (int64) encode every int32 value identically, so one function serves both.
func varintSize(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63) // zig-zag
	return (bits.Len64(u|1) + 6) / 7  // 7 bits a byte, and 0 still takes one
}

// readBatchHeader parses and sanity-checks the header of the batch at the start of b. It needs
// only the first 61 bytes, so a reader can learn a batch's size before reading the rest; it
// does not check the CRC (see checkBatch).
//
// Beyond Kafka's own checks (magic 2, BatchLength covering the header) it rejects what no
// writer of this log produces and what would make later arithmetic unsafe: BatchLength above
// batchMaxLength, a negative BaseOffset or LastOffsetDelta, an offset range past MaxInt64, and
// more records than the offset range, or the bytes of an uncompressed batch, could hold.
func readBatchHeader(b []byte) (batchHeader, error) {
	var h batchHeader
	if len(b) < batchHeaderSize {
		return h, fmt.Errorf("%w: %d bytes, a batch header needs %d", ErrCorruptBatch, len(b), batchHeaderSize)
	}
	be := binary.BigEndian
	h.BaseOffset = int64(be.Uint64(b[0:]))
	h.BatchLength = int32(be.Uint32(b[8:]))
	h.PartitionLeaderEpoch = int32(be.Uint32(b[12:]))
	h.Magic = int8(b[16])
	h.CRC = be.Uint32(b[17:])
	h.Attributes = int16(be.Uint16(b[21:]))
	h.LastOffsetDelta = int32(be.Uint32(b[23:]))
	h.BaseTimestamp = int64(be.Uint64(b[27:]))
	h.MaxTimestamp = int64(be.Uint64(b[35:]))
	h.ProducerID = int64(be.Uint64(b[43:]))
	h.ProducerEpoch = int16(be.Uint16(b[51:]))
	h.BaseSequence = int32(be.Uint32(b[53:]))
	h.NumRecords = int32(be.Uint32(b[57:]))

	switch {
	case h.Magic != batchMagic:
		return h, fmt.Errorf("%w: magic %d, want %d", ErrCorruptBatch, h.Magic, batchMagic)
	case h.BatchLength < batchMinLength || h.BatchLength > batchMaxLength:
		return h, fmt.Errorf("%w: batch length %d outside [%d, %d]", ErrCorruptBatch, h.BatchLength, batchMinLength, batchMaxLength)
	case h.BaseOffset < 0 || h.LastOffsetDelta < 0 || h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta):
		return h, fmt.Errorf("%w: base offset %d, last offset delta %d", ErrCorruptBatch, h.BaseOffset, h.LastOffsetDelta)
	case h.NumRecords < 0 || int64(h.NumRecords) > int64(h.LastOffsetDelta)+1:
		return h, fmt.Errorf("%w: %d records in %d offsets", ErrCorruptBatch, h.NumRecords, int64(h.LastOffsetDelta)+1)
	case h.Attributes&attrCompressionMask == 0 && int(h.NumRecords) > (int(h.BatchLength)-batchMinLength)/recordMinSize:
		return h, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorruptBatch, h.NumRecords, int(h.BatchLength)-batchMinLength)
	}
	return h, nil
}

// batchSize returns 12 + BatchLength: the total size of the batch at the start of b, whose
// header readBatchHeader has accepted. It returns 0 if b is shorter than the 12 bytes it reads.
func batchSize(b []byte) int {
	if len(b) < batchLogOverhead {
		return 0
	}
	return batchLogOverhead + int(int32(binary.BigEndian.Uint32(b[8:])))
}

// checkBatch verifies that b starts with a whole batch whose header is sane and whose CRC-32C
// matches, and returns its header; bytes after the batch are ignored. Recovery walks a segment
// with it and truncates at the first batch it refuses (a torn tail). Like Kafka's
// DefaultRecordBatch.ensureValid it does not parse the records: decodeRecords does.
func checkBatch(b []byte) (batchHeader, error) {
	h, err := readBatchHeader(b)
	if err != nil {
		return h, err
	}
	n := h.size()
	if len(b) < n {
		return h, fmt.Errorf("%w: truncated: %d of %d bytes", ErrCorruptBatch, len(b), n)
	}
	if crc := crc32.Checksum(b[batchAttributesOffset:n], batchCRCTable); crc != h.CRC {
		return h, fmt.Errorf("%w: CRC %#08x, header says %#08x", ErrCorruptBatch, crc, h.CRC)
	}
	return h, nil
}

// decodeRecords decodes the records of the batch at the start of b, appending them to dst with
// absolute offsets (BaseOffset + offset delta) and timestamps (BaseTimestamp + timestamp delta,
// or MaxTimestamp for every record under LogAppendTime, as Kafka's consumers see them). It does
// not check the CRC: callers pass batches checkBatch accepted once, on write or at recovery.
//
// Key, Value and header Values alias b, capped so that appending to them cannot write into b;
// the caller copies them if b will be reused or changed. Header keys are copied into strings
// (shared when the next record repeats them). Timestamps are local, like time.UnixMilli's.
// Beyond growing dst, only those strings and a few header arrays are allocated.
//
// A compressed batch's records are decompressed first (into a new buffer, which they then
// alias; decodeRecordsIn can reuse one); a codec Kafka does not define, data that does not
// decompress, or records that decompress to more than maxDecompressedSize are corrupt.
//
// It is stricter than Kafka's reader, which pays off in a log that checks what it stores: it
// refuses non-zero record attributes, varints not in their shortest form, offset deltas that
// do not strictly increase within [0, LastOffsetDelta], and records or bytes beyond the
// counts the header and length prefixes give. Offset deltas need not be consecutive, so a
// compacted batch with gaps decodes. On error dst comes back at its old length.
func decodeRecords(dst []Record, b []byte) ([]Record, error) {
	return decodeRecordsIn(dst, b, nil)
}

// decodeRecordsIn is decodeRecords decompressing into *scratch's backing array when it is
// large enough (scratch nil: a new buffer), and leaving in *scratch the buffer it used, so
// that a caller done with the records can reuse it for the next batch.
func decodeRecordsIn(dst []Record, b []byte, scratch *[]byte) ([]Record, error) {
	h, err := readBatchHeader(b)
	if err != nil {
		return dst, err
	}
	end := h.size()
	if len(b) < end {
		return dst, fmt.Errorf("%w: truncated: %d of %d bytes", ErrCorruptBatch, len(b), end)
	}
	recs := b[batchHeaderSize:end]
	if codec := Compression(h.Attributes & attrCompressionMask); codec != CompressionNone {
		if codec.validate() != nil {
			return dst, fmt.Errorf("%w: compression codec %d", ErrCorruptBatch, codec)
		}
		var buf []byte
		if scratch != nil {
			buf = *scratch
		}
		if recs, err = decompress(buf, recs, codec); err != nil {
			return dst, err
		}
		if scratch != nil {
			*scratch = recs
		}
		if int(h.NumRecords) > len(recs)/recordMinSize {
			return dst, fmt.Errorf("%w: %d records cannot fit in %d decompressed bytes", ErrCorruptBatch, h.NumRecords, len(recs))
		}
	}

	// NumRecords is bounded by the bytes present, so this cannot be made huge.
	base := len(dst)
	dst = slices.Grow(dst, int(h.NumRecords))
	c := batchCursor{b: recs}
	var arena []Header // backing array shared by the batch's headers
	var ts tsCache
	prevDelta := int64(-1)
	for i := range int(h.NumRecords) {
		// Parse each record within its own length, as Kafka does, so that it can neither
		// read into the next one nor leave bytes unread.
		body, err := c.sized()
		if err != nil {
			return dst[:base], fmt.Errorf("%w: record %d length: %w", ErrCorruptBatch, i, err)
		}
		// Decode in place: a Record is 128 bytes, not worth copying once more.
		dst = append(dst, Record{})
		r := &dst[len(dst)-1]
		rc := batchCursor{b: body}
		if err := rc.record(r, &h, prevDelta, dst[base:len(dst)-1], &arena, len(recs)-c.off, &ts); err != nil {
			return dst[:base], fmt.Errorf("%w: record %d: %w", ErrCorruptBatch, i, err)
		}
		prevDelta = r.Offset - h.BaseOffset
	}
	if c.off != len(recs) {
		return dst[:base], fmt.Errorf("%w: %d bytes after the last of %d records", ErrCorruptBatch, len(recs)-c.off, h.NumRecords)
	}
	return dst, nil
}

// batchCursor reads Kafka's record encoding from b, starting at off; every read is bounded by
// len(b), so corrupt input yields an error, never a panic or an oversized allocation. Its
// errors describe the fault only: decodeRecords wraps them in ErrCorruptBatch with the record
// number.
type batchCursor struct {
	b   []byte
	off int
}

// record parses into r one record body (everything after its length), which must fill c.b
// exactly. ts converts its timestamp. prevDelta is the previous record's offset delta (-1 before the first); done holds
// the batch's records so far, whose header key strings are reused. Headers are carved from
// *arena, which is grown when short, by at most what restBytes (the batch bytes after this
// record) could still need, so it never outgrows the input.
func (c *batchCursor) record(r *Record, h *batchHeader, prevDelta int64, done []Record, arena *[]Header, restBytes int, ts *tsCache) error {
	if len(c.b) == 0 || c.b[0] != 0 {
		return fmt.Errorf("record attributes %x, want 00", c.b[:min(1, len(c.b))])
	}
	c.off++
	tsDelta, err := c.varint(math.MinInt64, math.MaxInt64)
	if err != nil {
		return fmt.Errorf("timestamp delta: %w", err)
	}
	offDelta, err := c.varint(math.MinInt32, math.MaxInt32)
	if err != nil {
		return fmt.Errorf("offset delta: %w", err)
	}
	if offDelta <= prevDelta || offDelta > int64(h.LastOffsetDelta) {
		return fmt.Errorf("offset delta %d after %d, last offset delta %d", offDelta, prevDelta, h.LastOffsetDelta)
	}
	if r.Key, err = c.nullableBytes(); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if r.Value, err = c.nullableBytes(); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	count, err := c.varint(math.MinInt32, math.MaxInt32)
	if err != nil {
		return fmt.Errorf("header count: %w", err)
	}
	if count < 0 || count > int64((len(c.b)-c.off)/headerMinSize) {
		return fmt.Errorf("header count %d with %d bytes left", count, len(c.b)-c.off)
	}
	if n := int(count); n > 0 {
		a := *arena
		if cap(a)-len(a) < n {
			a = make([]Header, 0, min(max(n, 2*cap(a), 8), n+restBytes/headerMinSize))
		}
		var prev []Header
		if len(done) > 0 {
			prev = done[len(done)-1].Headers
		}
		start := len(a)
		for j := range n {
			kb, err := c.sized() // a null key (-1) fails, as in Kafka
			if err != nil {
				return fmt.Errorf("header %d key: %w", j, err)
			}
			var hk string
			if j < len(prev) && prev[j].Key == string(kb) {
				// Records of a batch usually carry the same header keys in the same order:
				// sharing the previous record's string saves an allocation per header.
				hk = prev[j].Key
			} else {
				hk = string(kb)
			}
			hv, err := c.nullableBytes()
			if err != nil {
				return fmt.Errorf("header %d value: %w", j, err)
			}
			a = append(a, Header{Key: hk, Value: hv})
		}
		r.Headers = a[start:len(a):len(a)]
		*arena = a
	}
	if c.off != len(c.b) {
		return fmt.Errorf("%d bytes left in record after its headers", len(c.b)-c.off)
	}
	ms := h.MaxTimestamp
	if h.Attributes&attrLogAppendTime == 0 {
		ms = h.BaseTimestamp + tsDelta // wraps like Java's long addition, so encoding round-trips
	}
	r.Offset = h.BaseOffset + offDelta
	r.Timestamp = ts.at(ms)
	return nil
}

// tsCache converts millisecond timestamps to time.Time, reusing the last conversion: the
// records of a batch mostly share their millisecond.
type tsCache struct {
	ms    int64
	t     time.Time
	valid bool
}

func (c *tsCache) at(ms int64) time.Time {
	if !c.valid || c.ms != ms {
		c.ms, c.t, c.valid = ms, time.UnixMilli(ms), true
	}
	return c.t
}

// varint reads a zig-zag varint in [lo, hi]: Kafka's varint for int32 bounds, varlong for
// int64. It refuses encodings longer than needed, which Kafka's writer never produces and
// which would break the decode-encode round trip.
func (c *batchCursor) varint(lo, hi int64) (int64, error) {
	// Most lengths, deltas and counts fit one byte (-64..63), within every caller's bounds.
	if c.off < len(c.b) && c.b[c.off] < 0x80 {
		u := c.b[c.off]
		c.off++
		return int64(u>>1) ^ -int64(u&1), nil
	}
	u, n := binary.Uvarint(c.b[c.off:])
	switch {
	case n == 0:
		return 0, errors.New("varint runs past the end")
	case n < 0:
		return 0, errors.New("varint overflows 64 bits")
	case n > 1 && c.b[c.off+n-1] == 0:
		return 0, errors.New("varint not in shortest form")
	}
	v := int64(u>>1) ^ -int64(u&1)
	if v < lo || v > hi {
		return 0, fmt.Errorf("varint %d outside [%d, %d]", v, lo, hi)
	}
	c.off += n
	return v, nil
}

// nullableBytes reads a varint length and that many bytes, like sized, but length -1 is nil.
func (c *batchCursor) nullableBytes() ([]byte, error) {
	if c.off < len(c.b) && c.b[c.off] == 1 { // zig-zag -1
		c.off++
		return nil, nil
	}
	return c.sized()
}

// sized reads a varint length and that many bytes. The result aliases c.b with its capacity
// capped at its length, so appending to it cannot overwrite what follows.
func (c *batchCursor) sized() ([]byte, error) {
	n, err := c.varint(math.MinInt32, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(c.b)-c.off) {
		return nil, fmt.Errorf("length %d with %d bytes left", n, len(c.b)-c.off)
	}
	v := c.b[c.off : c.off+int(n) : c.off+int(n)]
	c.off += int(n)
	return v, nil
}

// batchCodec is how segments read Kafka RecordBatch v2 batches: every field a segment needs
// (size, offsets, max timestamp) is in the 61-byte header; validate also checks the CRC-32C.
var batchCodec = segment.Codec{
	HeaderLen: batchHeaderSize,
	Header: func(b []byte) (segment.BatchInfo, error) {
		h, err := readBatchHeader(b)
		return infoOf(h), err
	},
	Validate: func(b []byte) (segment.BatchInfo, error) {
		h, err := checkBatch(b)
		return infoOf(h), err
	},
	Contiguous: true, // partition.write gives each batch the next offsets
}

func infoOf(h batchHeader) segment.BatchInfo {
	return segment.BatchInfo{Size: h.size(), BaseOffset: h.BaseOffset, LastOffset: h.BaseOffset + int64(h.LastOffsetDelta),
		MaxTimestamp: h.MaxTimestamp}
}
