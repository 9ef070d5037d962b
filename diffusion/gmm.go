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

// GMM is the Gaussian mixture prior p(x0) = Σ_k π_k N(x0; μ_k, Σ_k) with diagonal or full
// covariances. Its noised density is Σ_k π_k N(x; μ_k, Σ_k + σ²I), and the exact denoiser
// is the responsibility-weighted sum of the component denoisers,
//
//	D(x; σ) = Σ_k r_k(x) [μ_k + Σ_k(Σ_k + σ²I)⁻¹(x − μ_k)],
//	r_k(x) = softmax_k(log π_k + log N(x; μ_k, Σ_k + σ²I)),
//
// with the softmax evaluated by log-sum-exp (stable for any σ). Full covariances are held
// as eigendecompositions Σ_k = V_k diag(λ_k) V_kᵀ. It is safe for concurrent use.
type GMM struct {
	k, d    int
	weights []float64
	logw    []float64
	means   *mat.Dense // K×D
	vars    *mat.Dense // K×D (diagonal) or K×D eigenvalues (full)
	vecs    []*mat.Dense
	Workers int
	Norm    Affine
	pool    sync.Pool // *gmmWork
}

type gmmWork struct {
	logl []float64
	m    []float64 // K×D component means of the posterior
	z, u []float64
}

func checkWeights(weights []float64) ([]float64, error) {
	if len(weights) == 0 {
		return nil, fmt.Errorf("%w: mixture with no components", ErrDim)
	}
	s := 0.0
	for i, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("%w: mixture weight[%d] = %v must be positive and finite", ErrParam, i, w)
		}
		s += w
	}
	out := make([]float64, len(weights))
	for i, w := range weights {
		out[i] = w / s
	}
	return out, nil
}

// NewGMMDiag returns the mixture with weights (normalised to sum 1), means (K×D) and
// diagonal variances (K×D, positive).
func NewGMMDiag(weights []float64, means, variances *mat.Dense) (*GMM, error) {
	w, err := checkWeights(weights)
	if err != nil {
		return nil, err
	}
	k, d := means.Dims()
	if k != len(w) || d == 0 {
		return nil, fmt.Errorf("%w: mixture: %d weights, means %d×%d", ErrDim, len(w), k, d)
	}
	if vr, vc := variances.Dims(); vr != k || vc != d {
		return nil, fmt.Errorf("%w: mixture: means %d×%d, variances %d×%d", ErrDim, k, d, vr, vc)
	}
	for i := 0; i < k; i++ {
		if err := finiteSlice(fmt.Sprintf("mixture mean %d", i), means.RawRowView(i)); err != nil {
			return nil, err
		}
		for j, v := range variances.RawRowView(i) {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: mixture component %d variance[%d] = %v must be positive and finite", ErrParam, i, j, v)
			}
		}
	}
	return newGMM(w, mat.DenseCopyOf(means), mat.DenseCopyOf(variances), nil), nil
}

// NewGMM returns the mixture with weights (normalised to sum 1), means (K×D) and full
// covariances (K symmetric positive-definite D×D matrices).
func NewGMM(weights []float64, means *mat.Dense, covs []mat.Matrix) (*GMM, error) {
	w, err := checkWeights(weights)
	if err != nil {
		return nil, err
	}
	k, d := means.Dims()
	if k != len(w) || len(covs) != k || d == 0 {
		return nil, fmt.Errorf("%w: mixture: %d weights, means %d×%d, %d covariances", ErrDim, len(w), k, d, len(covs))
	}
	vals := mat.NewDense(k, d, nil)
	vecs := make([]*mat.Dense, k)
	for i := 0; i < k; i++ {
		g, err := NewGaussian(means.RawRowView(i), covs[i])
		if err != nil {
			return nil, fmt.Errorf("mixture component %d: %w", i, err)
		}
		l, v := g.Eigen()
		vals.SetRow(i, l)
		vecs[i] = v
	}
	return newGMM(w, mat.DenseCopyOf(means), vals, vecs), nil
}

