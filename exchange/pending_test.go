package exchange

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPendingTags_AgainstMap registers tags slightly out of order and with holes (auto-ack
// deliveries), settles single tags and prefixes, and compares with a map.
func TestPendingTags_AgainstMap(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var pt pendingTags
		model := map[uint64]*pending{}
		next := uint64(0)
		var delayed []uint64
		register := func(tag uint64) {
			p := &pending{d: &Delivery{DeliveryTag: tag}}
			pt.add(tag, p)
			model[tag] = p
		}
		for range 2000 {
			switch rng.IntN(6) {
			case 0, 1:
				next++
				switch rng.IntN(4) {
				case 0: // auto-ack: the tag is used but never registered
				case 1:
					delayed = append(delayed, next) // registered later, out of order
				default:
					register(next)
				}
			case 2:
				if len(delayed) > 0 {
					register(delayed[0])
					delayed = delayed[1:]
				}
			case 3, 4:
				tag := uint64(rng.IntN(int(next) + 2))
				got := pt.take(tag)
				if want := model[tag]; got != want {
					t.Fatalf("seed %d: take(%d) = %v, want %v", seed, tag, got, want)
				}
				delete(model, tag)
			case 5:
				tag := uint64(rng.IntN(int(next) + 2))
				got := pt.takeUpTo(tag, nil)
				var want []*pending
				for k, p := range model {
					if tag == 0 || k <= tag {
						want = append(want, p)
						delete(model, k)
					}
				}
				slices.SortFunc(want, func(a, b *pending) int { return cmpU64(a.d.DeliveryTag, b.d.DeliveryTag) })
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d: takeUpTo(%d) = %d entries, want %d", seed, tag, len(got), len(want))
				}
			}
			if pt.n != len(model) {
				t.Fatalf("seed %d: %d outstanding, want %d", seed, pt.n, len(model))
			}
		}
	}
}
