package diffusion

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// GMMFitSettings configure FitGMM. Zero fields take the documented defaults.
type GMMFitSettings struct {
	Diagonal bool    // diagonal covariances (default: full)
	MaxIter  int     // EM iterations; default 200
	Tol      float64 // stop when the mean log-likelihood changes by less than Tol·(1+|ℓ|); default 1e-9
	// Reg is added to every variance (the diagonal of every covariance) after each M-step,
	// keeping components from collapsing onto single points; default 1e-6 times the mean
	// per-coordinate variance of the data.
	Reg     float64
	Seed    uint64 // seeds the k-means++ initialisation
	Workers int    // goroutines; 0: GOMAXPROCS. The result does not depend on it.
}

// FitGMM fits a K-component Gaussian mixture to the rows of data by expectation–
// maximisation: k-means++ seeding and 10 Lloyd iterations give hard assignments, then
// E-steps (responsibilities by log-sum-exp) and M-steps
//
//	N_k = Σ_i r_ik,  π_k = N_k/n,  μ_k = Σ_i r_ik x_i / N_k,
//	Σ_k = Σ_i r_ik (x_i − μ_k)(x_i − μ_k)ᵀ / N_k + Reg·I
//
// alternate until the mean log-likelihood converges. It returns the mixture and the final
// mean log-likelihood per sample.
func FitGMM(ctx context.Context, data *mat.Dense, k int, s GMMFitSettings) (*GMM, float64, error) {
	n, d := data.Dims()
	if k < 1 {
		return nil, 0, fmt.Errorf("%w: FitGMM needs K ≥ 1 components, got %d", ErrParam, k)
	}
	if n < k || d == 0 {
		return nil, 0, fmt.Errorf("%w: FitGMM needs at least K = %d samples of dimension ≥ 1, got %d×%d", ErrDim, k, n, d)
	}
	for i := 0; i < n; i++ {
		if err := finiteSlice(fmt.Sprintf("FitGMM data row %d", i), data.RawRowView(i)); err != nil {
			return nil, 0, err
		}
	}
	maxIter, tol, reg := s.MaxIter, s.Tol, s.Reg
	if maxIter <= 0 {
		maxIter = 200
	}
	if tol <= 0 {
		tol = 1e-9
	}
	if reg <= 0 {
		mean := make([]float64, d)
		for i := 0; i < n; i++ {
			for j, v := range data.RawRowView(i) {
				mean[j] += v / float64(n)
			}
		}
		v := 0.0
		for i := 0; i < n; i++ {
			for j, x := range data.RawRowView(i) {
				v += (x - mean[j]) * (x - mean[j])
			}
		}
		reg = 1e-6 * math.Max(v/float64(n*d), 1e-300)
	}
	resp := mat.NewDense(n, k, nil)
	kmeansInit(data, k, s.Seed, resp)
	var g *GMM
	var err error
	prev := math.Inf(-1)
	ll := prev
	for it := 0; it < maxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		g, err = mStep(ctx, data, resp, s.Diagonal, reg, s.Workers)
		if err != nil {
			return nil, 0, fmt.Errorf("FitGMM iteration %d: %w", it, err)
		}
		g.Workers = s.Workers
		ll, err = eStep(ctx, g, data, resp, s.Workers)
		if err != nil {
			return nil, 0, err
		}
		if math.Abs(ll-prev) < tol*(1+math.Abs(ll)) {
			break
		}
		prev = ll
	}
	return g, ll, nil
}

// eStep writes the responsibilities into resp and returns the mean log-likelihood.
func eStep(ctx context.Context, g *GMM, data, resp *mat.Dense, workers int) (float64, error) {
	n, _ := data.Dims()
	lls := make([]float64, n)
	if err := parallel.For(ctx, n, workers, func(_, i int) error {
		lls[i] = g.Responsibilities(resp.RawRowView(i), data.RawRowView(i))
		return nil
	}); err != nil {
		return 0, err
	}
	s := 0.0
	for _, v := range lls {
		s += v
	}
	return s / float64(n), nil
}

