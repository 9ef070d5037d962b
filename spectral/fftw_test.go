//go:build fftw

package spectral

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestFFTWMatchesGo checks the FFTW backend against the pure-Go plan on Hermitian-consistent
// spectra (FFTW's multi-dimensional c2r, like every c2r, assumes them) and on the k2 = 0 and
// ny/2 columns with imaginary parts, which both must ignore.
func TestFFTWMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{8, 8}, {16, 8}, {64, 64}, {128, 128}, {12, 18}} {
		nx, ny := sz[0], sz[1]
		p, err := NewPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		if p.Backend() != "fftw" {
			t.Fatalf("backend %q, want fftw", p.Backend())
		}
		g, _ := newPurePlan(nx, ny)
		f := randReal(r, nx*ny)
		F1 := make([]complex128, nx*p.NyHalf())
		F2 := make([]complex128, nx*p.NyHalf())
		p.Forward(F1, f)
		g.Forward(F2, f)
		if d := maxAbsDiffC(F1, F2); d > 1e-12 {
			t.Errorf("%d×%d: Forward fftw vs go %g", nx, ny, d)
		}
		o1, o2 := make([]float64, nx*ny), make([]float64, nx*ny)
		p.Inverse(o1, F1)
		g.Inverse(o2, F1)
		if d := maxAbsDiff(o1, o2); d > 1e-13 {
			t.Errorf("%d×%d: Inverse fftw vs go %g", nx, ny, d)
		}
		if d := maxAbsDiff(o1, f); d > 1e-13 {
			t.Errorf("%d×%d: fftw round trip %g", nx, ny, d)
		}
	}
}

func BenchmarkFFTW(b *testing.B) {
	for _, n := range []int{64, 128, 256} {
		r := rand.New(rand.NewPCG(1, 2))
		f := randReal(r, n*n)
		F := make([]complex128, n*(n/2+1))
		p, _ := NewPlan(n, n)
		g, _ := newPurePlan(n, n)
		fb := p.ext.(*fftwReal)
		copy(fb.rbuf, f)
		p.Forward(F, f)
		b.Run(fmt.Sprintf("r2c/%d/go", n), func(b *testing.B) {
			for b.Loop() {
				g.Forward(F, f)
			}
		})
		b.Run(fmt.Sprintf("r2c/%d/fftw-plan", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(F, f)
			}
		})
		b.Run(fmt.Sprintf("r2c/%d/fftw-C", n), func(b *testing.B) {
			fftwLoop(fb, false, false, nil, b.N)
		})
		b.Run(fmt.Sprintf("c2r/%d/go", n), func(b *testing.B) {
			for b.Loop() {
				g.Inverse(f, F)
			}
		})
		b.Run(fmt.Sprintf("c2r/%d/fftw-plan", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Inverse(f, F)
			}
		})
		b.Run(fmt.Sprintf("c2r/%d/fftw-C-copyin", n), func(b *testing.B) {
			fftwLoop(fb, true, true, F, b.N)
		})
		b.Run(fmt.Sprintf("c2r/%d/fftw-C", n), func(b *testing.B) {
			copy(fb.cbuf, F)
			fftwLoop(fb, true, false, nil, b.N)
		})
	}
}
