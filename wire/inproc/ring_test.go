package inproc

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRing_MatchesModelUnderRandomOperations drives a ring with random writes, reads and
// releases and checks each result against a plain byte slice with the same capacity.
func TestRing_MatchesModelUnderRandomOperations(t *testing.T) {
	for _, max := range []int{1, 7, initialBufferSize, 5000} {
		seed := rand.Uint64()
		rng := rand.New(rand.NewPCG(seed, uint64(max)))
		b := ring{max: max}
		var model []byte
		next := byte(0)
		for op := range 20_000 {
			switch k := rng.IntN(100); {
			case k < 50:
				p := make([]byte, rng.IntN(2*max+2))
				for i := range p {
					p[i] = next
					next++
				}
				n := b.write(p)
				want := min(len(p), max-len(model))
				if n != want {
					t.Fatalf("max %d seed %d op %d: write(%d) = %d, want %d", max, seed, op, len(p), n, want)
				}
				model = append(model, p[:n]...)
				next -= byte(len(p) - n) // unwritten bytes are offered again
			case k < 99:
				p := make([]byte, rng.IntN(2*max+2))
				n := b.read(p)
				want := min(len(p), len(model))
				if n != want || !bytes.Equal(p[:n], model[:n]) {
					t.Fatalf("max %d seed %d op %d: read(%d) = %d %v, want %d %v",
						max, seed, op, len(p), n, p[:n], want, model[:want])
				}
				model = model[n:]
			default:
				b.release()
				model = nil
			}
			if b.n != len(model) || len(b.buf) > max || b.free() != max-len(model) {
				t.Fatalf("max %d seed %d op %d: n %d len(buf) %d, model holds %d",
					max, seed, op, b.n, len(b.buf), len(model))
			}
		}
	}
}

func TestRing_GrowsFromInitialSizeByDoubling(t *testing.T) {
	b := ring{max: 256 << 10}
	if b.buf != nil {
		t.Fatal("allocated before the first write")
	}
	b.write(make([]byte, 10))
	if len(b.buf) != initialBufferSize {
		t.Fatalf("first write allocated %d, want %d", len(b.buf), initialBufferSize)
	}
	b.write(make([]byte, 5000)) // 5010 queued: 1 KiB doubles to 8 KiB
	if len(b.buf) != 8<<10 {
		t.Fatalf("grew to %d, want %d", len(b.buf), 8<<10)
	}
	b.write(make([]byte, 1<<20)) // only up to max
	if len(b.buf) != b.max || b.n != b.max {
		t.Fatalf("len(buf) %d n %d, want both %d", len(b.buf), b.n, b.max)
	}
}
