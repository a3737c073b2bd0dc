// Package seed turns a seed and a name or a count into a well-mixed 64-bit value, for the
// engines' seeded choices (where a queue's round-robin starts, the member ids a group hands
// out): the same inputs give the same value in every process, and nearby inputs give unrelated
// ones. It has no state.
package seed

import "hash/fnv"

// Mix is SplitMix64's finalizer: a bijection of x whose output bits each depend on every
// input bit.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Of returns the value of name under seed.
func Of(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name)) // a hash.Hash's Write never fails
	return Mix(seed ^ h.Sum64())
}
