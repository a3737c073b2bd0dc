package log

// batchCodec is how segments read Kafka RecordBatch v2 batches: every field a segment needs
// (size, offsets, max timestamp) is in the 61-byte header; validate also checks the CRC-32C.
var batchCodec = codec{
	headerLen: batchHeaderSize,
	header: func(b []byte) (batchInfo, error) {
		h, err := readBatchHeader(b)
		return infoOf(h), err
	},
	validate: func(b []byte) (batchInfo, error) {
		h, err := checkBatch(b)
		return infoOf(h), err
	},
	contiguous: true, // partition.write gives each batch the next offsets
}

func infoOf(h batchHeader) batchInfo {
	return batchInfo{Size: h.size(), BaseOffset: h.BaseOffset, LastOffset: h.BaseOffset + int64(h.LastOffsetDelta),
		MaxTimestamp: h.MaxTimestamp}
}