// mStep computes the mixture from responsibilities (one component per goroutine, sums in
// data order, so the result is independent of the number of workers).
func mStep(ctx context.Context, data, resp *mat.Dense, diagonal bool, reg float64, workers int) (*GMM, error) {
	n, d := data.Dims()
	_, k := resp.Dims()
	weights := make([]float64, k)
	means := mat.NewDense(k, d, nil)
	vars := mat.NewDense(k, d, nil)
	covs := make([]mat.Matrix, k)
	if err := parallel.For(ctx, k, workers, func(_, c int) error {
		nk := 0.0
		mu := means.RawRowView(c)
		for i := 0; i < n; i++ {
			r := resp.At(i, c)
			nk += r
			for j, v := range data.RawRowView(i) {
				mu[j] += r * v
			}
		}
		if !(nk > 1e-12*float64(n)) {
			return fmt.Errorf("%w: mixture component %d lost all its samples (try fewer components or another seed)", ErrParam, c)
		}
		for j := range mu {
			mu[j] /= nk
		}
		weights[c] = nk / float64(n)
		if diagonal {
			v := vars.RawRowView(c)
			for i := 0; i < n; i++ {
				r := resp.At(i, c)
				for j, x := range data.RawRowView(i) {
					e := x - mu[j]
					v[j] += r * e * e
				}
			}
			for j := range v {
				v[j] = v[j]/nk + reg
			}
			return nil
		}
		cov := mat.NewSymDense(d, nil)
		e := make([]float64, d)
		raw := cov.RawSymmetric()
		for i := 0; i < n; i++ {
			r := resp.At(i, c)
			if r == 0 {
				continue
			}
			for j, x := range data.RawRowView(i) {
				e[j] = x - mu[j]
			}
			for a := 0; a < d; a++ {
				ra := r * e[a]
				row := raw.Data[a*raw.Stride : a*raw.Stride+d]
				for b := a; b < d; b++ {
					row[b] += ra * e[b]
				}
			}
		}
		for a := 0; a < d; a++ {
			for b := a; b < d; b++ {
				v := cov.At(a, b) / nk
				if a == b {
					v += reg
				}
				cov.SetSym(a, b, v)
			}
		}
		covs[c] = cov
		return nil
	}); err != nil {
		return nil, err
	}
	if diagonal {
		return NewGMMDiag(weights, means, vars)
	}
	return NewGMM(weights, means, covs)
}

// kmeansInit seeds K centres by k-means++ (rng.New(seed)), runs 10 Lloyd iterations and
// writes one-hot assignments into resp.
func kmeansInit(data *mat.Dense, k int, seed uint64, resp *mat.Dense) {
	n, d := data.Dims()
	r := rng.New(seed)
	centres := mat.NewDense(k, d, nil)
	centres.SetRow(0, data.RawRowView(r.IntN(n)))
	dist := make([]float64, n)
	sq := func(a, b []float64) float64 {
		s := 0.0
		for j, v := range a {
			s += (v - b[j]) * (v - b[j])
		}
		return s
	}
	for i := range dist {
		dist[i] = sq(data.RawRowView(i), centres.RawRowView(0))
	}
	for c := 1; c < k; c++ {
		tot := 0.0
		for _, v := range dist {
			tot += v
		}
		u, pick := r.Float64()*tot, n-1
		for i, v := range dist {
			u -= v
			if u < 0 {
				pick = i
				break
			}
		}
		centres.SetRow(c, data.RawRowView(pick))
		for i := range dist {
			dist[i] = math.Min(dist[i], sq(data.RawRowView(i), centres.RawRowView(c)))
		}
	}
	assign := make([]int, n)
	counts := make([]float64, k)
	for it := 0; it < 10; it++ {
		for i := 0; i < n; i++ {
			best, bd := 0, math.Inf(1)
			for c := 0; c < k; c++ {
				if v := sq(data.RawRowView(i), centres.RawRowView(c)); v < bd {
					best, bd = c, v
				}
			}
			assign[i] = best
		}
		sums := mat.NewDense(k, d, nil)
		for c := range counts {
			counts[c] = 0
		}
		for i, c := range assign {
			counts[c]++
			row := sums.RawRowView(c)
			for j, v := range data.RawRowView(i) {
				row[j] += v
			}
		}
		for c := 0; c < k; c++ {
			if counts[c] == 0 {
				continue // keep the old centre
			}
			row := sums.RawRowView(c)
			for j := range row {
				row[j] /= counts[c]
			}
			centres.SetRow(c, row)
		}
	}
	resp.Zero()
	for i, c := range assign {
		resp.Set(i, c, 1)
	}
}
