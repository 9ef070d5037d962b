package spectral

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The benchmarks time one 2-D transform of each size with this package's pure-Go plan and
// with gonum's dsp/fourier composed into 2-D (gonumPlan) side by side, so that ratios from
// one run can be quoted.

var benchSizes = []int{64, 128, 256}

func BenchmarkRFFT2(b *testing.B) {
	for _, n := range benchSizes {
		r := rand.New(rand.NewPCG(1, 2))
		f := randReal(r, n*n)
		F := make([]complex128, n*(n/2+1))
		p, _ := NewPlan(n, n)
		g := newGonumPlan(n, n)
		b.Run(fmt.Sprintf("r2c/%d/enkg", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(F, f)
			}
		})
		b.Run(fmt.Sprintf("r2c/%d/gonum", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Forward(F, f)
			}
		})
		p.Forward(F, f)
		b.Run(fmt.Sprintf("c2r/%d/enkg", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Inverse(f, F)
			}
		})
		b.Run(fmt.Sprintf("c2r/%d/gonum", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Inverse(f, F)
			}
		})
	}
}

func BenchmarkCFFT2(b *testing.B) {
	for _, n := range []int{128, 96, 100} {
		r := rand.New(rand.NewPCG(1, 2))
		x := randCmplx(r, n*n)
		p, _ := NewCPlan(n, n)
		b.Run(fmt.Sprintf("c2c/%d/enkg", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(x, x)
			}
		})
	}
}
