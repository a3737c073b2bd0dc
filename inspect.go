package tribus

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// Snapshot is what a broker holds at one moment, engine by engine: what `tribus inspect`
// prints and the dashboard's JSON API serves. Each list is sorted by name. The engines are
// read one after another, not under one lock, so a snapshot of a busy broker mixes moments a
// few microseconds apart, as RabbitMQ's management API and kafka-consumer-groups do.
type Snapshot struct {
	Time      time.Time      `json:"time"`
	Exchanges []ExchangeView `json:"exchanges"`
	Queues    []QueueView    `json:"queues"`
	Bindings  []BindingView  `json:"bindings"`
	Topics    []TopicView    `json:"topics"`
	Groups    []GroupView    `json:"groups"`
	PubSub    PubSubView     `json:"pubsub"`
}

// ExchangeView is an exchange in a [Snapshot]: its declaration and its counters.
type ExchangeView struct {
	Name              string `json:"name"`
	Type              string `json:"type"`
	Durable           bool   `json:"durable"`
	AutoDelete        bool   `json:"autoDelete"`
	Internal          bool   `json:"internal"`
	AlternateExchange string `json:"alternateExchange,omitempty"`
	Bindings          int    `json:"bindings"`
	Published         uint64 `json:"published"`
	Routed            uint64 `json:"routed"`
	Unroutable        uint64 `json:"unroutable"`
}

// QueueView is a queue in a [Snapshot]: its declaration, its depth and its counters.
type QueueView struct {
	Name                 string            `json:"name"`
	Durable              bool              `json:"durable"`
	Exclusive            bool              `json:"exclusive"`
	AutoDelete           bool              `json:"autoDelete"`
	Arguments            map[string]any    `json:"arguments,omitempty"`
	DeadLetterExchange   string            `json:"deadLetterExchange,omitempty"`
	DeadLetterRoutingKey string            `json:"deadLetterRoutingKey,omitempty"`
	Ready                int               `json:"ready"`
	Unacked              int               `json:"unacked"`
	Consumers            int               `json:"consumers"`
	Published            uint64            `json:"published"`
	Delivered            uint64            `json:"delivered"`
	Acked                uint64            `json:"acked"`
	Redelivered          uint64            `json:"redelivered"`
	DeadLettered         uint64            `json:"deadLettered"`
	Dropped              map[string]uint64 `json:"dropped,omitempty"`
}

// BindingView is a binding in a [Snapshot]; the default exchange's implicit ones included.
type BindingView struct {
	Source          string         `json:"source"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destinationType"` // "queue" or "exchange"
	RoutingKey      string         `json:"routingKey"`
	Arguments       map[string]any `json:"arguments,omitempty"`
}

// TopicView is a topic in a [Snapshot]: its partitions and the settings that decide what it
// keeps. A retention of -1 keeps everything.
type TopicView struct {
	Name           string          `json:"name"`
	CleanupPolicy  string          `json:"cleanupPolicy"`
	RetentionMs    int64           `json:"retentionMs"`
	RetentionBytes int64           `json:"retentionBytes"`
	SegmentBytes   int64           `json:"segmentBytes"`
	Partitions     []PartitionView `json:"partitions"`
	Segments       int             `json:"segments"` // of every partition
	Size           int64           `json:"size"`     // bytes of every partition's segments
	Records        int64           `json:"records"`  // end minus start offsets, summed
}

// PartitionView is one partition of a [TopicView].
type PartitionView struct {
	Partition        int32 `json:"partition"`
	StartOffset      int64 `json:"startOffset"`
	EndOffset        int64 `json:"endOffset"`
	LastStableOffset int64 `json:"lastStableOffset"`
	Segments         int   `json:"segments"`
	Size             int64 `json:"size"`
}

// GroupView is a consumer group in a [Snapshot]: its state and members, and per partition
// what kafka-consumer-groups --describe prints: the committed offset, the end, the lag and
// the member that owns it.
type GroupView struct {
	ID         string            `json:"id"`
	State      string            `json:"state"`
	Generation int32             `json:"generation"`
	Protocol   string            `json:"protocol,omitempty"`
	Leader     string            `json:"leader,omitempty"`
	Members    []GroupMemberView `json:"members"`
	Offsets    []GroupOffsetView `json:"offsets"`
	Lag        int64             `json:"lag"` // summed over Offsets
}

// GroupMemberView is one member of a [GroupView] and the partitions it owns ("topic-0").
type GroupMemberView struct {
	MemberID   string   `json:"memberId"`
	InstanceID string   `json:"instanceId,omitempty"`
	Topics     []string `json:"topics"`
	Assignment []string `json:"assignment"`
}