func newGMM(w []float64, means, vars *mat.Dense, vecs []*mat.Dense) *GMM {
	k, d := means.Dims()
	g := &GMM{k: k, d: d, weights: w, means: means, vars: vars, vecs: vecs, logw: make([]float64, k)}
	for i, v := range w {
		g.logw[i] = math.Log(v)
	}
	return g
}

// Dim returns D.
func (g *GMM) Dim() int { return g.d }

// Components returns K.
func (g *GMM) Components() int { return g.k }

// Weights returns π (do not modify).
func (g *GMM) Weights() []float64 { return g.weights }

// Means returns the K×D means (do not modify).
func (g *GMM) Means() *mat.Dense { return g.means }

// Diagonal reports whether the covariances are diagonal.
func (g *GMM) Diagonal() bool { return g.vecs == nil }

// Cov returns the covariance of component k (a new matrix).
func (g *GMM) Cov(k int) *mat.SymDense {
	c := mat.NewSymDense(g.d, nil)
	l := g.vars.RawRowView(k)
	if g.vecs == nil {
		for j, v := range l {
			c.SetSym(j, j, v)
		}
		return c
	}
	v := g.vecs[k]
	for a := 0; a < g.d; a++ {
		for b := a; b < g.d; b++ {
			s := 0.0
			for i, li := range l {
				s += v.At(a, i) * li * v.At(b, i)
			}
			c.SetSym(a, b, s)
		}
	}
	return c
}

// Mean returns the mixture mean Σ_k π_k μ_k.
func (g *GMM) Mean() []float64 {
	m := make([]float64, g.d)
	for k, w := range g.weights {
		for j, v := range g.means.RawRowView(k) {
			m[j] += w * v
		}
	}
	return m
}

func (g *GMM) work() *gmmWork {
	if w, ok := g.pool.Get().(*gmmWork); ok {
		return w
	}
	return &gmmWork{logl: make([]float64, g.k), m: make([]float64, g.k*g.d), z: make([]float64, g.d), u: make([]float64, g.d)}
}

// component evaluates log π_k + log N(x; μ_k, Σ_k + s2·I) and, if m ≠ nil, the component
// posterior mean μ_k + Σ_k(Σ_k + s2 I)⁻¹(x − μ_k) into m.
func (g *GMM) component(k int, x []float64, s2 float64, m []float64, w *gmmWork) float64 {
	mu, l := g.means.RawRowView(k), g.vars.RawRowView(k)
	q, ld := 0.0, 0.0
	if g.vecs == nil {
		for j, xv := range x {
			e := xv - mu[j]
			t := l[j] + s2
			q += e * e / t
			ld += math.Log(2 * math.Pi * t)
			if m != nil {
				m[j] = mu[j] + l[j]/t*e
			}
		}
		return g.logw[k] - 0.5*(q+ld)
	}
	v := g.vecs[k]
	for j, xv := range x {
		w.u[j] = xv - mu[j]
	}
	// z = Vᵀ(x − μ)
	for i := range w.z {
		w.z[i] = 0
	}
	for j := 0; j < g.d; j++ {
		vr, e := v.RawRowView(j), w.u[j]
		for i, a := range vr {
			w.z[i] += a * e
		}
	}
	for i, zi := range w.z {
		t := l[i] + s2
		q += zi * zi / t
		ld += math.Log(2 * math.Pi * t)
		w.z[i] = l[i] / t * zi
	}
	if m != nil {
		for j := 0; j < g.d; j++ {
			vr := v.RawRowView(j)
			s := 0.0
			for i, a := range vr {
				s += a * w.z[i]
			}
			m[j] = mu[j] + s
		}
	}
	return g.logw[k] - 0.5*(q+ld)
}

