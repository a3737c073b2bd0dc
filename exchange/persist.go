package exchange

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/tribusmq/tribus/store"
)

// Layout inside the store's exchange bucket:
//
//	exchanges/<name>          exchangeRecord
//	queues/<name>             queueRecord
//	bindings/<seq>            bindingRecord (both ends durable)
//	messages/<queue>/<seq>    messageRecord, seq = the message's position, 8 bytes big-endian
//	delivered/<queue>         the highest position delivered, 8 bytes big-endian
//
// Declarations are written synchronously (a declare returns once it is durable). Message
// writes go through store.Submit: a put is queued before the message becomes visible, so any
// later delete of it (an ack) commits after it, and deletes are not waited for.
const (
	bktExchanges = "exchanges"
	bktQueues    = "queues"
	bktBindings  = "bindings"
	bktMessages  = "messages"
	bktDelivered = "delivered"
)

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// persistent reports whether q stores c: a persistent message in a durable queue of a router
// with a store.
func (q *queue) persistent(c *content) bool {
	return q.durable && q.r.st != nil && c.pub.DeliveryMode == Persistent
}

func (r *Router) update(fn func(tx *store.Tx) error) error {
	if r.st == nil {
		return nil
	}
	if err := r.st.Update(fn); err != nil {
		return fmt.Errorf("tribus/exchange: store: %w", err)
	}
	return nil
}

func (r *Router) saveExchange(ex *exchange) error {
	if !ex.durable || r.st == nil {
		return nil
	}
	v := appendExchangeRecord(nil, &exchangeRecord{Name: ex.name, Kind: ex.kind, AutoDelete: ex.autoDelete,
		Internal: ex.internal, AlternateExchange: ex.ae, Args: ex.args})
	return r.update(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketExchange, bktExchanges).Put([]byte(ex.name), v)
	})
}

func (r *Router) dropExchange(ex *exchange) {
	if !ex.durable || r.st == nil {
		return
	}
	r.st.Submit(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketExchange, bktExchanges).Delete([]byte(ex.name))
	})
}

func (r *Router) saveQueue(q *queue) error {
	if !q.durable || r.st == nil {
		return nil
	}
	v := appendQueueRecord(nil, &queueRecord{Name: q.name, AutoDelete: q.autoDelete, Args: q.args})
	return r.update(func(tx *store.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(store.BucketExchange, bktMessages, q.name); err != nil {
			return err
		}
		return tx.Bucket(store.BucketExchange, bktQueues).Put([]byte(q.name), v)
	})
}

// dropQueue forgets a deleted queue and every message it held.
func (r *Router) dropQueue(q *queue) {
	if !q.durable || r.st == nil {
		return
	}
	r.st.Submit(func(tx *store.Tx) error {
		if err := tx.Bucket(store.BucketExchange, bktQueues).Delete([]byte(q.name)); err != nil {
			return err
		}
		if err := tx.Bucket(store.BucketExchange, bktDelivered).Delete([]byte(q.name)); err != nil {
			return err
		}
		if tx.Bucket(store.BucketExchange, bktMessages, q.name) != nil {
			return tx.DeleteBucket(store.BucketExchange, bktMessages, q.name)
		}
		return nil
	})
}

// saveBinding stores b if both its ends are durable.
func (r *Router) saveBinding(b *binding) error {
	if r.st == nil || !b.src.durable || (b.dst.q != nil && !b.dst.q.durable) || (b.dst.x != nil && !b.dst.x.durable) {
		return nil
	}
	rec := &bindingRecord{Source: b.src.name, Key: b.key, Args: b.args}
	if b.dst.q != nil {
		rec.Destination = b.dst.q.name
	} else {
		rec.ToExchange, rec.Destination = true, b.dst.x.name
	}
	v := appendBindingRecord(nil, rec)
	return r.update(func(tx *store.Tx) error {
		bk := tx.Bucket(store.BucketExchange, bktBindings)
		seq, err := bk.NextSequence()
		if err != nil {
			return err
		}
		b.storeKey = seqKey(seq)
		return bk.Put(b.storeKey, v)
	})
}

func (r *Router) dropBinding(b *binding) {
	if b.storeKey == nil || r.st == nil {
		return
	}
	key := b.storeKey
	r.st.Submit(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketExchange, bktBindings).Delete(key)
	})
}