// GroupOffsetView is a group's position on one partition. Committed is -1 when the group
// has committed nothing there; Owner is "" when no member owns it.
type GroupOffsetView struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	Owner     string `json:"owner,omitempty"`
}

// PubSubView is the pub/sub hub in a [Snapshot]: channels and patterns with their
// subscribers, and the hub's counters. Nothing is stored, so a reopened broker has none.
type PubSubView struct {
	Channels      []ChannelView `json:"channels"`
	Patterns      []ChannelView `json:"patterns"`
	Subscriptions int           `json:"subscriptions"`
	Published     uint64        `json:"published"`
	Delivered     uint64        `json:"delivered"`
	DroppedSlow   uint64        `json:"droppedSlow"`
	DroppedOldest uint64        `json:"droppedOldest"`
	Disconnects   uint64        `json:"disconnects"`
}

// ChannelView is a channel, or a pattern, and its number of subscribers.
type ChannelView struct {
	Name        string `json:"name"`
	Subscribers int    `json:"subscribers"`
}

// Inspect returns a [Snapshot] of the broker: every exchange, queue, binding, topic, group and
// pub/sub channel. It changes nothing. Objects deleted while it runs are left out; on a
// closed broker it returns [ErrClosed].
func (b *Broker) Inspect() (Snapshot, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return Snapshot{}, ErrClosed
	}
	s := Snapshot{Time: time.Now()}
	s.Exchanges, s.Queues, s.Bindings = inspectRouter(b.Router())
	var err error
	if s.Topics, s.Groups, err = inspectLog(b.Log()); err != nil {
		return Snapshot{}, err
	}
	if s.PubSub, err = inspectHub(b.Hub()); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

func inspectRouter(r *exchange.Router) ([]ExchangeView, []QueueView, []BindingView) {
	exchanges := []ExchangeView{}
	for _, name := range r.Exchanges() {
		x, err := r.ExchangeInfo(name)
		if err != nil {
			continue // deleted since the listing
		}
		exchanges = append(exchanges, ExchangeView{Name: x.Name, Type: string(x.Kind), Durable: x.Durable,
			AutoDelete: x.AutoDelete, Internal: x.Internal, AlternateExchange: x.AlternateExchange,
			Bindings: x.Bindings, Published: x.Published, Routed: x.Routed, Unroutable: x.Unroutable})
	}
	queues := []QueueView{}
	for _, name := range r.Queues() {
		q, err := r.QueueInfo(name)
		if err != nil {
			continue
		}
		v := QueueView{Name: q.Name, Durable: q.Durable, Exclusive: q.Exclusive, AutoDelete: q.AutoDelete,
			Arguments: q.Args, Ready: q.Ready, Unacked: q.Unacked, Consumers: q.Consumers,
			Published: q.Published, Delivered: q.Delivered, Acked: q.Acked, Redelivered: q.Redelivered,
			DeadLettered: q.DeadLettered, Dropped: q.Dropped}
		v.DeadLetterExchange, _ = q.Args["x-dead-letter-exchange"].(string)
		v.DeadLetterRoutingKey, _ = q.Args["x-dead-letter-routing-key"].(string)
		queues = append(queues, v)
	}
	bindings := []BindingView{}
	for _, bi := range r.Bindings() {
		bindings = append(bindings, BindingView{Source: bi.Source, Destination: bi.Destination,
			DestinationType: bi.DestinationKind, RoutingKey: bi.RoutingKey, Arguments: bi.Args})
	}
	return exchanges, queues, bindings
}

func inspectLog(l *tlog.Log) ([]TopicView, []GroupView, error) {
	topics := []TopicView{}
	for _, name := range l.Topics() {
		t, err := l.DescribeTopic(name)
		if errors.Is(err, tlog.ErrUnknownTopic) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		v := TopicView{Name: t.Name, CleanupPolicy: t.Config.CleanupPolicy, RetentionMs: millis(t.Config.RetentionTime),
			RetentionBytes: t.Config.RetentionBytes, SegmentBytes: t.Config.SegmentBytes, Partitions: []PartitionView{}}
		for _, p := range t.Partitions {
			v.Partitions = append(v.Partitions, PartitionView{Partition: p.Partition, StartOffset: p.StartOffset,
				EndOffset: p.EndOffset, LastStableOffset: p.LastStableOffset, Segments: p.Segments, Size: p.Size})
			v.Segments += p.Segments
			v.Size += p.Size
			v.Records += p.EndOffset - p.StartOffset
		}
		topics = append(topics, v)
	}
	ids, err := l.ListGroups()
	if err != nil {
		return nil, nil, err
	}
	groups := []GroupView{}
	for _, id := range ids {
		g, err := inspectGroup(l, id)
		if errors.Is(err, tlog.ErrUnknownGroup) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, g)
	}
	return topics, groups, nil
}

