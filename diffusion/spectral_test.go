package diffusion

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
	"gonum.org/v1/gonum/mat"
)

// randomSpectral returns a spectral Gaussian with a strictly positive, Hermitian power
// spectrum (|rfft2(kernel)|² + 0.05) and a random mean.
func randomSpectral(t *testing.T, nx, ny int) *SpectralGaussian {
	t.Helper()
	r := rng.New(21)
	ker := make([]float64, nx*ny)
	rng.Normal(ker, r)
	plan, _ := spectral.NewPlan(nx, ny)
	spec := make([]complex128, nx*(ny/2+1))
	plan.Forward(spec, ker)
	p := make([]float64, len(spec))
	for k, v := range spec {
		p[k] = (real(v)*real(v)+imag(v)*imag(v))/float64(nx*ny) + 0.05
	}
	mean := make([]float64, nx*ny)
	rng.Normal(mean, r)
	g, err := NewSpectralGaussian(nx, ny, mean, p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The covariance against the direct DFT sum C(r) = (1/N) Σ_k P_k cos(2π k·r/N) over the
// full spectrum (the missing half by Hermitian symmetry).
func TestSpectralCovarianceDirect(t *testing.T) {
	const nx, ny = 4, 6
	g := randomSpectral(t, nx, ny)
	nyh := ny/2 + 1
	full := func(k1, k2 int) float64 {
		if k2 < nyh {
			return g.Power()[k1*nyh+k2]
		}
		return g.Power()[((nx-k1)%nx)*nyh+(ny-k2)]
	}
	c := g.Covariance()
	for a := 0; a < nx*ny; a++ {
		for b := 0; b < nx*ny; b++ {
			r1, r2 := b/ny-a/ny, b%ny-a%ny
			s := 0.0
			for k1 := 0; k1 < nx; k1++ {
				for k2 := 0; k2 < ny; k2++ {
					s += full(k1, k2) * math.Cos(2*math.Pi*(float64(k1*r1)/nx+float64(k2*r2)/ny))
				}
			}
			s /= nx * ny
			if math.Abs(c.At(a, b)-s) > 1e-12 {
				t.Fatalf("C[%d,%d] = %v, direct %v", a, b, c.At(a, b), s)
			}
		}
	}
}

func TestSpectralEqualsDenseGaussian(t *testing.T) {
	const nx, ny = 4, 6
	g := randomSpectral(t, nx, ny)
	dense, err := NewGaussian(g.Mean(), g.Covariance())
	if err != nil {
		t.Fatal(err)
	}
	x := mat.NewDense(5, nx*ny, nil)
	r := rng.New(2)
	for i := 0; i < 5; i++ {
		row := x.RawRowView(i)
		rng.Normal(row, r)
		for j := range row {
			row[j] *= 3
		}
	}
	for _, sigma := range []float64{0, 0.01, 0.3, 1, 10, 1000} {
		a, b := mat.NewDense(5, nx*ny, nil), mat.NewDense(5, nx*ny, nil)
		if err := g.Denoise(context.Background(), a, x, sigma); err != nil {
			t.Fatal(err)
		}
		if err := dense.Denoise(context.Background(), b, x, sigma); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			closeVec(t, "spectral vs dense", a.RawRowView(i), b.RawRowView(i), 1e-10)
		}
	}
	for i := 0; i < 5; i++ {
		if got, want := g.LogProb(x.RawRowView(i)), dense.LogProb(x.RawRowView(i)); math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Fatalf("LogProb %v, dense %v", got, want)
		}
	}
	checkLimits(t, g, x.RawRowView(0), g.Mean(), 1e-6)
	// The zero-mean fast path (two FFTs straight from x into dst, in place).
	g0, _ := NewSpectralGaussian(nx, ny, nil, g.Power())
	d0, _ := NewGaussian(make([]float64, nx*ny), g.Covariance())
	y := mat.DenseCopyOf(x)
	if err := g0.Denoise(context.Background(), y, y, 0.4); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		closeVec(t, "zero-mean spectral vs dense", y.RawRowView(i), denoiseOne(t, d0, x.RawRowView(i), 0.4), 1e-10)
	}
	momentsExact(t, "SpectralGaussian.Sample", g, g.Mean(), g.Covariance(), 20000)
}

