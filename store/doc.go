// Package store is the durable state of a tribus broker: bbolt behind a small API. Engines keep
// declarations, durable messages and committed offsets here. An in-memory broker uses the
// memory backend of the same API, which never touches disk.
//
// # Basics
//
// [Open] opens (or creates) a bbolt file; [OpenMemory] returns a store with no file. Both start
// with one top-level bucket per engine ([BucketExchange], [BucketLog], [BucketPubSub]) plus
// [BucketMeta], which holds the schema version under [SchemaKey]. A file whose version is not
// [SchemaVersion] is refused with [ErrSchemaVersion].
//
// All access goes through transactions: [Store.Update] for writes, [Store.View] for reads.
// Buckets are addressed by a path of names, tx.Bucket("exchange", "queues", "q1"); inside a
// bucket, keys are ordered by their bytes, so [Bucket.ForEach] and [Bucket.Seek] walk them in
// ascending order. Encode numbers big-endian to make byte order numeric order.
//
// # Concurrency
//
// A [Store] is safe for concurrent use; a [Tx] and its [Bucket] values are not, and live only
// while the function they were handed to runs.
//
// On the bbolt backend the committer goroutine, started by Open and ended by Close, owns the
// bbolt read-write transaction: it is the only goroutine that writes. Update queues its
// function and waits; each round the committer takes every function queued so far (at most
// [Options.MaxBatch]), runs them one after another in one transaction, commits once and answers
// every caller. Meanwhile new calls queue for the next round, so a lone writer pays exactly one
// commit and never waits for a batch window, while many writers share each fsync. View runs in
// the caller's goroutine on a read-only snapshot, concurrently with other Views and with commits,
// except while the committer holds rounds not yet checkpointed (see Durability): then a View
// borrows the committer's transaction between two rounds, so it sees every answered Update.
//
// On the memory backend there is no goroutine: Update runs its function in the caller's
// goroutine holding the store's write lock, and View holds its read lock, so a View sees either
// all of an Update or none of it.
//
// Functions given to Update or View must not wait on the same Store, and such a call is caught
// on both backends: Update, the wait function of Submit, View and Close called from inside a
// function given to Update, Submit or View of the same store return [ErrNestedTx] at once and
// change nothing, so neither the outer call nor a later Close hangs. On the bbolt backend a
// function given to Update runs on the committer goroutine, which the nested call recognises by
// goroutine id; everywhere else the function runs in the caller's goroutine, below a few stack
// frames that spell the store's number, and a call that finds the store busy reads its own
// stack for them (see nested.go), so the check costs nothing while the store is free. Submit
// itself may be called inside an Update on the bbolt backend (it does not wait); its function
// commits in a later round. On the memory backend Submit runs its function at once, so there it
// is refused like Update. One case is not caught: a function that hands the nested call to
// another goroutine and waits for it.
//
// # Durability
//
// When Update returns nil on the bbolt backend, its writes are durable: it survives a process
// crash and power loss. A bbolt commit flushes twice (data pages, then the meta page), so rounds
// are not committed to bbolt one by one. Each round's writes are appended as one checksummed
// record to a journal beside the file (its path plus [JournalSuffix]) and flushed with one fsync;
// that is the commit point. The bbolt transaction stays open across rounds and is committed
// every [Options.CheckpointBytes] of journal or [Options.CheckpointInterval], and at Close (a
// checkpoint), after which the journal is emptied and the committer reads once, through
// bbolt's memory map, each page the checkpoint added to the file, so that the first access to
// a new page (costly on a virtual machine) is not left to a reader. Open applies the journal
// records the file does not hold yet, so the file is only ever changed by complete, fsynced
// bbolt commits, and a crash between checkpoints loses nothing that was answered. A journal
// record cut short by a crash (a torn tail: nothing valid after it) was never answered and is
// dropped; any other damage makes Open fail (see # Caveats, recovery).
//
// With [Options.NoSync] the fsyncs are skipped; a process crash still loses nothing, but an
// operating-system crash or power loss can lose transactions Update reported as committed, and
// can corrupt the file. When Update returns an error, nothing its function wrote is kept. The
// memory backend keeps nothing past Close.
//
// # Time
//
// The bbolt backend runs two timers: the checkpoint timer ([Options.CheckpointInterval]) and,
// with [Options.SyncInterval], the deferred journal flush. Open waits at most
// [Options.LockTimeout] for the file lock.
// Update blocks until its round commits; under load that is one commit's latency plus the
// round queued ahead of it, bounded by MaxBatch.
//
// # Caveats
//
// On the bbolt backend a function given to Update may run more than once: when another
// function in its round fails or panics, the transaction is rolled back and the others run
// again in a new one. Such a function must depend only on tx, and any effect outside tx must be
// safe to repeat. A function sees the writes of those that ran before it in the same round,
// exactly as if the Update calls had run one after another.
//
// A slice returned by [Bucket.Get], or passed to a ForEach or Seek callback, belongs to the
// store and is valid only until the transaction ends; copy it to keep it. [Bucket.Put] copies
// its arguments.
//
// ForEach and Seek report values only; nested buckets are listed by [Bucket.ForEachBucket].
//
// # Limits
//
// A key or bucket name is 1 to [MaxKeySize] bytes; a value at most [MaxValueSize] (513 MiB: the
// largest message RabbitMQ accepts, 512 MiB, with room for its properties); one Update writes at
// most [MaxUpdateSize] (1 GiB of journal record). [BucketMeta] and its keys [SchemaKey] and the
// journal's sequence number belong to the store. Anything else is refused with a sentinel
// ([ErrInvalidKey], [ErrValueTooLarge], [ErrReserved], [ErrNilFunc]) before it is written or
// journaled, and the transaction goes on as if the call had not been made. Deleting a key that
// cannot exist is a no-op, as in bbolt.
//
// # Caveats, disk full and I/O errors
//
// A journal write that finds no space fails its Update with [ErrDiskFull] (wrapping the ENOSPC
// or EDQUOT, as does tribus.ErrDiskFull); nothing of it is kept and later Updates are tried as
// usual, so that acknowledgements and deletes can free space. A checkpoint that finds no space
// is retried at the next one; the rounds stay in the journal meanwhile, and Close reports it.
// [Options.DiskFreeLimit] does not refuse the store's own writes: callers that add data ask
// [Store.ReserveSpace] first, as RabbitMQ blocks publishers under its disk_free_limit.
//
// Any other I/O error, and any failed fsync (even one that said ENOSPC), stops the store: that
// Update fails with [ErrDiskFull] or [ErrIO], and every later one with ErrIO, until the store is
// closed and opened again. After a failed fsync the kernel may have dropped the pages it could
// not write and marked them clean, so a later fsync would succeed without them (PostgreSQL's
// "fsyncgate", 2018); what reached the disk since the last good fsync is unknown. Views go on
// reading what the store holds. Close still tries a checkpoint of every round answered before
// the failure. The round whose fsync failed was not answered with success, but it may have
// reached the disk: after a crash (not after Close) Open may find it, as with any database whose
// commit fails mid-way.
//
// Open after a disk-full event needs room for the journal's writes in the bbolt file, which
// may take more space than the journal (bbolt writes whole pages, half full under sequential
// inserts). Open replays the journal in chunks of at most 1 MiB, each its own bbolt commit, and
// on Linux punches each applied chunk out of the journal, giving its space back before the next
// one. What does not fit stays in the journal, where it is already durable, and Open goes on:
// those rounds are held in the committer's open transaction as if committed since the last
// checkpoint, readable at once, and the next checkpoint that finds room moves them into the
// bbolt file (a warning is logged). So Open succeeds after a disk-full event whatever space is
// free; the bbolt file holds whole rounds up to a recorded sequence number and the journal the
// rest, at every moment. (With RecoverCorruptJournal on a full disk, the records kept are not in
// the new journal, so a replay without room fails with ErrDiskFull and changes nothing.)
//
// # Caveats, recovery
//
// Only a torn tail of the journal is cut at Open: the last record, when it fails its length or
// checksum check and no later record with a newer sequence number can be found after it. A
// flipped byte in the last record looks exactly like a torn tail and is cut too (the round it
// held is lost). Any other damage is refused: Open returns a [*CorruptJournalError] (matching
// [ErrCorrupt] and tribus.ErrCorrupt) naming the journal file and the byte offset, and changes
// neither file. A bbolt file that records a journal sequence number (every store this version
// created) whose journal is missing fails with [ErrMissingJournal]. What an operator does then:
//
//  1. Stop, and copy both files (the bbolt file and its journal) somewhere safe.
//  2. If the journal can be restored from a backup or the disk repaired, do that and Open again.
//  3. Otherwise open once with [Options.RecoverCorruptJournal]: Open keeps the records before
//     the damage, renames the damaged journal to <journal>.corrupt-<UTC time> (never deleted),
//     starts a new journal and logs a warning to [Options.Logger]. The rounds journaled after
//     the damage are lost; the broker's clients must be told, as after any data loss.
//     For a missing journal, create an empty file at the journal's path to accept the loss of
//     the rounds since the last checkpoint.
package store
