package diffusion

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
	"gonum.org/v1/gonum/mat"
)

// SpectralGaussian is a stationary Gaussian prior on a periodic nx×ny grid (both even):
// its covariance is diagonal in Fourier space,
//
//	C = F⁻¹·diag(P)·F,   C(r) = (1/N) Σ_k P_k e^{2πi k·r/N},   N = nx·ny,
//
// with F the unnormalised 2-D DFT and P ≥ 0 the power spectrum (P_k = E|F(x − μ)_k|²/N,
// the periodogram's expectation). The exact denoiser costs two real FFTs per member:
//
//	D(x; σ) = μ + F⁻¹[ P/(P + σ²) ⊙ F(x − μ) ].
//
// P is stored in numpy's rfft2 layout, nx rows of ny/2+1 entries (k2 = 0 … ny/2). Modes
// with P_k = 0 are deterministic (equal to μ's); LogProb is then the density on the
// support. It is safe for concurrent use.
type SpectralGaussian struct {
	nx, ny, nyh int
	mean        []float64
	zeroMean    bool
	power       []float64
	Workers     int
	Norm        Affine
	pool        sync.Pool // *specWork
}

type specWork struct {
	plan *spectral.Plan
	spec []complex128
	buf  []float64
	fil  []float64
}

// NewSpectralGaussian returns the stationary Gaussian with mean field mean (length nx·ny;
// nil for zero) and power spectrum power (length nx·(ny/2+1), rfft2 layout). The power
// must be finite, non-negative and Hermitian along the self-conjugate columns k2 = 0 and
// k2 = ny/2 (P[k1] = P[−k1] there).
func NewSpectralGaussian(nx, ny int, mean, power []float64) (*SpectralGaussian, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("%w: spectral Gaussian needs even positive grid sizes, got %d×%d", ErrDim, nx, ny)
	}
	n, nyh := nx*ny, ny/2+1
	if mean == nil {
		mean = make([]float64, n)
	}
	if len(mean) != n {
		return nil, fmt.Errorf("%w: spectral Gaussian mean has length %d, grid %d×%d", ErrDim, len(mean), nx, ny)
	}
	if len(power) != nx*nyh {
		return nil, fmt.Errorf("%w: spectral Gaussian power has length %d, want %d×%d = %d", ErrDim, len(power), nx, nyh, nx*nyh)
	}
	if err := finiteSlice("spectral Gaussian mean", mean); err != nil {
		return nil, err
	}
	pmax := 0.0
	for i, p := range power {
		if !(p >= 0) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("%w: spectral Gaussian power[%d] = %v must be finite and ≥ 0", ErrParam, i, p)
		}
		pmax = math.Max(pmax, p)
	}
	for _, j := range []int{0, ny / 2} {
		for i := 1; i < nx; i++ {
			a, b := power[i*nyh+j], power[((nx-i)%nx)*nyh+j]
			if math.Abs(a-b) > 1e-12*pmax {
				return nil, fmt.Errorf("%w: spectral Gaussian power is not Hermitian: P[%d,%d] = %v, P[%d,%d] = %v", ErrParam, i, j, a, nx-i, j, b)
			}
		}
	}
	zero := true
	for _, v := range mean {
		zero = zero && v == 0
	}
	return &SpectralGaussian{nx: nx, ny: ny, nyh: nyh, mean: append([]float64(nil), mean...), zeroMean: zero,
		power: append([]float64(nil), power...)}, nil
}

// NewSpectralGaussianFromGRF returns the prior of the Gaussian random fields that g
// samples (InverseBench's GaussianRF2d): w = Im(ifft2(√λ ⊙ (ξ₀ + iξ₁))) has
// C(r) = N⁻² Σ_k λ_k cos(2πk·r/N), so P_k = (λ_k + λ_{−k})/(2N). Both sizes must be even.
func NewSpectralGaussianFromGRF(g *spectral.GRF) (*SpectralGaussian, error) {
	nx, ny := g.Nx(), g.Ny()
	if nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("%w: spectral Gaussian from a GRF needs even sizes, got %d×%d", ErrDim, nx, ny)
	}
	se := g.SqrtEig()
	n, nyh := nx*ny, ny/2+1
	p := make([]float64, nx*nyh)
	for i := 0; i < nx; i++ {
		for j := 0; j < nyh; j++ {
			a := se[i*ny+j]
			b := se[((nx-i)%nx)*ny+(ny-j)%ny]
			p[i*nyh+j] = (a*a + b*b) / (2 * float64(n))
		}
	}
	return NewSpectralGaussian(nx, ny, nil, p)
}

// Dim returns nx·ny.
func (g *SpectralGaussian) Dim() int { return g.nx * g.ny }

// Grid returns nx, ny.
func (g *SpectralGaussian) Grid() (nx, ny int) { return g.nx, g.ny }

// Mean returns the mean field (do not modify).
func (g *SpectralGaussian) Mean() []float64 { return g.mean }