// The GRF of package spectral as a prior: its covariance equals A·Aᵀ, A the linear map
// from the normals ξ to the field (built column by column with FromNormals).
func TestSpectralFromGRF(t *testing.T) {
	const nx, ny = 6, 4
	grf, err := spectral.NewGRF(nx, ny, spectral.GRFSettings{Alpha: 2, Tau: 3, L1: 2 * math.Pi, L2: 5})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewSpectralGaussianFromGRF(grf)
	if err != nil {
		t.Fatal(err)
	}
	n := nx * ny
	a := mat.NewDense(n, 2*n, nil)
	xi, col := make([]float64, 2*n), make([]float64, n)
	for k := 0; k < 2*n; k++ {
		xi[k] = 1
		grf.FromNormals(col, xi)
		xi[k] = 0
		for i, v := range col {
			a.Set(i, k, v)
		}
	}
	var want mat.Dense
	want.Mul(a, a.T())
	got := g.Covariance()
	scale := 0.0
	for i := 0; i < n; i++ {
		scale = math.Max(scale, want.At(i, i))
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if math.Abs(got.At(i, j)-want.At(i, j)) > 1e-12*scale {
				t.Fatalf("GRF covariance [%d,%d]: spectral %v, A·Aᵀ %v", i, j, got.At(i, j), want.At(i, j))
			}
		}
	}
}

func TestFitSpectralGaussian(t *testing.T) {
	const nx, ny, m = 16, 16, 3000
	grf, _ := spectral.NewGRF(nx, ny, spectral.GRFSettings{Alpha: 2, Tau: 3})
	truth, _ := NewSpectralGaussianFromGRF(grf)
	// Add a constant mean 0.7 and make the k = 0 mode random too.
	p := append([]float64(nil), truth.Power()...)
	p[0] = 0.5
	mean := make([]float64, nx*ny)
	for i := range mean {
		mean[i] = 0.7
	}
	truth, _ = NewSpectralGaussian(nx, ny, mean, p)
	data := mat.NewDense(m, nx*ny, nil)
	if err := truth.Sample(context.Background(), data, 8); err != nil {
		t.Fatal(err)
	}
	fit, err := FitSpectralGaussian(nx, ny, data, SpectralFitSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if mu := fit.Mean()[3]; math.Abs(mu-0.7) > 4*math.Sqrt(0.5/float64(nx*ny*m)) {
		t.Errorf("fitted mean %v, want 0.7", mu)
	}
	// Each periodogram entry is an average of m exponential (complex modes) or χ²₁
	// (self-conjugate modes) variables: relative standard error ≤ √(2/m).
	worst := 0.0
	for k, pk := range truth.Power() {
		if pk == 0 {
			if fit.Power()[k] > 1e-20 {
				t.Errorf("mode %d: zero power fitted as %v", k, fit.Power()[k])
			}
			continue
		}
		worst = math.Max(worst, math.Abs(fit.Power()[k]/pk-1))
	}
	if se := math.Sqrt(2.0 / m); worst > 5*se {
		t.Errorf("2-D power: worst relative error %.3f > 5 s.e. (%.3f)", worst, 5*se)
	}
	iso, err := FitSpectralGaussian(nx, ny, data, SpectralFitSettings{Isotropic: true})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float64(nil), truth.Power()...)
	isotropise(want, nx, ny)
	for k := range want {
		if want[k] > 0 && math.Abs(iso.Power()[k]/want[k]-1) > 5*math.Sqrt(2.0/m) {
			t.Errorf("isotropic power[%d] = %v, want %v", k, iso.Power()[k], want[k])
		}
	}
}

func TestSpectralBadInput(t *testing.T) {
	if _, err := NewSpectralGaussian(3, 4, nil, make([]float64, 9)); !errors.Is(err, ErrDim) {
		t.Errorf("odd grid: %v", err)
	}
	if _, err := NewSpectralGaussian(4, 4, nil, make([]float64, 11)); !errors.Is(err, ErrDim) {
		t.Errorf("power length: %v", err)
	}
	p := make([]float64, 12)
	p[5] = -1
	if _, err := NewSpectralGaussian(4, 4, nil, p); !errors.Is(err, ErrParam) {
		t.Errorf("negative power: %v", err)
	}
	p[5] = 0
	p[1*3+0] = 1 // P[1,0] ≠ P[3,0]
	if _, err := NewSpectralGaussian(4, 4, nil, p); !errors.Is(err, ErrParam) {
		t.Errorf("non-Hermitian power: %v", err)
	}
	if _, err := FitSpectralGaussian(4, 4, mat.NewDense(1, 16, nil), SpectralFitSettings{}); !errors.Is(err, ErrDim) {
		t.Errorf("one field: %v", err)
	}
	g := randomSpectral(t, 4, 4)
	x := mat.NewDense(1, 16, nil)
	x.Set(0, 3, math.NaN())
	if err := g.Denoise(context.Background(), x, x, 1); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
}