// storeLocked queues the put of m, which q is about to make visible, and returns the wait for
// its commit. Callers hold q.mu.
func (q *queue) storeLocked(m *qmsg) func() error {
	if !m.stored {
		q.r.countStored(m, 1)
	}
	m.stored = true
	q.puts++
	rec := q.record(m)
	v := appendMessageRecord(make([]byte, 0, 256+len(rec.Pub.Body)), &rec)
	name, key := q.name, seqKey(m.seq)
	handed := false // the committer goroutine is the only one to read and write it
	return q.r.st.Submit(func(tx *store.Tx) error {
		k, val := key, v
		if handed {
			// A function may run again (store.Update's contract) after bbolt was handed the
			// slices by a transaction that rolled back; give it fresh ones.
			k, val = bytes.Clone(key), bytes.Clone(v)
		}
		handed = true
		b := tx.Bucket(store.BucketExchange, bktMessages, name)
		b.AppendOrder()
		return b.PutOwned(k, val)
	})
}

func (q *queue) record(m *qmsg) messageRecord {
	c := q.content(m)
	rec := messageRecord{Pub: c.pub, Exchange: c.exchange, RoutingKey: c.routingKey, BCC: c.bcc,
		Deaths: c.deaths, DeliveryCount: m.deliveryCount, Redelivered: m.redelivered}
	rec.ExpiresAt = m.expires
	return rec
}

// forget queues the delete of a stored message that left q for good: acked, dead-lettered,
// expired, dropped or purged. Nobody waits for it: if it is lost in a crash, the message comes
// back, which at-least-once allows. m drops its content, which its deliveries keep if they
// need it, so that an index entry kept alive (with its chunk, queueState.alloc) keeps no
// message body alive. Callers hold q.mu.
func (q *queue) forget(m *qmsg) {
	q.r.release(m)
	if m.stored {
		q.r.countStored(m, -1)
		m.stored = false
		q.deleteLocked(m.seq)
	}
	m.c = nil
}

// deleteBatch is a batch of message records of one queue to delete in one store write.
type deleteBatch struct {
	seqs  []uint64
	puts  uint64 // the queue's puts when the batch's write was queued
	taken bool   // the committer has begun the write: the batch takes no more
}

