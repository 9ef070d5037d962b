// Package rng derives reproducible random streams for ensembles.
//
// Every random draw in enkg comes from math/rand/v2's PCG generator seeded explicitly. An
// ensemble member j draws from its own stream derived from (seed, j),
//
//	Stream(seed, j) = PCG(splitmix64(seed), splitmix64(seed ⊕ golden·(j+1))),
//
// so results do not depend on how many workers evaluate the ensemble, nor on the order in
// which members are processed.
package rng

import "math/rand/v2"

// splitmix64 is the finaliser of SplitMix64 (Steele, Lea, Flood 2014): a bijective mixer.
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// New returns the generator of a single seed (the stream of "member −1").
func New(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed), splitmix64(seed^0x5851f42d4c957f2d)))
}

// Stream returns the independent generator of member j ≥ 0 under seed.
func Stream(seed uint64, j int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed), splitmix64(seed^(0x9e3779b97f4a7c15*uint64(j+1)))))
}

// Sub derives a child seed from a seed and a label, so that independent parts of one run
// (the truth, the noise, the initial ensemble) draw from unrelated streams.
func Sub(seed uint64, label string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(label); i++ {
		h ^= uint64(label[i])
		h *= 1099511628211
	}
	return splitmix64(seed ^ splitmix64(h))
}

// Normal fills dst with independent standard normal draws from r.
func Normal(dst []float64, r *rand.Rand) {
	for i := range dst {
		dst[i] = r.NormFloat64()
	}
}
