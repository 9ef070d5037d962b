package diffusion

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// Gaussian is the prior N(μ, Σ) with a full covariance, held through one
// eigendecomposition Σ = V·diag(λ)·Vᵀ. Its exact denoiser is
//
//	D(x; σ) = μ + Σ(Σ + σ²I)⁻¹(x − μ) = μ + V·diag(λ/(λ + σ²))·Vᵀ(x − μ),
//
// evaluated for the whole ensemble with two matrix products (J×D by D×D). It is safe for
// concurrent use.
type Gaussian struct {
	mean    []float64
	cov     *mat.SymDense
	vecs    *mat.Dense // columns are eigenvectors
	vals    []float64
	Workers int
	Norm    Affine
	pool    sync.Pool // *gaussWork
}

type gaussWork struct{ a, b []float64 }

// NewGaussian returns N(mean, cov). cov must be a symmetric positive-definite D×D matrix
// (symmetry is checked to 1e-10 relative; positive definiteness as λ_min > D·ε·λ_max).
func NewGaussian(mean []float64, cov mat.Matrix) (*Gaussian, error) {
	d := len(mean)
	if d == 0 {
		return nil, fmt.Errorf("%w: Gaussian of dimension 0", ErrDim)
	}
	if r, c := cov.Dims(); r != d || c != d {
		return nil, fmt.Errorf("%w: Gaussian: covariance is %d×%d for a mean of length %d", ErrDim, r, c, d)
	}
	if err := finiteSlice("Gaussian mean", mean); err != nil {
		return nil, err
	}
	scale := 0.0
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			v := cov.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: Gaussian covariance[%d,%d] = %v", ErrNonFinite, i, j, v)
			}
			scale = math.Max(scale, math.Abs(v))
		}
	}
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			a, b := cov.At(i, j), cov.At(j, i)
			if math.Abs(a-b) > 1e-10*scale {
				return nil, fmt.Errorf("%w: Gaussian covariance is not symmetric: [%d,%d] = %v, [%d,%d] = %v", ErrParam, i, j, a, j, i, b)
			}
			sym.SetSym(i, j, 0.5*(a+b))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		return nil, fmt.Errorf("%w: Gaussian covariance: eigendecomposition failed", ErrParam)
	}
	vals := es.Values(nil)
	lmax := vals[len(vals)-1]
	if !(vals[0] > float64(d)*2.2e-16*lmax) {
		return nil, fmt.Errorf("%w: Gaussian covariance is not positive definite (eigenvalues from %g to %g)", ErrParam, vals[0], lmax)
	}
	vecs := mat.NewDense(d, d, nil)
	es.VectorsTo(vecs)
	return &Gaussian{mean: append([]float64(nil), mean...), cov: sym, vecs: vecs, vals: vals}, nil
}

// Dim returns the dimension.
func (g *Gaussian) Dim() int { return len(g.mean) }

// Mean returns μ (do not modify).
func (g *Gaussian) Mean() []float64 { return g.mean }

// Cov returns Σ (do not modify).
func (g *Gaussian) Cov() *mat.SymDense { return g.cov }

// Eigen returns the eigenvalues (ascending) and the eigenvectors (columns) of Σ (do not
// modify).
func (g *Gaussian) Eigen() ([]float64, *mat.Dense) { return g.vals, g.vecs }

func (g *Gaussian) work(n int) *gaussWork {
	w, _ := g.pool.Get().(*gaussWork)
	if w == nil {
		w = &gaussWork{}
	}
	if cap(w.a) < n {
		w.a, w.b = make([]float64, n), make([]float64, n)
	}
	w.a, w.b = w.a[:n], w.b[:n]
	return w
}

// Denoise writes D(x; σ) for every row of x into dst (dst may alias x).
func (g *Gaussian) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	d := len(g.mean)
	if err := checkDenoise("Gaussian", dst, x, d, sigma); err != nil {
		return err
	}
	r, _ := x.Dims()
	if r == 0 {
		return nil
	}
	w := g.work(r * d)
	defer g.pool.Put(w)
	a := mat.NewDense(r, d, w.a)
	b := mat.NewDense(r, d, w.b)
	if err := parallel.For(ctx, r, rowWorkers(g.Workers, x), func(_, i int) error {
		xr, ar := x.RawRowView(i), a.RawRowView(i)
		if err := rowFinite("Gaussian", i, xr); err != nil {
			return err
		}
		for j, v := range xr {
			ar[j] = v - g.mean[j]
		}
		return nil
	}); err != nil {
		return err
	}
	b.Mul(a, g.vecs) // coordinates in the eigenbasis
	s2 := sigma * sigma
	for i := 0; i < r; i++ {
		br := b.RawRowView(i)
		for k, l := range g.vals {
			br[k] *= l / (l + s2)
		}
	}
	a.Mul(b, g.vecs.T())
	for i := 0; i < r; i++ {
		ar, dr := a.RawRowView(i), dst.RawRowView(i)
		for j, v := range ar {
			dr[j] = v + g.mean[j]
		}
	}
	return ctx.Err()
}

