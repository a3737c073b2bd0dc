package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression is a RecordBatch's compression codec, as Kafka numbers them in the batch's
// attributes (compression.type). A compressed batch holds its records as one compressed blob
// after the 61-byte header; the header itself, and so offsets, timestamps and the CRC, are
// read without decompressing.
type Compression int8

// The codecs Kafka defines.
const (
	CompressionNone   Compression = 0
	CompressionGzip   Compression = 1
	CompressionSnappy Compression = 2
	CompressionLZ4    Compression = 3
	CompressionZstd   Compression = 4
)

// String returns the codec's name as Kafka's compression.type spells it.
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionGzip:
		return "gzip"
	case CompressionSnappy:
		return "snappy"
	case CompressionLZ4:
		return "lz4"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int8(c))
}

// validate refuses a codec Kafka does not define.
func (c Compression) validate() error {
	if c < CompressionNone || c > CompressionZstd {
		return fmt.Errorf("%w: compression codec %d", ErrInvalidConfig, c)
	}
	return nil
}

// maxDecompressedSize bounds what one batch's records may decompress to. Nothing in the
// protocol bounds it (max.message.bytes counts the compressed bytes), so without a cap a few
// kilobytes of hostile or damaged data could claim gigabytes; a batch that decompresses to
// more is refused as corrupt. It is far above what a producer's batch.size yields.
const maxDecompressedSize = 256 << 20

// Compressors and decompressors are reused across batches: a zstd encoder or decoder costs
// far more to build than to run, and both are safe for concurrent EncodeAll and DecodeAll.
// None of them starts a goroutine (concurrency 1) or holds anything between calls that a
// later call could see.
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(64<<10),
			zstd.WithZeroFrames(true))
		if err != nil {
			panic(err) // only for invalid options, which these are not
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(maxDecompressedSize))
		if err != nil {
			panic(err)
		}
		return d
	})
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	lz4Writers  = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
	gzipReaders sync.Pool // of *gzip.Reader, made by the first decompress that finds none
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
)

// compress appends src compressed with c to dst. The formats are the ones Kafka's clients
// write: a gzip member, raw snappy (every client also reads the xerial framing Kafka's Java
// client writes), an LZ4 frame, a zstd frame.
func compress(dst, src []byte, c Compression) ([]byte, error) {
	switch c {
	case CompressionGzip:
		w := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(w)
		buf := bytes.NewBuffer(dst)
		w.Reset(buf)
		if _, err := w.Write(src); err != nil {
			return dst, err
		}
		if err := w.Close(); err != nil {
			return dst, err
		}
		return buf.Bytes(), nil
	case CompressionSnappy:
		n := len(dst)
		dst = slices.Grow(dst, s2.MaxEncodedLen(len(src)))
		out := s2.EncodeSnappy(dst[n:cap(dst)], src)
		return dst[:n+len(out)], nil
	case CompressionLZ4:
		w := lz4Writers.Get().(*lz4.Writer)
		defer lz4Writers.Put(w)
		buf := bytes.NewBuffer(dst)
		w.Reset(buf)
		if _, err := w.Write(src); err != nil {
			return dst, err
		}
		if err := w.Close(); err != nil {
			return dst, err
		}
		w.Reset(nil) // the pooled writer must not keep the caller's buffer
		return buf.Bytes(), nil
	case CompressionZstd:
		return zstdEncoder().EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("tribus/log: compress with %v", c)
}

// errTooBig is what decompress wraps when a batch claims more than maxDecompressedSize.
var errTooBig = fmt.Errorf("decompresses to more than %d bytes", maxDecompressedSize)

// decompress returns src, compressed with c, decompressed into buf's backing array when it
// is large enough and into a new one otherwise (buf nil: always new). Every failure,
// including output beyond maxDecompressedSize, wraps ErrCorruptBatch.
func decompress(buf, src []byte, c Compression) ([]byte, error) {
	out, err := decompressRaw(buf[:0], src, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v records: %w", ErrCorruptBatch, c, err)
	}
	return out, nil
}

func decompressRaw(buf, src []byte, c Compression) ([]byte, error) {
	switch c {
	case CompressionGzip:
		r, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if r == nil {
			r, err = gzip.NewReader(bytes.NewReader(src))
		} else {
			err = r.Reset(bytes.NewReader(src))
		}
		if err != nil {
			return nil, err
		}
		defer gzipReaders.Put(r)
		// A gzip member ends with its uncompressed size (mod 2^32): a good first guess.
		hint := 0
		if len(src) >= 4 {
			hint = int(binary.LittleEndian.Uint32(src[len(src)-4:]))
		}
		return readCapped(buf, r, hint)
	case CompressionSnappy:
		return unsnappy(buf, src)
	case CompressionLZ4:
		r := lz4Readers.Get().(*lz4.Reader)
		defer lz4Readers.Put(r)
		r.Reset(bytes.NewReader(src))
		defer r.Reset(nil) // the pooled reader must not keep src
		return readCapped(buf, r, 4*len(src))
	case CompressionZstd:
		return zstdDecoder().DecodeAll(src, buf)
	}
	return nil, fmt.Errorf("unknown codec %d", int8(c))
}

// readCapped reads r to its end, refusing more than maxDecompressedSize bytes; hint is the
// expected size, which only sets the first allocation.
func readCapped(dst []byte, r io.Reader, hint int) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	buf.Grow(min(max(hint, 512), maxDecompressedSize) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(r, maxDecompressedSize+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxDecompressedSize {
		return nil, errTooBig
	}
	return buf.Bytes(), nil
}

// xerialMagic starts snappy data in the framing of Kafka's Java client (the xerial
// snappy-java library): the magic, two 4-byte version words, then blocks, each a 4-byte
// big-endian length and raw snappy data.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderLen = 16

// unsnappy decodes raw or xerial-framed snappy. The decoded length of every block is read
// from the block's own header first, so nothing is allocated for a claim over the cap.
func unsnappy(dst, src []byte) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		n, err := s2.DecodedLen(src)
		if err != nil {
			return nil, err
		}
		if n > maxDecompressedSize {
			return nil, errTooBig
		}
		return s2.Decode(slices.Grow(dst[:0], n)[:n], src)
	}
	if len(src) < xerialHeaderLen {
		return nil, errors.New("truncated xerial header")
	}
	var blocks [][]byte
	total := 0
	for rest := src[xerialHeaderLen:]; len(rest) > 0; {
		if len(rest) < 4 {
			return nil, errors.New("truncated xerial block length")
		}
		size := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(size) > uint64(len(rest)) {
			return nil, fmt.Errorf("xerial block of %d bytes in %d", size, len(rest))
		}
		block := rest[:size]
		rest = rest[size:]
		n, err := s2.DecodedLen(block)
		if err != nil {
			return nil, err
		}
		if total += n; total > maxDecompressedSize {
			return nil, errTooBig
		}
		blocks = append(blocks, block)
	}
	out := slices.Grow(dst[:0], total)
	for _, block := range blocks {
		dec, err := s2.Decode(out[len(out):cap(out)], block)
		if err != nil {
			return nil, err
		}
		out = out[:len(out)+len(dec)]
	}
	return out, nil
}