// deleteLocked queues the delete of the record at position seq. Acks come much faster than
// the committer applies them one closure each, so deletes are batched: a delete joins the
// batch already queued when no message write of the queue was queued after that batch (the
// store applies writes in the order they were queued, so a delete must never overtake the
// write of its record, a re-store on requeue included). Otherwise it starts a new batch.
// Callers hold q.mu.
func (q *queue) deleteLocked(seq uint64) {
	q.delMu.Lock()
	if b := q.deletes; b != nil && !b.taken && b.puts == q.puts {
		b.seqs = append(b.seqs, seq)
		q.delMu.Unlock()
		return
	}
	b := &deleteBatch{seqs: []uint64{seq}, puts: q.puts}
	q.deletes = b
	q.delMu.Unlock()
	name := q.name
	q.r.st.Submit(func(tx *store.Tx) error {
		q.delMu.Lock()
		b.taken = true // a rerun (store.Update's contract) finds the same seqs
		if q.deletes == b {
			q.deletes = nil
		}
		q.delMu.Unlock()
		bk := tx.Bucket(store.BucketExchange, bktMessages, name)
		if bk == nil {
			return nil // the queue was deleted meanwhile
		}
		var key [8]byte
		for _, seq := range b.seqs {
			binary.BigEndian.PutUint64(key[:], seq)
			if err := bk.Delete(key[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// goneLocked stops counting m, a message of a deleted queue, whose records the store drops
// with the queue's bucket: neither against the memory budget nor the high watermark.
// Callers hold q.mu.
func (q *queue) goneLocked(m *qmsg) {
	q.r.release(m)
	if m.stored {
		q.r.countStored(m, -1)
	}
	m.stored, m.c = false, nil
}

// markDeliveredLocked records that m was delivered, so that after a restart it comes back
// redelivered. Only the highest position is stored, and at most one write per queue is
// queued at a time: it writes the mark current when it runs. Callers hold q.mu.
func (q *queue) markDeliveredLocked(m *qmsg) {
	if !m.stored || m.seq <= q.deliveredMark.Load() {
		return
	}
	q.deliveredMark.Store(m.seq)
	if q.markPending.Swap(true) {
		return
	}
	name := q.name
	q.r.st.Submit(func(tx *store.Tx) error {
		q.markPending.Store(false)
		return tx.Bucket(store.BucketExchange, bktDelivered).Put([]byte(name), seqKey(q.deliveredMark.Load()))
	})
}

// recover loads the durable topology and messages from the store.
func (r *Router) recover() error {
	if err := r.st.Update(func(tx *store.Tx) error {
		for _, name := range []string{bktExchanges, bktQueues, bktBindings, bktMessages, bktDelivered} {
			if _, err := tx.CreateBucketIfNotExists(store.BucketExchange, name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("tribus/exchange: store: %w", err)
	}
	now := time.Now()
	return r.st.View(func(tx *store.Tx) error {
		if err := tx.Bucket(store.BucketExchange, bktExchanges).ForEach(func(k, v []byte) error {
			rec, err := decodeExchangeRecord(v)
			if err != nil {
				return fmt.Errorf("exchange %q: %w", k, err)
			}
			r.exchanges[rec.Name] = newExchange(rec.Name, rec.Kind, ExchangeOptions{Durable: true,
				AutoDelete: rec.AutoDelete, Internal: rec.Internal, AlternateExchange: rec.AlternateExchange, Args: rec.Args})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(store.BucketExchange, bktQueues).ForEach(func(k, v []byte) error {
			rec, err := decodeQueueRecord(v)
			if err != nil {
				return fmt.Errorf("queue %q: %w", k, err)
			}
			cfg, err := parseQueueArgs(rec.Name, rec.Args)
			if err != nil {
				return fmt.Errorf("queue %q: %w", k, err)
			}
			q := newQueue(r, rec.Name, QueueOptions{Durable: true, AutoDelete: rec.AutoDelete}, rec.Args, cfg)
			r.queues[rec.Name] = q
			return r.recoverMessages(tx, q, now)
		}); err != nil {
			return err
		}
		return tx.Bucket(store.BucketExchange, bktBindings).ForEach(func(k, v []byte) error {
			rec, err := decodeBindingRecord(v)
			if err != nil {
				return fmt.Errorf("binding %x: %w", k, err)
			}
			src := r.exchanges[rec.Source]
			d := dest{q: r.queues[rec.Destination]}
			if rec.ToExchange {
				d = dest{x: r.exchanges[rec.Destination]}
			}
			if src == nil || (d.q == nil && d.x == nil) {
				return nil // an end was deleted and the binding's delete was lost: drop it
			}
			b := &binding{src: src, dst: d, key: rec.Key, args: rec.Args, storeKey: append([]byte(nil), k...)}
			if src.kind == Headers {
				if b.hb, err = compileHeadersBinding(rec.Args); err != nil {
					return fmt.Errorf("binding %x: %w", k, err)
				}
			}
			r.addBindingLocked(b)
			return nil
		})
	})
}

// recoverMessages loads q's stored messages in their original order. Those at or below the
// delivered mark come back redelivered; their expiry is the one they had (A29).
func (r *Router) recoverMessages(tx *store.Tx, q *queue, now time.Time) error {
	var mark uint64
	if v := tx.Bucket(store.BucketExchange, bktDelivered).Get([]byte(q.name)); len(v) == 8 {
		mark = binary.BigEndian.Uint64(v)
	}
	q.deliveredMark.Store(mark)
	savedAt := r.savedAfter() // some records may be in journal rounds replayed at Open
	b := tx.Bucket(store.BucketExchange, bktMessages, q.name)
	if b == nil {
		return nil
	}
	var prev messageRecord // the record loaded last, whose repeated strings the next one shares
	err := b.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("queue %q: message key %x: %w", q.name, k, ErrCorrupt)
		}
		seq := binary.BigEndian.Uint64(k)
		// Within the memory budget the whole message is loaded; beyond it only the index
		// entry, and the content is read back when delivered.
		idx, err := decodeMessageIndex(v)
		if err != nil {
			return fmt.Errorf("queue %q: message %d: %w", q.name, seq, err)
		}
		m := q.st.alloc()
		*m = qmsg{seq: seq, size: idx.BodySize, deliveryCount: idx.DeliveryCount, stored: true,
			redelivered: idx.Redelivered || seq <= mark, savedAt: savedAt}
		if !r.overBudget() {
			c, err := decodeContentLike(v, &prev)
			if err != nil {
				return fmt.Errorf("queue %q: message %d: %w", q.name, seq, err)
			}
			m.c = c
		}
		r.countStored(m, 1)
		q.chargeLocked(m)
		if idx.ExpiresAt != 0 {
			m.expires = idx.ExpiresAt
			q.timed = true
		}
		if q.cfg.maxPriority > 0 {
			m.level = uint8(min(int(idx.Priority), q.cfg.maxPriority))
		}
		q.st.push(m) // in key order, which is position order; no limits are applied on recovery
		q.st.nextSeq = max(q.st.nextSeq, seq)
		return nil
	})
	if err != nil {
		return err
	}
	q.lastUsed = now
	return nil
}

// pendingWrite is a queued store write of a persistent message, for whoever confirms it. If q
// is set, the message is paged out once the write is committed (only then can it be read back).
type pendingWrite struct {
	wait func() error
	q    *queue
	m    *qmsg
}

// done waits for the write and pages the message out if that was asked.
func (w pendingWrite) done() error {
	if err := w.wait(); err != nil {
		return err
	}
	if w.q != nil {
		w.q.pageOut(w.m, w.q.r.savedAfter())
		w.q.r.evictIfOverBudget()
	}
	return nil
}

// savedAfter is the checkpoint count from which a record whose write has returned by now is in
// the store's file: the next checkpoint moves it there.
func (r *Router) savedAfter() uint32 { return uint32(r.st.Checkpoints()) + 1 }

// saved reports whether m's record is in the store's file, so that ViewCheckpointed sees it.
// The counts are compared as serial numbers, so their wrapping at 2³² does not matter.
func (r *Router) saved(m *qmsg) bool { return int32(uint32(r.st.Checkpoints())-m.savedAt) >= 0 }

// pageOut drops m's content from memory if it is still waiting in the queue; it is read back
// from the store when delivered.
func (q *queue) pageOut(m *qmsg, savedAt uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pageOutLocked(m, savedAt)
}

// pageOutLocked is pageOut with q.mu held. m's record must be committed.
func (q *queue) pageOutLocked(m *qmsg, savedAt uint32) {
	if m.c != nil && m.stored && !q.deleted {
		q.r.unchargeContent(m)
		q.r.countPaging(m, -1)
		m.c, m.savedAt = nil, savedAt
	}
}

// content returns m's content, reading a paged-out message back from the store, together with
// the paged-out messages queued behind it (pageInLocked). A message whose record cannot be read
// (the store failed or is corrupt) is returned with its body replaced by nothing and its
// trouble logged: a delivery cannot fail. Callers hold q.mu.
func (q *queue) content(m *qmsg) *content {
	if m.c != nil {
		return m.c
	}
	if c := q.pageInLocked(m); c != nil {
		return c
	}
	return &content{ttl: -1}
}

// One read-back of paged-out messages takes at most this many messages, or this many body
// bytes, whichever comes first (the first message always counts).
const (
	readAheadMessages = 512
	readAheadBytes    = 1 << 20
	readAheadSkip     = 64 // unwanted records passed over in a row before seeking instead
)

// pageInLocked reads m back from the store and, in the same read transaction, the paged-out
// messages that wait behind it in delivery order, up to the read-ahead limits; it keeps their
// contents in memory until they leave the queue. Consuming a long paged-out queue so costs one
// read transaction (and, while the store holds unsaved rounds, one wait for its committer) per
// batch rather than per message, and reads the records in key order. It returns m's content,
// or nil, logged, if m's record cannot be read. Callers hold q.mu.
func (q *queue) pageInLocked(m *qmsg) *content {
	batch := []*qmsg{m}
	bytes := m.size
	visited := 0
	q.st.each(func(o *qmsg) bool {
		// The walk is bounded too, so a queue whose head mixes messages in memory and paged
		// out does not make each read-back walk the whole queue.
		if visited++; visited > 4*readAheadMessages {
			return false
		}
		if o == m || o.c != nil || !o.stored {
			return true
		}
		if len(batch) == readAheadMessages || bytes+o.size > readAheadBytes {
			return false
		}
		batch = append(batch, o)
		bytes += o.size
		return true
	})
	// Records in the store's file are read without waiting for its committer; when m's is,
	// the batch keeps only those that are too, and the others are read with a later batch.
	view := q.r.st.View
	if q.r.saved(m) {
		view = q.r.st.ViewCheckpointed
		batch = slices.DeleteFunc(batch, func(o *qmsg) bool { return !q.r.saved(o) })
	}
	slices.SortFunc(batch, func(a, b *qmsg) int { return cmp.Compare(a.seq, b.seq) })
	read, err := q.readRecords(view, batch, m)
	var own *content
	for i, o := range batch {
		c := read[i]
		if c == nil {
			continue
		}
		if o == m {
			own = c
		}
		o.c = c
		q.r.countPaging(o, 1)
		if o.charged {
			q.r.addHeld(c.cost)
		}
	}
	if own == nil {
		if err == nil {
			err = fmt.Errorf("%w: record missing", ErrCorrupt)
		}
		q.r.logger.Error("exchange: reading a paged-out message", "queue", q.name, "position", m.seq, "err", err)
	}
	return own
}

// readRecords reads the stored records of batch, messages of q in position order, in one
// view transaction: read[i] is batch[i]'s content, nil where its record is missing or does not
// decode. A record of must (nil for none) that does not decode ends the read with that error.
// It sets nothing on the messages. Callers hold q.mu.
func (q *queue) readRecords(view func(func(*store.Tx) error) error, batch []*qmsg, must *qmsg) ([]*content, error) {
	read := make([]*content, len(batch))
	var prev messageRecord // the record read last, whose repeated strings the next one shares
	err := view(func(tx *store.Tx) error {
		b := tx.Bucket(store.BucketExchange, bktMessages, q.name)
		if b == nil {
			return fmt.Errorf("%w: no message bucket", ErrCorrupt)
		}
		// The queue's records are keyed by position, so a pass over the keys from a wanted
		// one finds the next ones in order. Records of messages not wanted (acked ones whose
		// deletes are not checkpointed yet, messages in memory, other priorities) are passed
		// over; after readAheadSkip of them in a row the pass seeks to the next wanted key.
		i := 0
		for i < len(batch) {
			skipped, reseek := 0, false
			err := b.Seek(seqKey(batch[i].seq), func(k, v []byte) (bool, error) {
				seq := binary.BigEndian.Uint64(k)
				for i < len(batch) && batch[i].seq < seq {
					i++ // no record: reported below if it is m
				}
				if i == len(batch) {
					return false, nil
				}
				if batch[i].seq != seq {
					skipped++
					reseek = skipped == readAheadSkip
					return !reseek, nil
				}
				skipped = 0
				if c, err := decodeContentLike(v, &prev); err == nil {
					read[i] = c
				} else if batch[i] == must {
					return false, fmt.Errorf("position %d: %w", seq, err)
				}
				i++
				return i < len(batch), nil
			})
			if err != nil || !reseek {
				return err
			}
		}
		return nil
	})
	return read, err
}

// decodeContentLike decodes a stored message record into a content made together with its
// body (contentWithBody). Repeated strings are shared with *prev as decodeMessageRecordLike
// shares them, and a record that decodes becomes *prev for the next one.
func decodeContentLike(v []byte, prev *messageRecord) (*content, error) {
	var made *content
	rec, err := decodeMessageRecordLike(v, prev, func(n int) (body []byte) {
		made, body = contentWithBody(n)
		return body
	})
	if err != nil {
		return nil, err
	}
	*prev = rec
	return contentOf(&rec, made), nil
}

// contentOf returns the content of a decoded record: into, if it is not nil (a content
// contentWithBody made with the record's body), else a new one.
func contentOf(rec *messageRecord, into *content) *content {
	if into == nil {
		into = new(content)
	}
	*into = content{pub: rec.Pub, exchange: rec.Exchange, routingKey: rec.RoutingKey, cost: contentCost(&rec.Pub),
		size: int64(len(rec.Pub.Body)), ttl: -1, bcc: rec.BCC, deaths: rec.Deaths}
	return into
}

// contentWithBody returns a zero content and room for an n-byte body, made in one allocation
// when the body is small, for a message read from the store. The two are only ever reachable
// together (a Delivery points into the content, whose publishing holds the body), so one object
// halves what the allocator and the collector spend on them and keeps nothing alive that would
// not be anyway, except that a body kept without its delivery keeps the content's few hundred
// bytes too. The body's capacity is its length, so an append to it cannot write past it.
func contentWithBody(n int) (*content, []byte) {
	switch {
	case n <= 64:
		return makeContentBlock(n, func(b *[64]byte) []byte { return b[:] })
	case n <= 128:
		return makeContentBlock(n, func(b *[128]byte) []byte { return b[:] })
	case n <= 256:
		return makeContentBlock(n, func(b *[256]byte) []byte { return b[:] })
	case n <= 512:
		return makeContentBlock(n, func(b *[512]byte) []byte { return b[:] })
	}
	return new(content), make([]byte, n)
}

// contentBlock is a content and the room for its body (an array), made as one object.
type contentBlock[Room any] struct {
	c    content
	room Room
}

// makeContentBlock makes a contentBlock and returns its content and the first n bytes of its
// room, which bytes slices as a whole.
func makeContentBlock[Room any](n int, bytes func(*Room) []byte) (*content, []byte) {
	blk := new(contentBlock[Room])
	return &blk.c, bytes(&blk.room)[:n:n]
}

// messageID is m's message ID for an event, "" while it is paged out.
func (m *qmsg) messageID() string {
	if m.c == nil {
		return ""
	}
	return m.c.pub.MessageID
}