// Sample draws every row of dst: x = μ + V·diag(√λ)·ξ with ξ from rng.Stream(seed, row).
func (g *Gaussian) Sample(ctx context.Context, dst *mat.Dense, seed uint64) error {
	d := len(g.mean)
	if err := checkSample("Gaussian", dst, d); err != nil {
		return err
	}
	r, _ := dst.Dims()
	if r == 0 {
		return nil
	}
	z := mat.NewDense(r, d, nil)
	if err := parallel.For(ctx, r, g.Workers, func(_, i int) error {
		rs := rng.Stream(seed, i)
		zr := z.RawRowView(i)
		for k := range zr {
			zr[k] = math.Sqrt(g.vals[k]) * rs.NormFloat64()
		}
		return nil
	}); err != nil {
		return err
	}
	dst.Mul(z, g.vecs.T())
	for i := 0; i < r; i++ {
		row := dst.RawRowView(i)
		for j := range row {
			row[j] += g.mean[j]
		}
	}
	return nil
}

// LogProb returns log N(x; μ, Σ). It panics if len(x) ≠ Dim().
func (g *Gaussian) LogProb(x []float64) float64 {
	d := len(g.mean)
	if len(x) != d {
		panic(fmt.Sprintf("diffusion: Gaussian.LogProb: len(x) = %d, dimension %d", len(x), d))
	}
	s := 0.0
	for k, l := range g.vals {
		z := 0.0
		for j := 0; j < d; j++ {
			z += g.vecs.At(j, k) * (x[j] - g.mean[j])
		}
		s += z*z/l + math.Log(2*math.Pi*l)
	}
	return -0.5 * s
}

// FitGaussian fits N(μ, Σ) to the rows of data: μ the sample mean and
//
//	Σ = (1 − α)·S + α·(tr S / D)·I,
//
// with S the unbiased sample covariance and α = shrinkage ∈ [0, 1]. A negative shrinkage
// chooses α by the Ledoit–Wolf (2004) formula, which keeps Σ well conditioned when there
// are fewer samples than dimensions.
func FitGaussian(data *mat.Dense, shrinkage float64) (*Gaussian, error) {
	n, d := data.Dims()
	if n < 2 || d == 0 {
		return nil, fmt.Errorf("%w: FitGaussian needs at least 2 samples of dimension ≥ 1, got %d×%d", ErrDim, n, d)
	}
	if shrinkage > 1 || math.IsNaN(shrinkage) {
		return nil, fmt.Errorf("%w: shrinkage %v must be ≤ 1 (negative: Ledoit–Wolf)", ErrParam, shrinkage)
	}
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		row := data.RawRowView(i)
		if err := finiteSlice(fmt.Sprintf("FitGaussian data row %d", i), row); err != nil {
			return nil, err
		}
		for j, v := range row {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	xc := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		row, cr := data.RawRowView(i), xc.RawRowView(i)
		for j, v := range row {
			cr[j] = v - mean[j]
		}
	}
	s := mat.NewSymDense(d, nil)
	s.SymOuterK(1/float64(n-1), xc.T())
	alpha := shrinkage
	if alpha < 0 {
		alpha = ledoitWolf(xc, s, n, d)
	}
	tr := 0.0
	for j := 0; j < d; j++ {
		tr += s.At(j, j)
	}
	m := tr / float64(d)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := (1 - alpha) * s.At(i, j)
			if i == j {
				v += alpha * m
			}
			s.SetSym(i, j, v)
		}
	}
	g, err := NewGaussian(mean, s)
	if err != nil {
		return nil, fmt.Errorf("FitGaussian (shrinkage %v; use a positive shrinkage when samples < dimension): %w", alpha, err)
	}
	return g, nil
}

// ledoitWolf returns the Ledoit–Wolf shrinkage intensity towards (tr S/D)·I for centred
// data xc (n×d) whose unbiased covariance is s. The formula uses the 1/n covariance
// S_n = (n−1)/n·S as in the paper: with ⟨A,B⟩ = tr(ABᵀ)/d, m = ⟨S_n, I⟩,
// δ² = ‖S_n − mI‖², β̄² = Σ_k ‖x_k x_kᵀ − S_n‖²/n², α = min(β̄², δ²)/δ².
func ledoitWolf(xc *mat.Dense, s *mat.SymDense, n, d int) float64 {
	c := float64(n-1) / float64(n)
	fd := float64(d)
	tr, fro := 0.0, 0.0
	for i := 0; i < d; i++ {
		tr += c * s.At(i, i)
		for j := 0; j < d; j++ {
			v := c * s.At(i, j)
			fro += v * v
		}
	}
	m := tr / fd
	delta2 := (fro - 2*m*tr + m*m*fd) / fd
	if delta2 <= 0 {
		return 1
	}
	var xs mat.Dense
	xs.Mul(xc, s) // row k: x_kᵀ S (unbiased)
	beta := 0.0
	for k := 0; k < n; k++ {
		xr, sr := xc.RawRowView(k), xs.RawRowView(k)
		nx, q := 0.0, 0.0
		for j, v := range xr {
			nx += v * v
			q += v * sr[j]
		}
		// ‖x xᵀ − S_n‖_F² = ‖x‖⁴ − 2c·xᵀSx + ‖S_n‖_F².
		beta += nx*nx - 2*c*q + fro
	}
	beta /= float64(n) * float64(n) * fd
	return math.Min(beta, delta2) / delta2
}