// logSumExp returns log Σ exp(a_i) and overwrites a with the softmax weights.
func logSumExp(a []float64) float64 {
	m := math.Inf(-1)
	for _, v := range a {
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for i, v := range a {
		a[i] = math.Exp(v - m)
		s += a[i]
	}
	for i := range a {
		a[i] /= s
	}
	return m + math.Log(s)
}

// gmmTables hold the σ-dependent per-component factors of one Denoise call.
type gmmTables struct {
	ld        []float64 // Σ_j log 2π(λ_kj + σ²)
	inv, gain []float64 // K×D: 1/(λ+σ²), λ/(λ+σ²)
}

func (g *GMM) tables(s2 float64) *gmmTables {
	t := &gmmTables{ld: make([]float64, g.k), inv: make([]float64, g.k*g.d), gain: make([]float64, g.k*g.d)}
	for k := 0; k < g.k; k++ {
		l := g.vars.RawRowView(k)
		ld := 0.0
		for j, v := range l {
			u := v + s2
			ld += math.Log(2 * math.Pi * u)
			t.inv[k*g.d+j] = 1 / u
			t.gain[k*g.d+j] = v / u
		}
		t.ld[k] = ld
	}
	return t
}

const gmmBlock = 32

// Denoise writes D(x; σ) for every row of x into dst (dst may alias x). Diagonal
// mixtures work row by row; full ones in blocks of members with matrix products
// (Z_k = (X − μ_k)V_k, then Σ_k diag(r_k)(Z_k ⊙ λ_k/(λ_k+σ²))V_kᵀ).
func (g *GMM) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	if err := checkDenoise("mixture", dst, x, g.d, sigma); err != nil {
		return err
	}
	r, _ := x.Dims()
	if r == 0 {
		return nil
	}
	tb := g.tables(sigma * sigma)
	if g.vecs != nil {
		return g.denoiseFull(ctx, dst, x, tb)
	}
	return parallel.For(ctx, r, g.Workers, func(_, i int) error {
		xr := x.RawRowView(i)
		if err := rowFinite("mixture", i, xr); err != nil {
			return err
		}
		w := g.work()
		defer g.pool.Put(w)
		for k := 0; k < g.k; k++ {
			mu := g.means.RawRowView(k)
			inv, gain := tb.inv[k*g.d:(k+1)*g.d], tb.gain[k*g.d:(k+1)*g.d]
			m := w.m[k*g.d : (k+1)*g.d]
			q := 0.0
			for j, xv := range xr {
				e := xv - mu[j]
				q += e * e * inv[j]
				m[j] = mu[j] + gain[j]*e
			}
			w.logl[k] = g.logw[k] - 0.5*(q+tb.ld[k])
		}
		logSumExp(w.logl)
		dr := dst.RawRowView(i)
		clear(dr)
		for k, rk := range w.logl {
			for j, v := range w.m[k*g.d : (k+1)*g.d] {
				dr[j] += rk * v
			}
		}
		return nil
	})
}

// gmmBlockWork is one worker's scratch for a block of members (full covariances).
type gmmBlockWork struct {
	u, acc, t, logl *mat.Dense
	z               []*mat.Dense
}

