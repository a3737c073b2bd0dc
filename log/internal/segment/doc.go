// Package segment is a partition's storage: segments of whole batches, each a .log with a
// sparse .index and .timeindex as Kafka lays them out, their recovery after a crash, and reads
// by offset and timestamp. Batches are opaque bytes here; the partition injects a [Codec]
// that reads their headers and checksums (the log's RecordBatch v2). Files go through
// log/internal/segfs, so the same code runs on disk and in memory.
//
// # Concurrency
//
// A [Segment] has one writer (its partition: Append, AppendAll, Sync, SyncData, Roll, Close,
// Remove) and any number of concurrent readers (Read, FindByTimestamp and the accessors). The
// writer changes the segment's size, next offset, timestamps and index entries under
// Segment.mu; the bytes of the .log below its size never change while it is open, so a reader
// copies what it needs under mu and reads the file without it. SyncData touches only the .log
// and may run beside the writer. A read or SyncData of a closed segment returns [ErrClosed].
//
// # Time
//
// A segment keeps no timers; the creation time comes from the caller (Create) or the clock
// at Open, as Kafka resets it on load.
//
// # Caveats
//
//   - Index entries reach their files when the segment is synced, rolled or closed, after the
//     .log bytes they point at, so recovery trusts an index entry on disk and re-validates
//     only the tail after the last one.
//   - Only the active segment is recovered; a sealed segment whose files disagree has its
//     indexes rebuilt from the .log's headers, and one whose .log lost its end is refused with
//     [ErrCorrupt].
package segment
