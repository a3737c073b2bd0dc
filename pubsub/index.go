package pubsub

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
)

// The subscriber tables are immutable snapshots read by publishers without locks and replaced,
// copy-on-write, by subscribe and unsubscribe under Hub.mu. Channels are spread over shards so
// that a change copies one small map rather than every channel's entry.

const nShards = 64

// chanEntry is the immutable list of subscriptions of one channel.
type chanEntry struct {
	subs []*Subscription
	// pats caches which patterns match this channel, valid while the pattern set is the same
	// snapshot; it makes an exact-channel publish independent of the number of patterns.
	pats atomic.Pointer[patCache]
}

type patCache struct {
	set     *patSet
	matched []*patEntry
}

// chanIndex maps channel names to entries. Readers call get; writers hold Hub.mu.
type chanIndex struct {
	seed   maphash.Seed
	shards [nShards]atomic.Pointer[map[string]*chanEntry]
}

func (ix *chanIndex) init() { ix.seed = maphash.MakeSeed() }

func (ix *chanIndex) shard(name string) *atomic.Pointer[map[string]*chanEntry] {
	return &ix.shards[maphash.String(ix.seed, name)%nShards]
}

func (ix *chanIndex) get(name string) *chanEntry {
	m := ix.shard(name).Load()
	if m == nil {
		return nil
	}
	return (*m)[name]
}

// update replaces name's subscription list with f(old list); an empty result removes it.
func (ix *chanIndex) update(name string, f func([]*Subscription) []*Subscription) {
	p := ix.shard(name)
	old := p.Load()
	m := make(map[string]*chanEntry, mapLen(old)+1)
	var subs []*Subscription
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
		if e := (*old)[name]; e != nil {
			subs = e.subs
		}
	}
	if next := f(subs); len(next) == 0 {
		delete(m, name)
	} else {
		m[name] = &chanEntry{subs: next}
	}
	p.Store(&m)
}

func mapLen(m *map[string]*chanEntry) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// each calls fn for every channel with its entry, in no order.
func (ix *chanIndex) each(fn func(name string, e *chanEntry)) {
	for i := range ix.shards {
		if m := ix.shards[i].Load(); m != nil {
			for k, v := range *m {
				fn(k, v)
			}
		}
	}
}

// patEntry is one pattern and the subscriptions that hold it.
type patEntry struct {
	pattern string
	prefix  string // literalPrefix(pattern): a quick reject before globMatch
	subs    []*Subscription
}

func (p *patEntry) match(channel string) bool {
	return strings.HasPrefix(channel, p.prefix) && globMatch(p.pattern, channel)
}

// patSet is the immutable set of patterns; its pointer identity is its version.
type patSet struct {
	list []*patEntry
}

func (ps *patSet) matching(channel string) []*patEntry {
	var out []*patEntry
	for _, p := range ps.list {
		if p.match(channel) {
			out = append(out, p)
		}
	}
	return out
}

// withSub returns a copy of ps where pattern's subscriptions are f(old).
func (ps *patSet) with(pattern string, f func([]*Subscription) []*Subscription) *patSet {
	next := &patSet{list: make([]*patEntry, 0, len(ps.list)+1)}
	found := false
	for _, p := range ps.list {
		if p.pattern != pattern {
			next.list = append(next.list, p)
			continue
		}
		found = true
		if subs := f(p.subs); len(subs) > 0 {
			next.list = append(next.list, &patEntry{pattern: pattern, prefix: p.prefix, subs: subs})
		}
	}
	if !found {
		if subs := f(nil); len(subs) > 0 {
			next.list = append(next.list, &patEntry{pattern: pattern, prefix: literalPrefix(pattern), subs: subs})
		}
	}
	return next
}

// adding and removing return list-editing functions for chanIndex.update and patSet.with;
// they never modify the slice they are given, which readers may still hold.
func adding(s *Subscription) func([]*Subscription) []*Subscription {
	return func(old []*Subscription) []*Subscription {
		return append(slices.Clip(old), s)
	}
}

func removing(s *Subscription) func([]*Subscription) []*Subscription {
	return func(old []*Subscription) []*Subscription {
		i := slices.Index(old, s)
		if i < 0 {
			return old
		}
		return slices.Delete(slices.Clone(old), i, i+1)
	}
}
