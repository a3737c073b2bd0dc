package log

import "time"

// retain applies the topic's time and size retention (§2.3, K31, K33, K34) and rolls the
// active segment once it is older than segment.ms (or max.compaction.lag.ms, see
// [TopicConfig.rollAge]). Under compact,delete it runs before compaction (K38).
func (p *partition) retain(now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.config()
	if act := p.active(); !act.Empty() && now.Sub(act.Created()) >= cfg.rollAge() {
		if _, err := p.rollLocked(now, rollAge); err != nil {
			return err
		}
	}
	if !cfg.deletes() {
		return nil
	}
	hw := p.hw.Load()
	// Count the deletable segments, oldest first, stopping at the first that is not.
	n := 0
	var total int64
	for _, s := range p.segs {
		total += s.Size()
	}
	diff := total - cfg.RetentionBytes
	for i, s := range p.segs {
		upper := p.leo
		if i+1 < len(p.segs) {
			upper = p.segs[i+1].Base()
		}
		if upper > hw || (s.Empty() && i == len(p.segs)-1) {
			// A sealed segment that compaction emptied holds nothing to keep; the empty
			// active one stays (K34).
			break
		}
		byTime := cfg.RetentionTime >= 0 && now.UnixMilli()-s.LargestTimestamp() > cfg.RetentionTime.Milliseconds()
		bySize := cfg.RetentionBytes >= 0 && diff-s.Size() >= 0
		if !byTime && !bySize {
			break
		}
		if bySize {
			diff -= s.Size()
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if n == len(p.segs) {
		// Every segment, the active one included, is eligible: roll an empty active segment
		// first, so the log keeps one and offsets are never reused (K34).
		if _, err := p.rollLocked(now, rollRetention); err != nil {
			return err
		}
	}
	return p.dropSegmentsBelowLocked(p.segs[n].Base(), "retention")
}

// dropSegmentsBelowLocked deletes the segments that lie wholly below offset and moves the log
// start offset up to the first remaining one if it was lower; why ("retention" or
// "DeleteRecords") is for the observer.
func (p *partition) dropSegmentsBelowLocked(offset int64, why string) error {
	n := 0
	for n < len(p.segs)-1 && p.segs[n+1].Base() <= offset {
		n++
	}
	for _, s := range p.segs[:n] {
		if err := s.Close(); err != nil {
			return err
		}
		if err := s.Remove(); err != nil {
			return err
		}
		if p.l.observed() {
			p.l.emit(Event{Kind: EventSegmentDeleted, Topic: p.topic, Partition: p.id, Offset: s.Base(), Reason: why})
		}
	}
	p.segs = append(p.segs[:0:0], p.segs[n:]...)
	if b := p.segs[0].Base(); b > p.logStart {
		p.logStart = b
		if p.l.observed() {
			p.l.emit(Event{Kind: EventRecordsDeleted, Topic: p.topic, Partition: p.id, Offset: b, Reason: why})
		}
	}
	return nil
}
