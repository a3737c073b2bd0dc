// Package segfs is the file layer under a Log's segments: append-only files with positional
// reads, on the operating system's file system or in memory, behind one interface so that
// the same segment code runs on both and tests can wrap either to inject faults.
//
// # Concurrency
//
// A File has one writer (its segment, which serialises appends, truncations and syncs) and
// any number of concurrent readers of bytes below the size they were told about. An FS is
// safe for concurrent use: the in-memory one guards its map of files with one lock, and each
// file's bytes with another.
package segfs
