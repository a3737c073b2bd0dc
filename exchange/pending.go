package exchange

import "slices"

// pendingTags holds a session's unacked deliveries by delivery tag. Tags grow by one per
// delivery (A47), so the deliveries live in a slice indexed from the oldest outstanding tag:
// settling one is an index, and a multiple-settle walks a prefix. A tag a queue registers after
// the front has moved past it (a concurrent dispatch) goes to late. Guarded by Session.pendMu.
type pendingTags struct {
	base uint64     // the tag of ring[0]
	ring []*pending // nil where a tag is settled, auto-acked or not registered yet
	late map[uint64]*pending
	n    int // outstanding entries, ring and late
}

func (pt *pendingTags) add(tag uint64, p *pending) {
	pt.n++
	if pt.base == 0 {
		pt.base = tag
	}
	if tag < pt.base {
		if pt.late == nil {
			pt.late = make(map[uint64]*pending)
		}
		pt.late[tag] = p
		return
	}
	i := int(tag - pt.base)
	for len(pt.ring) <= i {
		pt.ring = append(pt.ring, nil)
	}
	pt.ring[i] = p
}

// peek returns tag's entry without removing it, or nil.
func (pt *pendingTags) peek(tag uint64) *pending {
	if tag >= pt.base && tag-pt.base < uint64(len(pt.ring)) {
		return pt.ring[tag-pt.base]
	}
	return pt.late[tag]
}

// take removes and returns tag's entry, or nil.
func (pt *pendingTags) take(tag uint64) *pending {
	if tag >= pt.base && tag-pt.base < uint64(len(pt.ring)) {
		i := int(tag - pt.base)
		p := pt.ring[i]
		if p == nil {
			return nil
		}
		pt.ring[i] = nil
		pt.n--
		pt.trim()
		return p
	}
	if p, ok := pt.late[tag]; ok {
		delete(pt.late, tag)
		pt.n--
		return p
	}
	return nil
}

// trim moves the front past settled tags.
func (pt *pendingTags) trim() {
	i := 0
	for i < len(pt.ring) && pt.ring[i] == nil {
		i++
	}
	if i == 0 {
		return
	}
	pt.base += uint64(i)
	pt.ring = pt.ring[i:]
	if len(pt.ring) == 0 {
		pt.ring = pt.ring[:0:0]
	}
}

// takeUpTo removes and returns every entry with a tag ≤ tag (all of them for tag 0), in tag
// order.
func (pt *pendingTags) takeUpTo(tag uint64, into []*pending) []*pending {
	start := len(into)
	for t, p := range pt.late {
		if tag == 0 || t <= tag {
			into = append(into, p)
			delete(pt.late, t)
		}
	}
	for i, p := range pt.ring {
		if tag != 0 && pt.base+uint64(i) > tag {
			break
		}
		if p != nil {
			into = append(into, p)
			pt.ring[i] = nil
		}
	}
	pt.n -= len(into) - start
	pt.trim()
	slices.SortFunc(into[start:], func(a, b *pending) int { return cmpU64(a.d.DeliveryTag, b.d.DeliveryTag) })
	return into
}