// Power returns the power spectrum in rfft2 layout (do not modify).
func (g *SpectralGaussian) Power() []float64 { return g.power }

func (g *SpectralGaussian) work() *specWork {
	if w, ok := g.pool.Get().(*specWork); ok {
		return w
	}
	plan, err := spectral.NewPlan(g.nx, g.ny)
	if err != nil { // sizes were checked by the constructor
		panic(err)
	}
	return &specWork{plan: plan, spec: make([]complex128, g.nx*g.nyh), buf: make([]float64, g.nx*g.ny), fil: make([]float64, g.nx*g.nyh)}
}

// Denoise writes D(x; σ) for every row of x into dst (dst may alias x).
func (g *SpectralGaussian) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	if err := checkDenoise("spectral Gaussian", dst, x, g.nx*g.ny, sigma); err != nil {
		return err
	}
	r, _ := x.Dims()
	s2 := sigma * sigma
	workers := min(parallel.Workers(g.Workers), r)
	if r == 0 {
		return nil
	}
	ws := make([]*specWork, workers)
	for i := range ws {
		w := g.work()
		for k, p := range g.power {
			if p == 0 && s2 == 0 {
				w.fil[k] = 1
			} else {
				w.fil[k] = p / (p + s2)
			}
		}
		ws[i] = w
	}
	defer func() {
		for _, w := range ws {
			g.pool.Put(w)
		}
	}()
	return parallel.For(ctx, r, workers, func(wk, i int) error {
		w := ws[wk]
		xr, dr := x.RawRowView(i), dst.RawRowView(i)
		if err := rowFinite("spectral Gaussian", i, xr); err != nil {
			return err
		}
		if g.zeroMean { // two FFTs and the filter, nothing else
			w.plan.Forward(w.spec, xr)
			for k, f := range w.fil {
				w.spec[k] = complex(f*real(w.spec[k]), f*imag(w.spec[k]))
			}
			w.plan.Inverse(dr, w.spec)
			return nil
		}
		for j, v := range xr {
			w.buf[j] = v - g.mean[j]
		}
		w.plan.Forward(w.spec, w.buf)
		for k, f := range w.fil {
			w.spec[k] = complex(f*real(w.spec[k]), f*imag(w.spec[k]))
		}
		w.plan.Inverse(w.buf, w.spec)
		for j, v := range w.buf {
			dr[j] = g.mean[j] + v
		}
		return nil
	})
}

// Sample draws every row of dst: x = μ + F⁻¹(√P ⊙ F w) with w ~ N(0, I) from
// rng.Stream(seed, row).
func (g *SpectralGaussian) Sample(ctx context.Context, dst *mat.Dense, seed uint64) error {
	if err := checkSample("spectral Gaussian", dst, g.nx*g.ny); err != nil {
		return err
	}
	r, _ := dst.Dims()
	workers := min(parallel.Workers(g.Workers), r)
	if r == 0 {
		return nil
	}
	ws := make([]*specWork, workers)
	for i := range ws {
		ws[i] = g.work()
		for k, p := range g.power {
			ws[i].fil[k] = math.Sqrt(p)
		}
	}
	defer func() {
		for _, w := range ws {
			g.pool.Put(w)
		}
	}()
	return parallel.For(ctx, r, workers, func(wk, i int) error {
		w := ws[wk]
		rng.Normal(w.buf, rng.Stream(seed, i))
		w.plan.Forward(w.spec, w.buf)
		for k, f := range w.fil {
			w.spec[k] = complex(f*real(w.spec[k]), f*imag(w.spec[k]))
		}
		row := dst.RawRowView(i)
		w.plan.Inverse(row, w.spec)
		for j := range row {
			row[j] += g.mean[j]
		}
		return nil
	})
}

// LogProb returns log N(x; μ, C) = −½[(1/N)Σ_k |F(x−μ)_k|²/P_k + Σ_k log(2πP_k)] over the
// modes with P_k > 0 (the density on the support when some P_k = 0). It panics if
// len(x) ≠ Dim().
func (g *SpectralGaussian) LogProb(x []float64) float64 {
	n := g.nx * g.ny
	if len(x) != n {
		panic(fmt.Sprintf("diffusion: SpectralGaussian.LogProb: len(x) = %d, dimension %d", len(x), n))
	}
	w := g.work()
	defer g.pool.Put(w)
	for j, v := range x {
		w.buf[j] = v - g.mean[j]
	}
	w.plan.Forward(w.spec, w.buf)
	s := 0.0
	for i := 0; i < g.nx; i++ {
		for j := 0; j < g.nyh; j++ {
			k := i*g.nyh + j
			p := g.power[k]
			if p == 0 {
				continue
			}
			m := 2.0 // the mirrored mode −k is not stored
			if j == 0 || j == g.ny/2 {
				m = 1
			}
			c := w.spec[k]
			s += m * ((real(c)*real(c)+imag(c)*imag(c))/(float64(n)*p) + math.Log(2*math.Pi*p))
		}
	}
	return -0.5 * s
}