func (g *GMM) denoiseFull(ctx context.Context, dst, x *mat.Dense, tb *gmmTables) error {
	r, _ := x.Dims()
	d, nk := g.d, g.k
	nb := (r + gmmBlock - 1) / gmmBlock
	workers := min(parallel.Workers(g.Workers), nb)
	ws := make([]*gmmBlockWork, workers)
	for i := range ws {
		w := &gmmBlockWork{u: mat.NewDense(gmmBlock, d, nil), acc: mat.NewDense(gmmBlock, d, nil),
			t: mat.NewDense(gmmBlock, d, nil), logl: mat.NewDense(gmmBlock, nk, nil), z: make([]*mat.Dense, nk)}
		for k := range w.z {
			w.z[k] = mat.NewDense(gmmBlock, d, nil)
		}
		ws[i] = w
	}
	return parallel.For(ctx, nb, workers, func(wk, b int) error {
		lo, hi := b*gmmBlock, min((b+1)*gmmBlock, r)
		n := hi - lo
		for i := lo; i < hi; i++ {
			if err := rowFinite("mixture", i, x.RawRowView(i)); err != nil {
				return err
			}
		}
		w := ws[wk]
		u := w.u.Slice(0, n, 0, d).(*mat.Dense)
		logl := w.logl.Slice(0, n, 0, nk).(*mat.Dense)
		for k := 0; k < nk; k++ {
			mu := g.means.RawRowView(k)
			for i := 0; i < n; i++ {
				xr, ur := x.RawRowView(lo+i), u.RawRowView(i)
				for j, v := range xr {
					ur[j] = v - mu[j]
				}
			}
			z := w.z[k].Slice(0, n, 0, d).(*mat.Dense)
			z.Mul(u, g.vecs[k])
			inv, gain := tb.inv[k*d:(k+1)*d], tb.gain[k*d:(k+1)*d]
			for i := 0; i < n; i++ {
				zr := z.RawRowView(i)
				q := 0.0
				for j, v := range zr {
					q += v * v * inv[j]
					zr[j] = v * gain[j]
				}
				logl.Set(i, k, g.logw[k]-0.5*(q+tb.ld[k]))
			}
		}
		for i := 0; i < n; i++ {
			logSumExp(logl.RawRowView(i))
		}
		acc := w.acc.Slice(0, n, 0, d).(*mat.Dense)
		t := w.t.Slice(0, n, 0, d).(*mat.Dense)
		acc.Zero()
		for k := 0; k < nk; k++ {
			z := w.z[k].Slice(0, n, 0, d).(*mat.Dense)
			for i := 0; i < n; i++ {
				rk := logl.At(i, k)
				zr := z.RawRowView(i)
				for j := range zr {
					zr[j] *= rk
				}
			}
			t.Mul(z, g.vecs[k].T())
			acc.Add(acc, t)
		}
		for i := 0; i < n; i++ {
			ar, dr, lr := acc.RawRowView(i), dst.RawRowView(lo+i), logl.RawRowView(i)
			for k, rk := range lr {
				for j, m := range g.means.RawRowView(k) {
					ar[j] += rk * m
				}
			}
			copy(dr, ar)
		}
		return nil
	})
}

// LogProb returns log p(x0) = log Σ_k π_k N(x; μ_k, Σ_k). It panics if len(x) ≠ Dim().
func (g *GMM) LogProb(x []float64) float64 {
	if len(x) != g.d {
		panic(fmt.Sprintf("diffusion: GMM.LogProb: len(x) = %d, dimension %d", len(x), g.d))
	}
	w := g.work()
	defer g.pool.Put(w)
	for k := 0; k < g.k; k++ {
		w.logl[k] = g.component(k, x, 0, nil, w)
	}
	return logSumExp(w.logl)
}

// Responsibilities writes into dst (len K) the posterior component probabilities of x0 = x
// and returns log p(x). It panics on length mismatches.
func (g *GMM) Responsibilities(dst, x []float64) float64 {
	if len(x) != g.d || len(dst) != g.k {
		panic(fmt.Sprintf("diffusion: GMM.Responsibilities: len(x) = %d (want %d), len(dst) = %d (want %d)", len(x), g.d, len(dst), g.k))
	}
	w := g.work()
	defer g.pool.Put(w)
	for k := 0; k < g.k; k++ {
		dst[k] = g.component(k, x, 0, nil, w)
	}
	return logSumExp(dst)
}

// Sample draws every row of dst: a component k ~ π, then x ~ N(μ_k, Σ_k), all from
// rng.Stream(seed, row).
func (g *GMM) Sample(ctx context.Context, dst *mat.Dense, seed uint64) error {
	if err := checkSample("mixture", dst, g.d); err != nil {
		return err
	}
	r, _ := dst.Dims()
	return parallel.For(ctx, r, g.Workers, func(_, i int) error {
		rs := rng.Stream(seed, i)
		u, k := rs.Float64(), 0
		for c := 0.0; k < g.k-1; k++ {
			c += g.weights[k]
			if u < c {
				break
			}
		}
		row := dst.RawRowView(i)
		mu, l := g.means.RawRowView(k), g.vars.RawRowView(k)
		if g.vecs == nil {
			for j := range row {
				row[j] = mu[j] + math.Sqrt(l[j])*rs.NormFloat64()
			}
			return nil
		}
		z := make([]float64, g.d)
		for a := range z {
			z[a] = math.Sqrt(l[a]) * rs.NormFloat64()
		}
		v := g.vecs[k]
		for j := range row {
			vr := v.RawRowView(j)
			s := 0.0
			for a, c := range vr {
				s += c * z[a]
			}
			row[j] = mu[j] + s
		}
		return nil
	})
}
