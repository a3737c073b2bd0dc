package group

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// sortedIDs hands out n member ids in a new group configured with seed and returns them in
// the order the group sorts them.
func sortedIDs(seed uint64, n int) []string {
	g := New("g", Config{IDSeed: seed, MemberIDPrefix: "p-"}, time.Unix(0, 0))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = g.newMemberID("c")
	}
	slices.Sort(ids)
	return ids
}

// With IDSeed, the order members sort in follows the seed, repeats for the same seed, and is
// not always the join order; without, it is the join order (for fewer than ten members).
func TestIDSeed_MemberOrderFollowsTheSeed(t *testing.T) {
	assert.Equal(t, []string{"c-p-1", "c-p-2", "c-p-3"}, sortedIDs(0, 3))
	orders := map[string]bool{}
	for s := uint64(1); s <= 32; s++ {
		ids := sortedIDs(s, 3)
		assert.Equal(t, ids, sortedIDs(s, 3), "seed %d", s)
		var order []byte
		for _, id := range ids {
			order = append(order, id[len(id)-1])
		}
		orders[string(order)] = true
	}
	assert.Greater(t, len(orders), 3, "seeds give many orders of three members: %v", orders)
}
