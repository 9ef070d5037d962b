package spectral

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// naiveRFFT2 is the O(N²) definition of numpy.fft.rfft2.
func naiveRFFT2(f []float64, nx, ny int) []complex128 {
	nyh := ny/2 + 1
	out := make([]complex128, nx*nyh)
	for k1 := 0; k1 < nx; k1++ {
		for k2 := 0; k2 < nyh; k2++ {
			var s complex128
			for i := 0; i < nx; i++ {
				for j := 0; j < ny; j++ {
					ph := -2 * math.Pi * (float64(k1*i%nx)/float64(nx) + float64(k2*j%ny)/float64(ny))
					s += complex(f[i*ny+j], 0) * cmplx.Exp(complex(0, ph))
				}
			}
			out[k1*nyh+k2] = s
		}
	}
	return out
}

// naiveIRFFT2 is the O(N²) definition of numpy.fft.irfft2(F, s=(nx, ny)): a complex inverse
// DFT along axis 0, then a c2r inverse along axis 1 that ignores the imaginary parts of the
// k2 = 0 and k2 = ny/2 entries.
func naiveIRFFT2(F []complex128, nx, ny int) []float64 {
	nyh := ny/2 + 1
	g := make([]complex128, nx*nyh)
	for i := 0; i < nx; i++ {
		for k2 := 0; k2 < nyh; k2++ {
			var s complex128
			for k1 := 0; k1 < nx; k1++ {
				ph := 2 * math.Pi * float64(k1*i%nx) / float64(nx)
				s += F[k1*nyh+k2] * cmplx.Exp(complex(0, ph))
			}
			g[i*nyh+k2] = s / complex(float64(nx), 0)
		}
	}
	out := make([]float64, nx*ny)
	for i := 0; i < nx; i++ {
		for j := 0; j < ny; j++ {
			s := real(g[i*nyh]) + real(g[i*nyh+ny/2])*math.Cos(math.Pi*float64(j))
			for k2 := 1; k2 < ny/2; k2++ {
				ph := 2 * math.Pi * float64(k2*j%ny) / float64(ny)
				s += 2 * real(g[i*nyh+k2]*cmplx.Exp(complex(0, ph)))
			}
			out[i*ny+j] = s / float64(ny)
		}
	}
	return out
}

func randReal(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func randCmplx(r *rand.Rand, n int) []complex128 {
	x := make([]complex128, n)
	for i := range x {
		x[i] = complex(r.NormFloat64(), r.NormFloat64())
	}
	return x
}

func maxAbsDiffC(a, b []complex128) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, cmplx.Abs(a[i]-b[i]))
	}
	return m
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

var testSizes = [][2]int{{2, 2}, {2, 8}, {4, 4}, {8, 2}, {6, 10}, {8, 16}, {16, 8}, {12, 18}, {32, 32}, {30, 14}, {64, 16}}

func TestPlanForwardNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range testSizes {
		nx, ny := sz[0], sz[1]
		p, err := NewPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		f := randReal(r, nx*ny)
		got := make([]complex128, nx*p.NyHalf())
		p.Forward(got, f)
		want := naiveRFFT2(f, nx, ny)
		if d := maxAbsDiffC(got, want); d > 1e-12*float64(nx*ny) {
			t.Errorf("%d×%d: Forward vs naive DFT max diff %g", nx, ny, d)
		}
	}
}

func TestPlanInverseNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range testSizes {
		nx, ny := sz[0], sz[1]
		p, err := NewPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		// A general (non-Hermitian) half spectrum: numpy's semantics must hold for it too.
		F := randCmplx(r, nx*p.NyHalf())
		orig := append([]complex128(nil), F...)
		got := make([]float64, nx*ny)
		p.Inverse(got, F)
		want := naiveIRFFT2(F, nx, ny)
		if d := maxAbsDiff(got, want); d > 1e-13 {
			t.Errorf("%d×%d: Inverse vs naive max diff %g", nx, ny, d)
		}
		for i := range F {
			if F[i] != orig[i] {
				t.Fatalf("%d×%d: Inverse modified src", nx, ny)
			}
		}
	}
}

func TestPlanRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, sz := range testSizes {
		nx, ny := sz[0], sz[1]
		p, _ := NewPlan(nx, ny)
		f := randReal(r, nx*ny)
		F := make([]complex128, nx*p.NyHalf())
		g := make([]float64, nx*ny)
		p.Forward(F, f)
		p.Inverse(g, F)
		if d := maxAbsDiff(f, g); d > 1e-14*math.Log2(float64(nx*ny))*4 {
			t.Errorf("%d×%d: round trip max diff %g", nx, ny, d)
		}
	}
}

func TestPlanBadSizes(t *testing.T) {
	for _, sz := range [][2]int{{0, 4}, {4, 0}, {-2, 4}, {3, 4}, {4, 5}, {1, 1}} {
		if _, err := NewPlan(sz[0], sz[1]); err == nil {
			t.Errorf("NewPlan(%d, %d): want error", sz[0], sz[1])
		}
	}
	for _, sz := range [][2]int{{0, 4}, {4, 0}, {-1, 3}} {
		if _, err := NewCPlan(sz[0], sz[1]); err == nil {
			t.Errorf("NewCPlan(%d, %d): want error", sz[0], sz[1])
		}
	}
}

func naiveFFT2(x []complex128, nx, ny int, sign float64) []complex128 {
	out := make([]complex128, nx*ny)
	for k1 := 0; k1 < nx; k1++ {
		for k2 := 0; k2 < ny; k2++ {
			var s complex128
			for i := 0; i < nx; i++ {
				for j := 0; j < ny; j++ {
					ph := sign * 2 * math.Pi * (float64(k1*i%nx)/float64(nx) + float64(k2*j%ny)/float64(ny))
					s += x[i*ny+j] * cmplx.Exp(complex(0, ph))
				}
			}
			out[k1*ny+k2] = s
		}
	}
	return out
}

func TestCPlanNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {5, 1}, {3, 5}, {4, 4}, {8, 6}, {7, 11}, {13, 17}, {16, 32}, {9, 27}, {31, 8}, {10, 12}} {
		nx, ny := sz[0], sz[1]
		p, err := NewCPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		x := randCmplx(r, nx*ny)
		got := make([]complex128, nx*ny)
		p.Forward(got, x)
		want := naiveFFT2(x, nx, ny, -1)
		if d := maxAbsDiffC(got, want); d > 1e-12*float64(nx*ny) {
			t.Errorf("%d×%d: CPlan.Forward vs naive max diff %g", nx, ny, d)
		}
		p.Inverse(got, x)
		want = naiveFFT2(x, nx, ny, 1)
		for i := range want {
			want[i] /= complex(float64(nx*ny), 0)
		}
		if d := maxAbsDiffC(got, want); d > 1e-14*float64(nx*ny) {
			t.Errorf("%d×%d: CPlan.Inverse vs naive max diff %g", nx, ny, d)
		}
		// In place.
		y := append([]complex128(nil), x...)
		p.Forward(y, y)
		p.Inverse(y, y)
		if d := maxAbsDiffC(y, x); d > 1e-13 {
			t.Errorf("%d×%d: CPlan in-place round trip max diff %g", nx, ny, d)
		}
	}
}
