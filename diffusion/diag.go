package diffusion

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

// DiagGaussian is the Gaussian prior N(μ, diag(v)) with the exact denoiser
//
//	D(x; σ) = μ + v/(v + σ²)·(x − μ)   (elementwise),
//
// the posterior mean of x0 given x = x0 + σε. Set Workers to bound its goroutines (0:
// GOMAXPROCS) and Norm to carry the map to physical units.
type DiagGaussian struct {
	mean, variance []float64
	Workers        int
	Norm           Affine
}

// NewDiagGaussian returns N(mean, diag(variance)); the variances must be positive. The
// slices are copied.
func NewDiagGaussian(mean, variance []float64) (*DiagGaussian, error) {
	if len(mean) == 0 {
		return nil, fmt.Errorf("%w: diagonal Gaussian of dimension 0", ErrDim)
	}
	if len(variance) != len(mean) {
		return nil, fmt.Errorf("%w: diagonal Gaussian: %d means, %d variances", ErrDim, len(mean), len(variance))
	}
	if err := finiteSlice("diagonal Gaussian mean", mean); err != nil {
		return nil, err
	}
	for i, v := range variance {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: diagonal Gaussian variance[%d] = %v must be positive and finite", ErrParam, i, v)
		}
	}
	return &DiagGaussian{mean: append([]float64(nil), mean...), variance: append([]float64(nil), variance...)}, nil
}

// NewIsotropicGaussian returns N(μ·1, v·I) in dimension dim.
func NewIsotropicGaussian(dim int, mean, variance float64) (*DiagGaussian, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("%w: isotropic Gaussian of dimension %d", ErrDim, dim)
	}
	m, v := make([]float64, dim), make([]float64, dim)
	for i := range m {
		m[i], v[i] = mean, variance
	}
	return NewDiagGaussian(m, v)
}

// Dim returns the dimension.
func (g *DiagGaussian) Dim() int { return len(g.mean) }

// Mean returns the mean (do not modify).
func (g *DiagGaussian) Mean() []float64 { return g.mean }

// Variance returns the variances (do not modify).
func (g *DiagGaussian) Variance() []float64 { return g.variance }

// Denoise writes D(x; σ) for every row of x into dst (dst may alias x).
func (g *DiagGaussian) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	if err := checkDenoise("diagonal Gaussian", dst, x, len(g.mean), sigma); err != nil {
		return err
	}
	r, _ := x.Dims()
	s2 := sigma * sigma
	return parallel.For(ctx, r, rowWorkers(g.Workers, x), func(_, i int) error {
		xr, dr := x.RawRowView(i), dst.RawRowView(i)
		if err := rowFinite("diagonal Gaussian", i, xr); err != nil {
			return err
		}
		m, v := g.mean[:len(xr)], g.variance[:len(xr)]
		dr = dr[:len(xr)]
		for j, xv := range xr {
			dr[j] = m[j] + v[j]/(v[j]+s2)*(xv-m[j])
		}
		return nil
	})
}

// Sample draws every row of dst from the prior, row j from rng.Stream(seed, j).
func (g *DiagGaussian) Sample(ctx context.Context, dst *mat.Dense, seed uint64) error {
	if err := checkSample("diagonal Gaussian", dst, len(g.mean)); err != nil {
		return err
	}
	r, _ := dst.Dims()
	return parallel.For(ctx, r, g.Workers, func(_, i int) error {
		rs := rng.Stream(seed, i)
		row := dst.RawRowView(i)
		for j := range row {
			row[j] = g.mean[j] + math.Sqrt(g.variance[j])*rs.NormFloat64()
		}
		return nil
	})
}

// LogProb returns log N(x; μ, diag(v)). It panics if len(x) ≠ Dim().
func (g *DiagGaussian) LogProb(x []float64) float64 {
	if len(x) != len(g.mean) {
		panic(fmt.Sprintf("diffusion: DiagGaussian.LogProb: len(x) = %d, dimension %d", len(x), len(g.mean)))
	}
	s := 0.0
	for j, xv := range x {
		d := xv - g.mean[j]
		s += d*d/g.variance[j] + math.Log(2*math.Pi*g.variance[j])
	}
	return -0.5 * s
}
