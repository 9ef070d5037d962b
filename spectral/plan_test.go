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

var testSizes = [][2]int{{2, 2}, {2, 8}, {4, 4}, {8, 2}, {6, 10}, {8, 16}, {16, 8}, {12, 18}, {32, 32}, {30, 14}, {64, 16}, {74, 10}, {6, 86}}

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
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {5, 1}, {3, 5}, {4, 4}, {8, 6}, {7, 11}, {13, 17}, {16, 32}, {9, 27}, {31, 8}, {10, 12}, {37, 41}, {2, 67}} {
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

func asCmplx(ri []float64) []complex128 {
	out := make([]complex128, len(ri)/2)
	for i := range out {
		out[i] = complex(ri[2*i], ri[2*i+1])
	}
	return out
}

// TestNumpyFixtures compares with outputs of numpy.fft itself (testdata/gen_numpy.py).
func TestNumpyFixtures(t *testing.T) {
	for _, avx := range []bool{true, false} {
		restore := setAVX(avx)
		_, f := readNPY(t, "numpy_rfft2_in.npy")
		_, wantF := readNPY(t, "numpy_rfft2_out.npy")
		p, _ := NewPlan(6, 10)
		F := make([]complex128, 6*6)
		p.Forward(F, f)
		if d := maxAbsDiffC(F, asCmplx(wantF)); d > 1e-13 {
			t.Errorf("avx=%v rfft2 vs numpy: %g", avx, d)
		}
		_, gin := readNPY(t, "numpy_irfft2_in.npy")
		_, want := readNPY(t, "numpy_irfft2_out.npy")
		p8, _ := NewPlan(8, 8)
		got := make([]float64, 64)
		p8.Inverse(got, asCmplx(gin))
		if d := maxAbsDiff(got, want); d > 1e-15 {
			t.Errorf("avx=%v irfft2 (non-Hermitian input) vs numpy: %g", avx, d)
		}
		_, zin := readNPY(t, "numpy_fft2_in.npy")
		_, zf := readNPY(t, "numpy_fft2_out.npy")
		_, zi := readNPY(t, "numpy_ifft2_out.npy")
		cp, _ := NewCPlan(5, 6)
		out := make([]complex128, 30)
		cp.Forward(out, asCmplx(zin))
		if d := maxAbsDiffC(out, asCmplx(zf)); d > 1e-13 {
			t.Errorf("avx=%v fft2 vs numpy: %g", avx, d)
		}
		cp.Inverse(out, asCmplx(zin))
		if d := maxAbsDiffC(out, asCmplx(zi)); d > 1e-15 {
			t.Errorf("avx=%v ifft2 vs numpy: %g", avx, d)
		}
		restore()
	}
}

// setAVX switches the assembly kernels on or off (when available) and returns the undo.
func setAVX(on bool) func() {
	old := useAVX
	useAVX = on && old
	return func() { useAVX = old }
}

// TestKernelsAgree runs the same transforms with the assembly kernels and with pure Go.
func TestKernelsAgree(t *testing.T) {
	if !useAVX {
		t.Skip("assembly kernels unavailable on this machine/build; pure Go is what runs")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, sz := range [][2]int{{2, 2}, {4, 6}, {8, 8}, {16, 32}, {34, 18}, {64, 64}, {128, 128}, {12, 130}, {8, 256}, {4, 4}, {6, 8}, {10, 512}} {
		nx, ny := sz[0], sz[1]
		f := randReal(r, nx*ny)
		G := randCmplx(r, nx*(ny/2+1))
		x := randCmplx(r, nx*ny)
		var F [2][]complex128
		var o [2][]float64
		var c [2][]complex128
		for k, avx := range []bool{true, false} {
			restore := setAVX(avx)
			p, _ := NewPlan(nx, ny)
			F[k] = make([]complex128, nx*p.NyHalf())
			p.Forward(F[k], f)
			o[k] = make([]float64, nx*ny)
			p.Inverse(o[k], G)
			cp, _ := NewCPlan(nx, ny)
			c[k] = make([]complex128, nx*ny)
			cp.Forward(c[k], x)
			restore()
		}
		if d := maxAbsDiffC(c[0], c[1]); d > 1e-12 {
			t.Errorf("%v: CPlan asm vs Go %g", sz, d)
		}
		if d := maxAbsDiffC(F[0], F[1]); d > 1e-12 {
			t.Errorf("%v: Forward asm vs Go %g", sz, d)
		}
		if d := maxAbsDiff(o[0], o[1]); d > 1e-14 {
			t.Errorf("%v: Inverse asm vs Go %g", sz, d)
		}
	}
}

func TestPlanVsGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, sz := range [][2]int{{64, 64}, {128, 128}, {256, 64}, {48, 96}, {100, 36}} {
		nx, ny := sz[0], sz[1]
		p, _ := NewPlan(nx, ny)
		g := newGonumPlan(nx, ny)
		f := randReal(r, nx*ny)
		F1 := make([]complex128, nx*p.NyHalf())
		F2 := make([]complex128, nx*p.NyHalf())
		p.Forward(F1, f)
		g.Forward(F2, f)
		if d := maxAbsDiffC(F1, F2); d > 1e-11 {
			t.Errorf("%v: Forward vs gonum %g", sz, d)
		}
		o1, o2 := make([]float64, nx*ny), make([]float64, nx*ny)
		G := randCmplx(r, nx*p.NyHalf())
		p.Inverse(o1, G)
		g.Inverse(o2, G)
		if d := maxAbsDiff(o1, o2); d > 1e-14 {
			t.Errorf("%v: Inverse vs gonum %g", sz, d)
		}
	}
}

// TestParseval: Σ f² = (1/(nx·ny)) Σ_full |F|², with the half spectrum's interior columns
// counted twice.
func TestParseval(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, sz := range [][2]int{{8, 8}, {128, 128}, {30, 14}} {
		nx, ny := sz[0], sz[1]
		p, _ := NewPlan(nx, ny)
		f := randReal(r, nx*ny)
		F := make([]complex128, nx*p.NyHalf())
		p.Forward(F, f)
		var s1, s2 float64
		for _, v := range f {
			s1 += v * v
		}
		for i := 0; i < nx; i++ {
			for j := 0; j < p.NyHalf(); j++ {
				w := 2.0
				if j == 0 || j == ny/2 {
					w = 1
				}
				v := F[i*p.NyHalf()+j]
				s2 += w * (real(v)*real(v) + imag(v)*imag(v))
			}
		}
		s2 /= float64(nx * ny)
		if math.Abs(s1-s2) > 1e-12*s1 {
			t.Errorf("%v: Σf² = %.15g, Σ|F|²/N = %.15g", sz, s1, s2)
		}
		// Complex plan: Σ|x|² = Σ|X|²/N.
		cp, _ := NewCPlan(nx, ny)
		x := randCmplx(r, nx*ny)
		X := make([]complex128, nx*ny)
		cp.Forward(X, x)
		s1, s2 = 0, 0
		for i := range x {
			s1 += real(x[i])*real(x[i]) + imag(x[i])*imag(x[i])
			s2 += real(X[i])*real(X[i]) + imag(X[i])*imag(X[i])
		}
		if math.Abs(s1-s2/float64(nx*ny)) > 1e-12*s1 {
			t.Errorf("%v: complex Parseval %g vs %g", sz, s1, s2/float64(nx*ny))
		}
	}
}

func TestPlanAllocs(t *testing.T) {
	p, _ := NewPlan(64, 64)
	f := make([]float64, 64*64)
	F := make([]complex128, 64*33)
	if a := testing.AllocsPerRun(20, func() { p.Forward(F, f); p.Inverse(f, F) }); a != 0 {
		t.Errorf("Plan: %v allocations per Forward+Inverse", a)
	}
	cp, _ := NewCPlan(48, 64)
	x := make([]complex128, 48*64)
	if a := testing.AllocsPerRun(20, func() { cp.Forward(x, x); cp.Inverse(x, x) }); a != 0 {
		t.Errorf("CPlan: %v allocations per Forward+Inverse", a)
	}
}

func TestPlanLengthPanics(t *testing.T) {
	p, _ := NewPlan(8, 8)
	for name, f := range map[string]func(){
		"Forward dst": func() { p.Forward(make([]complex128, 8*4), make([]float64, 64)) },
		"Forward src": func() { p.Forward(make([]complex128, 8*5), make([]float64, 63)) },
		"Inverse":     func() { p.Inverse(make([]float64, 64), make([]complex128, 8*4)) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic on wrong length", name)
				}
			}()
			f()
		}()
	}
}

