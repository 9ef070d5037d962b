package rng

import (
	"fmt"
	"math"
	"testing"
)

func TestStreamsReproducibleAndDistinct(t *testing.T) {
	a, b := Stream(7, 3), Stream(7, 3)
	for i := 0; i < 10; i++ {
		if a.Uint64() != b.Uint64() {
			t.Fatal("same (seed, member) gave different streams")
		}
	}
	seen := map[uint64]bool{}
	for j := 0; j < 1000; j++ {
		v := Stream(7, j).Uint64()
		if seen[v] {
			t.Fatalf("member %d repeats the first draw of another member", j)
		}
		seen[v] = true
	}
	if Stream(7, 0).Uint64() == Stream(8, 0).Uint64() {
		t.Error("seeds 7 and 8 gave the same stream")
	}
	if Sub(1, "truth") == Sub(1, "noise") {
		t.Error("Sub labels collide")
	}
}

func TestNormalMoments(t *testing.T) {
	x := make([]float64, 200000)
	Normal(x, New(1))
	var m, v float64
	for _, f := range x {
		m += f
	}
	m /= float64(len(x))
	for _, f := range x {
		v += (f - m) * (f - m)
	}
	v /= float64(len(x) - 1)
	// 5 standard errors.
	if math.Abs(m) > 5/math.Sqrt(float64(len(x))) || math.Abs(v-1) > 5*math.Sqrt(2/float64(len(x))) {
		t.Errorf("mean %v variance %v", m, v)
	}
}

func ExampleStream() {
	// Member 2 of an ensemble seeded with 42 draws the same numbers whoever computes it.
	a := Stream(42, 2).NormFloat64()
	b := Stream(42, 2).NormFloat64()
	fmt.Println(a == b)
	// Output: true
}