// Covariance returns the dense N×N covariance C (for tests and small grids).
func (g *SpectralGaussian) Covariance() *mat.SymDense {
	n := g.nx * g.ny
	w := g.work()
	defer g.pool.Put(w)
	for k, p := range g.power {
		w.spec[k] = complex(p, 0)
	}
	w.plan.Inverse(w.buf, w.spec) // C(r) = (1/N) Σ_k P_k e^{2πik·r/N}
	c := mat.NewSymDense(n, nil)
	for a := 0; a < n; a++ {
		ia, ja := a/g.ny, a%g.ny
		for b := a; b < n; b++ {
			ib, jb := b/g.ny, b%g.ny
			di, dj := (ib-ia+g.nx)%g.nx, (jb-ja+g.ny)%g.ny
			c.SetSym(a, b, w.buf[di*g.ny+dj])
		}
	}
	return c
}

// SpectralFitSettings configure FitSpectralGaussian.
type SpectralFitSettings struct {
	// Isotropic averages the power over shells of integer |k| = round(√(k1² + k2²)) (k in
	// FFT order, signed); otherwise the full 2-D power spectrum is kept.
	Isotropic bool
	// FieldMean fits a mean per pixel; by default the mean is one constant, as
	// stationarity implies.
	FieldMean bool
}

// FitSpectralGaussian fits a stationary Gaussian to periodic fields, one nx×ny field per
// row of data (at least 2 rows): the mean (constant, or per pixel with FieldMean) and the
// averaged periodogram P_k = (1/(M−1)) Σ_m |F(x_m − μ)_k|²/N. The M−1 makes the estimate
// unbiased for the modes the mean estimate touches (all modes with FieldMean, only k = 0
// otherwise, where the other modes use 1/M).
func FitSpectralGaussian(nx, ny int, data *mat.Dense, s SpectralFitSettings) (*SpectralGaussian, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("%w: spectral Gaussian needs even positive grid sizes, got %d×%d", ErrDim, nx, ny)
	}
	m, c := data.Dims()
	n, nyh := nx*ny, ny/2+1
	if c != n {
		return nil, fmt.Errorf("%w: FitSpectralGaussian: data has %d columns, grid %d×%d", ErrDim, c, nx, ny)
	}
	if m < 2 {
		return nil, fmt.Errorf("%w: FitSpectralGaussian needs at least 2 fields, got %d", ErrDim, m)
	}
	mean := make([]float64, n)
	for i := 0; i < m; i++ {
		row := data.RawRowView(i)
		if err := finiteSlice(fmt.Sprintf("FitSpectralGaussian field %d", i), row); err != nil {
			return nil, err
		}
		for j, v := range row {
			mean[j] += v
		}
	}
	if s.FieldMean {
		for j := range mean {
			mean[j] /= float64(m)
		}
	} else {
		t := 0.0
		for _, v := range mean {
			t += v
		}
		t /= float64(m * n)
		for j := range mean {
			mean[j] = t
		}
	}
	plan, err := spectral.NewPlan(nx, ny)
	if err != nil {
		return nil, err
	}
	buf, spec := make([]float64, n), make([]complex128, nx*nyh)
	p := make([]float64, nx*nyh)
	for i := 0; i < m; i++ {
		row := data.RawRowView(i)
		for j, v := range row {
			buf[j] = v - mean[j]
		}
		plan.Forward(spec, buf)
		for k, v := range spec {
			p[k] += real(v)*real(v) + imag(v)*imag(v)
		}
	}
	for k := range p {
		den := float64(m)
		if s.FieldMean || k == 0 {
			den = float64(m - 1)
		}
		p[k] /= den * float64(n)
	}
	if s.Isotropic {
		isotropise(p, nx, ny)
	}
	return NewSpectralGaussian(nx, ny, mean, p)
}

// isotropise replaces P by its average over shells round(|k|), counting each mode of the
// full spectrum once (half-spectrum entries other than k2 = 0, ny/2 stand for two).
func isotropise(p []float64, nx, ny int) {
	nyh := ny/2 + 1
	shell := func(i, j int) int {
		k1 := i
		if i >= nx/2 {
			k1 = i - nx
		}
		return int(math.Round(math.Hypot(float64(k1), float64(j))))
	}
	ns := 0
	for i := 0; i < nx; i++ {
		for j := 0; j < nyh; j++ {
			ns = max(ns, shell(i, j)+1)
		}
	}
	sum, cnt := make([]float64, ns), make([]float64, ns)
	for i := 0; i < nx; i++ {
		for j := 0; j < nyh; j++ {
			w := 2.0
			if j == 0 || j == ny/2 {
				w = 1
			}
			s := shell(i, j)
			sum[s] += w * p[i*nyh+j]
			cnt[s] += w
		}
	}
	for i := 0; i < nx; i++ {
		for j := 0; j < nyh; j++ {
			s := shell(i, j)
			p[i*nyh+j] = sum[s] / cnt[s]
		}
	}
}