// FuzzPlan checks properties on arbitrary sizes and data: the round trip, agreement of the
// real and complex plans (rfft2 is the left half of fft2 of the real field), and that
// Inverse leaves its input untouched.
func FuzzPlan(f *testing.F) {
	f.Add(uint8(3), uint8(4), uint64(1))
	f.Add(uint8(0), uint8(0), uint64(2))
	f.Add(uint8(17), uint8(31), uint64(3))
	f.Fuzz(func(t *testing.T, a, b uint8, seed uint64) {
		nx, ny := 2*(int(a)%40+1), 2*(int(b)%40+1)
		p, err := NewPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := NewCPlan(nx, ny)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(seed, 7))
		x := randReal(r, nx*ny)
		nyh := p.NyHalf()
		F := make([]complex128, nx*nyh)
		p.Forward(F, x)
		xc := make([]complex128, nx*ny)
		for i, v := range x {
			xc[i] = complex(v, 0)
		}
		cp.Forward(xc, xc)
		for i := 0; i < nx; i++ {
			for j := 0; j < nyh; j++ {
				if d := cmplx.Abs(F[i*nyh+j] - xc[i*ny+j]); d > 1e-11 {
					t.Fatalf("%d×%d: rfft2 and fft2 differ by %g at (%d,%d)", nx, ny, d, i, j)
				}
			}
		}
		Fc := append([]complex128(nil), F...)
		y := make([]float64, nx*ny)
		p.Inverse(y, F)
		for i := range F {
			if F[i] != Fc[i] {
				t.Fatal("Inverse modified its input")
			}
		}
		if d := maxAbsDiff(x, y); d > 1e-12 {
			t.Fatalf("%d×%d: round trip error %g", nx, ny, d)
		}
	})
}
