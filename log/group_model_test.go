package log_test

import (
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

var groupSeed = flag.Uint64("group.seed", 0, "seed of TestGroup_RandomMembership (0: from the clock)")

// TestGroup_RandomMembership drives a group with seeded random joins, polls, commits, closes,
// crashes, produces and clock jumps, and checks after every step that no partition has two
// owners in one generation and that no commit skips a record nobody was given.
func TestGroup_RandomMembership(t *testing.T) {
	seed := *groupSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -group.seed=%d)", seed, seed)
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(seed, 0))
		const partitions = 6
		l := groupLog(t, nil, 20, map[string]int{"t": partitions})
		ctx := context.Background()

		type slot struct {
			c    *tlog.GroupConsumer
			name string
		}
		var live []*slot
		owner := map[int32]map[tlog.TopicPartition]string{} // generation -> partition -> member
		given := map[tlog.TopicPartition]int64{}            // next offset not yet given to anyone
		seen := map[tlog.TopicPartition]map[int64]bool{}
		n, commits, refused := 0, 0, 0

		checkOwners := func() {
			for _, s := range live {
				gen := s.c.Generation()
				if gen < 0 {
					continue
				}
				if owner[gen] == nil {
					owner[gen] = map[tlog.TopicPartition]string{}
				}
				for _, tp := range s.c.Assignment() {
					if o, ok := owner[gen][tp]; ok && o != s.c.MemberID() {
						t.Fatalf("generation %d: %v owned by %s and %s", gen, tp, o, s.c.MemberID())
					}
					owner[gen][tp] = s.c.MemberID()
				}
			}
		}
		for step := range 400 {
			switch op := rng.IntN(10); {
			case op == 0 && len(live) < 5:
				n++
				c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"},
					Reset: tlog.ResetEarliest, DisableAutoCommit: rng.IntN(2) == 0, MaxPollRecords: 7,
					MaxWait: 100 * time.Millisecond})
				require.NoError(t, err)
				live = append(live, &slot{c: c, name: "c" + string(rune('0'+n%10))})
			case op <= 4 && len(live) > 0:
				s := live[rng.IntN(len(live))]
				recs, err := s.c.Poll(ctx)
				require.NoError(t, err, "step %d", step)
				for _, r := range recs {
					tp := tlog.TopicPartition{Topic: r.Topic, Partition: r.Partition}
					if seen[tp] == nil {
						seen[tp] = map[int64]bool{}
					}
					seen[tp][r.Offset] = true
					for seen[tp][given[tp]] {
						given[tp]++
					}
				}
			case op == 5 && len(live) > 0:
				s := live[rng.IntN(len(live))]
				pos := map[tlog.TopicPartition]int64{}
				for _, tp := range s.c.Assignment() {
					if p, err := s.c.Position(tp); err == nil {
						pos[tp] = p
					}
				}
				err := s.c.Commit(ctx)
				if err != nil {
					require.ErrorIs(t, err, tlog.ErrCommitFailed, "step %d", step)
					refused++
					break
				}
				commits++
				for tp, p := range pos {
					if p > given[tp] {
						t.Fatalf("step %d: committed %d on %v, but only offsets below %d were given out", step, p, tp, given[tp])
					}
				}
			case op == 6 && len(live) > 0:
				i := rng.IntN(len(live))
				if rng.IntN(2) == 0 {
					require.NoError(t, live[i].c.Close())
				} else {
					live[i].c.Crash()
				}
				live = append(live[:i], live[i+1:]...)
			case op == 7:
				_, err := l.ProduceTo(ctx, "t", int32(rng.IntN(partitions)), tlog.Record{Value: []byte("x")})
				require.NoError(t, err)
			case op == 8:
				time.Sleep(time.Duration(rng.IntN(60)) * time.Second)
			}
			checkOwners()
		}
		total := int64(0)
		for _, g := range given {
			total += g
		}
		t.Logf("%d consumers, %d generations, %d commits (%d refused), %d offsets given out", n, len(owner), commits, refused, total)
		for _, s := range live {
			if err := s.c.Close(); err != nil && !errors.Is(err, tlog.ErrClosed) {
				t.Fatal(err)
			}
		}
	})
}
