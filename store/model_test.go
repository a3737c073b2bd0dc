package store_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/store"
)

// TestStore_RandomOpsMatchModel drives both backends with seeded random updates (some of which
// fail and must leave no trace) and checks Get, ForEach and Seek against a plain map after each.
// Failures name the seed and step to replay.
func TestStore_RandomOpsMatchModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, s *store.Store) { runRandomOps(t, s, seed) })
		})
	}
}

var modelPath = []string{store.BucketLog, "model"}

func runRandomOps(t *testing.T, s *store.Store, seed uint64) {
	require.NoError(t, s.Update(func(tx *store.Tx) error {
		_, err := tx.CreateBucketIfNotExists(modelPath...)
		return err
	}))
	rng := rand.New(rand.NewPCG(seed, seed))
	randKey := func() string { return string([]byte{byte('a' + rng.IntN(6)), byte('0' + rng.IntN(3))}) }
	errAbort := errors.New("abort")
	model := map[string]string{}

	for step := range 300 {
		// The ops are drawn before Update, so a re-run of fn would replay the same ones.
		type op struct {
			del  bool
			k, v string
		}
		ops := make([]op, 1+rng.IntN(4))
		for i := range ops {
			k := randKey()
			ops[i] = op{del: rng.IntN(3) == 0, k: k, v: fmt.Sprintf("%s@%d", k, step)}
		}
		abort := rng.IntN(5) == 0

		err := s.Update(func(tx *store.Tx) error {
			b := tx.Bucket(modelPath...)
			for _, o := range ops {
				var err error
				if o.del {
					err = b.Delete([]byte(o.k))
				} else {
					err = b.Put([]byte(o.k), []byte(o.v))
				}
				if err != nil {
					return err
				}
			}
			if abort {
				return errAbort
			}
			return nil
		})
		if abort {
			require.ErrorIs(t, err, errAbort, "seed %d step %d", seed, step)
		} else {
			require.NoError(t, err, "seed %d step %d", seed, step)
			for _, o := range ops {
				if o.del {
					delete(model, o.k)
				} else {
					model[o.k] = o.v
				}
			}
		}

		want := slices.Sorted(maps.Keys(model))
		require.Equal(t, want, nilIfEmpty(keys(t, s, modelPath...)), "seed %d step %d", seed, step)
		from := randKey()
		var got []string
		require.NoError(t, s.View(func(tx *store.Tx) error {
			b := tx.Bucket(modelPath...)
			for _, k := range want {
				require.Equal(t, model[k], string(b.Get([]byte(k))), "seed %d step %d key %q", seed, step, k)
			}
			return b.Seek([]byte(from), func(k, _ []byte) (bool, error) {
				got = append(got, string(k))
				return true, nil
			})
		}))
		i, _ := slices.BinarySearch(want, from)
		require.Equal(t, nilIfEmpty(want[i:]), nilIfEmpty(got), "seed %d step %d seek %q", seed, step, from)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
