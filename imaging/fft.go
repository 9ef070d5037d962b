package imaging

import "github.com/enkg-go/enkg/spectral"

// fft2 is a reusable, allocation-free complex 2-D DFT of an nx×ny row-major grid of any size
// (spectral.CPlan) with numpy's conventions: forward X[k,l] = Σ x[i,j] e^{−2πi(ki/nx + lj/ny)},
// inverse with the factor 1/(nx·ny). Not safe for concurrent use.
type fft2 struct {
	nx, ny int
	plan   *spectral.CPlan
}

func newFFT2(nx, ny int) *fft2 {
	p, err := spectral.NewCPlan(nx, ny)
	if err != nil {
		panic(err) // sizes are validated by the callers
	}
	return &fft2{nx: nx, ny: ny, plan: p}
}

// forward transforms a in place.
func (f *fft2) forward(a []complex128) { f.plan.Forward(a, a) }

// inverse transforms a in place, including the 1/(nx·ny) factor.
func (f *fft2) inverse(a []complex128) { f.plan.Inverse(a, a) }

// fastSize returns the smallest power of two n' ≥ n (spectral's radix-4/2 stages are several
// times faster than its generic radix-p stages, even on a grid up to 4× larger).
func fastSize(n int) int {
	m := 1
	for m < n {
		m *= 2
	}
	return m
}
