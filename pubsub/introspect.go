package pubsub

import (
	"slices"
	"strings"
)

// ChannelCount is one channel and its number of subscribers, as PUBSUB NUMSUB reports it.
type ChannelCount struct {
	Channel     string
	Subscribers int
}

// Channels lists the channels that have at least one channel subscriber, like PUBSUB
// CHANNELS: pattern subscribers do not make a channel active (R14). With no argument every
// active channel is listed; with one, those matching that glob (§3.1); more is [ErrArity].
// The result is sorted (Redis leaves the order unspecified).
func (h *Hub) Channels(pattern ...string) ([]string, error) {
	return h.listChannels(&h.channels, pattern)
}

// ShardChannels is [Hub.Channels] for shard channels, like PUBSUB SHARDCHANNELS (R22).
func (h *Hub) ShardChannels(pattern ...string) ([]string, error) {
	return h.listChannels(&h.shards, pattern)
}

// NumSub returns the number of channel subscribers of each argument, in argument order and
// repeating duplicates, like PUBSUB NUMSUB: pattern subscribers are not counted and an unknown
// channel gives 0 (R15). No argument gives an empty result.
func (h *Hub) NumSub(channels ...string) ([]ChannelCount, error) {
	return h.numSub(&h.channels, channels)
}

// ShardNumSub is [Hub.NumSub] for shard channels, like PUBSUB SHARDNUMSUB (R22).
func (h *Hub) ShardNumSub(channels ...string) ([]ChannelCount, error) {
	return h.numSub(&h.shards, channels)
}

// NumPat returns the number of unique patterns subscribed across all subscriptions, like
// PUBSUB NUMPAT: two clients on the same pattern count once (R16).
func (h *Hub) NumPat() (int, error) {
	if err := h.lockOpen(); err != nil {
		return 0, err
	}
	defer h.mu.Unlock()
	return len(h.patterns.Load().list), nil
}

// Patterns returns every subscribed pattern with its number of subscribers, sorted by pattern:
// what a dashboard shows beside the channels. Redis has no command for it (PUBSUB NUMPAT only
// counts the patterns).
func (h *Hub) Patterns() ([]ChannelCount, error) {
	if err := h.lockOpen(); err != nil {
		return nil, err
	}
	defer h.mu.Unlock()
	list := h.patterns.Load().list
	out := make([]ChannelCount, 0, len(list))
	for _, p := range list {
		out = append(out, ChannelCount{Channel: p.pattern, Subscribers: len(p.subs)})
	}
	slices.SortFunc(out, func(a, b ChannelCount) int { return strings.Compare(a.Channel, b.Channel) })
	return out, nil
}

// lockOpen takes h.mu with the tables free of disconnected subscriptions, or says why not.
func (h *Hub) lockOpen() error {
	if h == nil || h.closed.Load() {
		return ErrClosed
	}
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		return ErrClosed
	}
	h.reapLocked()
	return nil
}

func (h *Hub) listChannels(ix *chanIndex, pattern []string) ([]string, error) {
	if len(pattern) > 1 {
		return nil, ErrArity
	}
	if err := h.lockOpen(); err != nil {
		return nil, err
	}
	defer h.mu.Unlock()
	out := []string{}
	ix.each(func(name string, _ *chanEntry) {
		if len(pattern) == 0 || globMatch(pattern[0], name) {
			out = append(out, name)
		}
	})
	slices.Sort(out)
	return out, nil
}

func (h *Hub) numSub(ix *chanIndex, channels []string) ([]ChannelCount, error) {
	if err := h.lockOpen(); err != nil {
		return nil, err
	}
	defer h.mu.Unlock()
	out := make([]ChannelCount, len(channels))
	for i, ch := range channels {
		out[i].Channel = ch
		if e := ix.get(ch); e != nil {
			out[i].Subscribers = len(e.subs)
		}
	}
	return out, nil
}

// Stats are a hub's counters since [New], and its current registrations.
type Stats struct {
	Published uint64 // Publish and SPublish calls that reached an open hub
	Delivered uint64 // deliveries counted, the sum of Publish's results

	// DroppedSlow counts messages lost because their subscriber was disconnected for being
	// slow (everything it had buffered, including the message that went over the limit).
	DroppedSlow uint64
	// DroppedOldest counts messages evicted by the [DropOldest] policy.
	DroppedOldest uint64
	// Disconnects counts subscriptions cut off by the [Disconnect] policy.
	Disconnects uint64

	Subscriptions int // open Subscription values
	Channels      int // channels with at least one subscriber
	Patterns      int // unique patterns
	ShardChannels int // shard channels with at least one subscriber
}

// Stats returns the hub's counters. On a closed hub the counters remain readable and the
// current registrations are zero.
func (h *Hub) Stats() Stats {
	if h == nil {
		return Stats{}
	}
	st := Stats{
		Published:     h.stats.published.Load(),
		Delivered:     h.stats.delivered.Load(),
		DroppedSlow:   h.stats.droppedSlow.Load(),
		DroppedOldest: h.stats.droppedOld.Load(),
		Disconnects:   h.stats.disconnects.Load(),
	}
	if h.lockOpen() != nil {
		return st
	}
	defer h.mu.Unlock()
	st.Subscriptions = len(h.subs)
	st.Patterns = len(h.patterns.Load().list)
	h.channels.each(func(string, *chanEntry) { st.Channels++ })
	h.shards.each(func(string, *chanEntry) { st.ShardChannels++ })
	return st
}