func inspectGroup(l *tlog.Log, id string) (GroupView, error) {
	d, err := l.DescribeGroup(id)
	if err != nil {
		return GroupView{}, err
	}
	lags, err := l.GroupLag(id)
	if err != nil {
		return GroupView{}, err
	}
	g := GroupView{ID: d.ID, State: string(d.State), Generation: d.Generation, Protocol: d.Protocol,
		Leader: d.Leader, Members: []GroupMemberView{}, Offsets: []GroupOffsetView{}}
	owner := map[tlog.TopicPartition]string{}
	for _, m := range d.Members {
		mv := GroupMemberView{MemberID: m.MemberID, InstanceID: m.InstanceID, Topics: m.Topics, Assignment: []string{}}
		for _, tp := range m.Assignment {
			owner[tp] = m.MemberID
			mv.Assignment = append(mv.Assignment, tp.String())
		}
		g.Members = append(g.Members, mv)
	}
	for tp, lag := range lags {
		g.Offsets = append(g.Offsets, GroupOffsetView{Topic: tp.Topic, Partition: tp.Partition,
			Committed: lag.Committed, End: lag.End, Lag: lag.Lag, Owner: owner[tp]})
		g.Lag += lag.Lag
	}
	slices.SortFunc(g.Offsets, func(a, b GroupOffsetView) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return g, nil
}

func inspectHub(h *pubsub.Hub) (PubSubView, error) {
	st := h.Stats()
	v := PubSubView{Subscriptions: st.Subscriptions, Published: st.Published, Delivered: st.Delivered,
		DroppedSlow: st.DroppedSlow, DroppedOldest: st.DroppedOldest, Disconnects: st.Disconnects,
		Channels: []ChannelView{}, Patterns: []ChannelView{}}
	names, err := h.Channels()
	if err != nil {
		return PubSubView{}, err
	}
	counts, err := h.NumSub(names...)
	if err != nil {
		return PubSubView{}, err
	}
	for _, c := range counts {
		v.Channels = append(v.Channels, ChannelView{Name: c.Channel, Subscribers: c.Subscribers})
	}
	pats, err := h.Patterns()
	if err != nil {
		return PubSubView{}, err
	}
	for _, p := range pats {
		v.Patterns = append(v.Patterns, ChannelView{Name: p.Channel, Subscribers: p.Subscribers})
	}
	return v, nil
}

// millis returns d in milliseconds, keeping -1 (no limit) as -1.
func millis(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return d.Milliseconds()
}

// InspectDir returns a [Snapshot] of the broker kept in dir, a directory no process holds,
// without changing it: it takes the directory's lock for as long as it copies the directory
// into a temporary one, opens a broker on the copy and inspects that, then removes the copy.
// So it needs the directory's size in temporary space (os.TempDir) and the time to copy it. A
// directory another process (or Broker) holds fails with [ErrLocked], and one that is not a
// tribus directory with [ErrInvalidDir]; either way nothing is created or written in dir.
// The pub/sub hub keeps nothing, so its part of the snapshot is empty.
func InspectDir(dir string) (Snapshot, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return Snapshot{}, fmt.Errorf("%w: %s is not a directory", ErrInvalidDir, dir)
	}
	lock, err := lockExisting(dir)
	if err != nil {
		return Snapshot{}, err
	}
	tmp, err := os.MkdirTemp("", "tribus-inspect-")
	if err != nil {
		unlockDir(lock)
		return Snapshot{}, fmt.Errorf("tribus: inspect %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	err = copyTree(dir, tmp)
	unlockDir(lock)
	if err != nil {
		return Snapshot{}, fmt.Errorf("tribus: inspect %s: copying it: %w", dir, err)
	}
	b, err := Open(tmp, &Options{Sync: SyncNever})
	if err != nil {
		return Snapshot{}, fmt.Errorf("tribus: inspect %s: %w", dir, err)
	}
	s, err := b.Inspect()
	return s, errors.Join(err, b.Close())
}

// copyTree copies the regular files and directories under src into dst, which exists, but
// not src's LOCK file.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." || rel == "LOCK" {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(to, 0o700)
		case d.Type().IsRegular():
			return copyFile(path, to)
		}
		return nil // a socket or a link is not a broker's
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
